"""Errors the user can fix: each message names the problem and what to do about it.

Entry points (``python -m ml.train``, ``ml.package``) log such an error on one line and exit
with status 2; anything else is a fault of the code or the host and keeps its traceback.
"""

from __future__ import annotations

USAGE_EXIT_STATUS = 2


class UserError(Exception):
    """A problem with the input, the settings or the environment, not with the code."""
