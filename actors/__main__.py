"""``python -m actors``: the ``actors`` command."""

import sys

from .cli import main

sys.exit(main())
