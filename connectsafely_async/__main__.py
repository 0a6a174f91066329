"""``python -m connectsafely_async``: the same command line as the ``connectsafely`` script."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
