"""``python -m local_stack.demo``: the whole pipeline on one machine (``make demo``)."""

import sys

from local_stack.demo.pipeline import main

sys.exit(main())
