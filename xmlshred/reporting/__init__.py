"""Reporting: run figures, progress lines and bar, metrics.jsonl, ``report``, log setup.

Public names are listed in ``__all__``; the chart needs the optional
``plot`` extra (matplotlib), imported only when a chart is drawn.
"""

from xmlshred.reporting.errors import ReportError
from xmlshred.reporting.logs import configure_logging, install_thread_dump_on_sigusr1, log_thread_stacks
from xmlshred.reporting.metrics import MetricsWriter, read_metrics
from xmlshred.reporting.progress import ProgressBar, render_progress
from xmlshred.reporting.report import build_report, failures_from_rows, plot_rate, select_run
from xmlshred.reporting.stats import RunStats
from xmlshred.reporting.summary import RunSummary

__all__ = [
    "ReportError", "configure_logging", "install_thread_dump_on_sigusr1", "log_thread_stacks",
    "MetricsWriter", "read_metrics", "ProgressBar", "render_progress",
    "build_report", "failures_from_rows", "plot_rate", "select_run", "RunStats",
    "RunSummary",
]
