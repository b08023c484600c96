"""Log setup: loguru sinks, stdlib logging routed into loguru, thread dumps.

Only ``cli.py`` calls ``configure_logging``: libraries and actors log through
``loguru.logger`` (``logger.bind(actor=...)``) and never add sinks.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from loguru import logger

from xmlshred.vocab.errors import family_of

_HUMAN_TEMPLATE = (
    "<green>{{time:YYYY-MM-DD HH:mm:ss.SSS}}</green> | <level>{{level: <8}}</level> | "
    "<cyan>{where}</cyan> | <level>{{message}}</level>\n{{exception}}"
)


def _human_format(record: dict[str, Any]) -> str:
    # Actors say who they are with bind(actor=...); anything else (pykka,
    # libraries) is named by its module.
    where = "{extra[actor]}" if "actor" in record["extra"] else "{name}"
    return _HUMAN_TEMPLATE.format(where=where)


class _TerminalStderr:
    """stderr that first wipes the current terminal line.

    The progress bar redraws itself in place on stderr without a newline; a
    log line written after it would otherwise be glued to the bar. Looked up
    on every write so that a replaced ``sys.stderr`` (tests) is honoured.
    """

    def write(self, text: str) -> None:
        stream = sys.stderr
        if stream.isatty():
            text = "\r\x1b[K" + text
        stream.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


class InterceptHandler(logging.Handler):
    """A stdlib logging handler that passes every record on to loguru.

    pykka (and any library using ``logging``) then reaches the same sinks,
    with its own level, module name and exception.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        exc_info = record.exc_info
        if exc_info and family_of(exc_info[1]) is not None:
            # An error xmlshred raised on purpose (diagnosed, with its fix in the message): the
            # supervisor logs that message; pykka's "Unhandled exception" traceback of it is noise
            # that would read as a crash, so it goes to TRACE and the line to DEBUG.
            depth = _depth_outside_logging()
            logger.opt(depth=depth).debug("{} ({}: {})", record.getMessage(), type(exc_info[1]).__name__,
                                          exc_info[1])
            logger.opt(depth=depth, exception=exc_info).trace(record.getMessage())
            return
        logger.opt(depth=_depth_outside_logging(), exception=exc_info).log(
            level, record.getMessage()
        )


def _depth_outside_logging() -> int:
    # loguru names a record after the frame ``depth`` levels up; skip the
    # stdlib logging machinery so the record names the code that logged.
    frame = sys._getframe(1)
    depth = 0
    while frame is not None and frame.f_code.co_filename in (logging.__file__, __file__):
        frame = frame.f_back
        depth += 1
    return depth


def configure_logging(
    level: str = "INFO",
    file: str | Path | None = None,
    rotation: str | int | None = "50 MB",
    json: bool = False,
    colorize: bool | None = None,
) -> list[int]:
    """Replace every loguru sink with this run's sinks and route stdlib logging into them.

    - stderr: human-readable lines (colours when stderr is a terminal, unless
      ``colorize`` says otherwise);
    - ``file``: the same lines, rotated at ``rotation`` (parent directories
      are created);
    - ``json``: the log file's records as JSON objects (loguru's
      ``serialize``) instead of text; the console always stays human, so
      ``json`` without ``file`` only logs a warning saying it has no effect.

    Returns the loguru handler ids. Raises ``ValueError`` for an unknown level
    and ``OSError`` when the log file cannot be created.
    """
    level = level.upper()
    level_no = logger.level(level).no
    logger.remove()
    handler_ids = [
        logger.add(
            _TerminalStderr(),
            level=level,
            format=_human_format,
            colorize=colorize,
            backtrace=False,
            diagnose=False,  # variable values in tracebacks could be document data
        )
    ]
    if file is not None:
        path = Path(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handler_ids.append(
            logger.add(
                path,
                level=level,
                format=_human_format if not json else "{message}",
                serialize=json,
                rotation=rotation,
                encoding="utf-8",
                colorize=False,
                backtrace=False,
                diagnose=False,
            )
        )
    route_stdlib_logging(level_no)
    if json and file is None:
        logger.warning("[log] json = true has no effect without [log] file: JSON goes only to the log "
                       "file, the console stays human-readable; set [log] file to get JSON lines")
    return handler_ids


def route_stdlib_logging(level: int = logging.INFO) -> InterceptHandler:
    """Make the root stdlib logger hand everything at ``level`` and above to loguru.

    Replaces an earlier ``InterceptHandler`` (calling it twice does not log
    twice) and leaves other handlers alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, InterceptHandler):
            root.removeHandler(handler)
    handler = InterceptHandler()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def log_thread_stacks(*_signal_args: object) -> None:
    """Log the current stack of every thread in one WARNING record.

    Accepts (and ignores) a signal handler's arguments.
    """
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame))
        parts.append(f"--- thread {names.get(ident, '?')} (id {ident})\n{stack}")
    logger.bind(actor="debug").warning("thread dump ({} threads)\n{}", len(parts), "".join(parts))


def install_thread_dump_on_sigusr1() -> bool:
    """On SIGUSR1, log every thread's stack (``kill -USR1 <pid>`` when a run hangs).

    Returns False on platforms without SIGUSR1 (Windows). Raises
    ``RuntimeError`` when not called from the main thread (Python only lets
    the main thread install signal handlers). The dump only happens while the
    main thread can run Python code: it must not be blocked in an untimed wait.
    """
    if not hasattr(signal, "SIGUSR1"):
        return False
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("install_thread_dump_on_sigusr1() must be called from the main thread")
    signal.signal(signal.SIGUSR1, log_thread_stacks)
    return True

