"""``python -m local_stack.parity build [NAME ...]``: build the parity environments
(``make parity-envs``)."""

import sys

from local_stack.parity.runtimes import main

sys.exit(main())
