"""``python -m actors.cli``: the ``actors`` command."""

import sys

from . import main

sys.exit(main())
