"""Flush logic for the InsertActor: buffering, bisection, retries. Plain code, no threads."""

from xmlshred.loading.buffer import FlushBuffer, PendingRecord
from xmlshred.loading.retry import RetriesExhausted, retry_transient
from xmlshred.loading.writer import FlushAborted, FlushOutcome, FlushWriter

__all__ = ["FlushBuffer", "PendingRecord", "FlushWriter", "FlushOutcome", "FlushAborted", "RetriesExhausted",
           "retry_transient"]
