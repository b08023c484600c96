"""``xmlshred verify``: prove the target still says what the source and the contract say.

Reads the chosen records from the source, maps them with the current
contract, and compares the result cell by cell (CONTRACT.md's canonical
forms) with the rows the target holds for the same keys. Read-only: it opens
the target read-only and takes no lease. See ``verify.command.run_verify``.
"""

from xmlshred.verify.command import VerifyError, VerifyRequest, VerifyResult, print_report, run_verify

__all__ = ["VerifyRequest", "VerifyResult", "VerifyError", "run_verify", "print_report"]
