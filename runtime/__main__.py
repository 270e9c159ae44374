"""``python -m runtime``: the ``lsq`` command line, for environments without the console script."""

from .cli import main

raise SystemExit(main())
