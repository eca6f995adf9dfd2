"""``python -m drfulfillment.cli``."""

import sys

from drfulfillment.cli.main import main

sys.exit(main())
