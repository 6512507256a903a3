"""``python -m odoosim --catalog FILE``: the simulator alone."""

import sys

from odoosim import main

sys.exit(main())
