"""``python -m runtime``: the ``lsq`` command line, for environments without the console script."""

from runtime.cli import main

raise SystemExit(main())
