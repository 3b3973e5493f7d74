"""The monitor ships in the Lambda's zip: its folder is the import root, as there."""

from __future__ import annotations

import sys

from local_stack.serving.lambda_runtime import LAMBDA_DIR

if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))
