"""``python -m hero_async.cli``: the same as the ``hero-async`` command."""

import sys

from hero_async.cli._main import main

sys.exit(main())
