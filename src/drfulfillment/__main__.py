"""``python -m drfulfillment``."""

import sys

from drfulfillment.cli.main import main

sys.exit(main())
