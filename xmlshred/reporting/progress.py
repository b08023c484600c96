"""A single-line progress bar redrawn in place on a terminal.

Counts and rates only, never record content. The console log sink wipes the
line before writing a log record (see ``reporting.logs``), and the next
update draws the bar again below it.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from xmlshred.reporting.stats import format_duration

BAR_WIDTH = 20


def render_progress(
    *,
    done: int,
    ok: int,
    failed: int,
    total: int | None,
    records_per_minute: float,
    in_flight: int,
    seconds: float,
) -> str:
    """The bar's text (no carriage return, no newline).

    ``done`` counts every settled record (ok, failed and skipped), the way
    ``total`` counts the source.
    """
    # Most important first: a narrow terminal cuts the line from the right.
    rate = f"{records_per_minute:,.0f}/min"
    counts = f"ok {ok:,} failed {failed:,} | in flight {in_flight:,}"
    if not total:
        return f"{done:,} done | {rate} | {format_duration(seconds)} | {counts}"
    fraction = min(1.0, done / total)
    filled = int(fraction * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    processed = ok + failed
    remaining = max(0, total - done)
    if remaining == 0:
        eta = f"done in {format_duration(seconds)}"
    elif processed and seconds > 0:
        eta = f"ETA {format_duration(remaining * seconds / processed)}"
    else:
        eta = "ETA -"
    return f"[{bar}] {fraction:6.1%} {done:,}/{total:,} | {eta} | {rate} | {counts}"


class ProgressBar:
    """Draws ``render_progress`` text over itself, at most every ``min_interval_s``.

    ``stream`` defaults to the ``sys.stderr`` of the moment of each write.
    Write errors (a closed terminal) are not raised: a progress bar must
    never stop a run; the bar just stops drawing.
    """

    def __init__(self, total: int | None, stream: TextIO | None = None, min_interval_s: float = 0.2) -> None:
        self.total = total
        self._stream = stream
        self.min_interval_s = min_interval_s
        self._last_draw: float | None = None
        self._drawn = False
        self._broken = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def update(self, now: float, *, force: bool = False, **figures: float) -> bool:
        """Redraw with ``figures`` (the keywords of ``render_progress`` but total); True if drawn."""
        if self._broken:
            return False
        if not force and self._last_draw is not None and now - self._last_draw < self.min_interval_s:
            return False
        text = render_progress(total=self.total, **figures)
        # A line longer than the terminal wraps, and "\r" then only returns to
        # the start of the last row: the bar would scroll instead of redrawing.
        columns = shutil.get_terminal_size((100, 24)).columns
        text = text[: max(10, columns - 1)]
        self._write("\r\x1b[K" + text)
        self._last_draw = now
        self._drawn = True
        return True

    def finish(self) -> None:
        """End the bar's line so that what follows starts on a fresh one."""
        if self._drawn:
            self._write("\n")
            self._drawn = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._broken = True
