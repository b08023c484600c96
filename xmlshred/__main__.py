"""``python -m xmlshred`` is the ``xmlshred`` command."""

from xmlshred.cli import main

raise SystemExit(main())
