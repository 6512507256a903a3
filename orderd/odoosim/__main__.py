"""``python -m orderd.odoosim --catalog FILE``: the simulator alone."""

import sys

from orderd.odoosim import main

sys.exit(main())
