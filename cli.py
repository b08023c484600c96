#!/usr/bin/env python3
"""Run xmlshred from a checkout: ``python cli.py migrate`` is the ``xmlshred`` command."""

from xmlshred.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
