"""Notes after a run's summary: say plainly when nothing was done, and why records were skipped."""

from __future__ import annotations

from xmlshred.reporting.summary import RunSummary


def closing_notes(summary: RunSummary, settings, spec, schema, run_id: str) -> list[str]:
    """WARNING lines for the end of a run: nothing processed, failed records left alone.

    Reads processing_log read-only; a failure to read it only drops the note.
    """
    notes = []
    processed = summary.records_ok + summary.records_failed
    skipped = summary.skipped
    if processed == 0 and summary.outcome == "finished":
        known_bad = summary.skipped_rejects
        if skipped and known_bad:
            notes.append(f"nothing to do: all {skipped:,} records were already done ({skipped - known_bad:,} in "
                         f"processing_log, {known_bad:,} known bad in xmlshred_rejects)")
        elif skipped:
            notes.append(f"nothing to do: all {skipped:,} records read were already done in processing_log")
        else:
            notes.append("nothing to do: the source held no records for this run")
    if skipped and not settings.run.retry_failed and not summary.dry_run:
        from xmlshred.db.errors import TargetError
        from xmlshred.reporting.target_log import failed_from_earlier_runs

        try:
            failed = failed_from_earlier_runs(spec, schema, run_id)
        except TargetError:  # a note must never change how a run ends
            failed = 0
        if failed:
            notes.append(f"{failed:,} records failed in earlier runs and were not retried "
                         "(processing_log says failed); rerun with --retry-failed to process them again")
    known_bad = summary.skipped_rejects
    if known_bad:
        notes.append(f"{known_bad:,} known-bad {'document' if known_bad == 1 else 'documents'} not read again: "
                     "failed in an earlier run before a key was known and unchanged since (same file, size "
                     "and mtime; xmlshred_rejects, see python cli.py report); rerun with --retry-failed to "
                     "process them again")
    rejects = summary.rejects
    if rejects:
        notes.append(f"{rejects:,} {'document' if rejects == 1 else 'documents'} failed before a key was known "
                     "(no processing_log row): recorded in xmlshred_rejects with the file path; "
                     "python cli.py report lists them")
    return notes
