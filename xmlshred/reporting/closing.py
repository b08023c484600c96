"""Notes after a run's summary: say plainly when nothing was done, and why records were skipped."""

from __future__ import annotations

from typing import Any


def closing_notes(summary: dict[str, Any], settings, spec, schema, run_id: str) -> list[str]:
    """WARNING lines for the end of a run: nothing processed, failed records left alone.

    Reads processing_log read-only; a failure to read it only drops the note.
    """
    notes = []
    processed = summary.get("records_ok", 0) + summary.get("records_failed", 0)
    skipped = summary.get("skipped", 0)
    if processed == 0 and summary.get("outcome") == "finished":
        if skipped:
            notes.append(f"nothing to do: all {skipped:,} records read were already done in processing_log")
        else:
            notes.append("nothing to do: the source held no records for this run")
    if skipped and not settings.run.retry_failed and not summary.get("dry_run"):
        from xmlshred.db.errors import TargetError
        from xmlshred.reporting.target_log import failed_from_earlier_runs

        try:
            failed = failed_from_earlier_runs(spec, schema, run_id)
        except TargetError:  # a note must never change how a run ends
            failed = 0
        if failed:
            notes.append(f"{failed:,} records failed in earlier runs and were not retried "
                         "(processing_log says failed); rerun with --retry-failed to process them again")
    return notes
