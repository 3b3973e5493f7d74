"""Errors the user can fix: each message names the problem and what to do about it.

Entry points (``python -m ml.train``, ``ml.package``) log such an error on one line and exit
with status 2; anything else is a fault of the code or the host and keeps its traceback.
"""

from __future__ import annotations

USAGE_EXIT_STATUS = 2


class UserError(Exception):
    """A problem with the input, the settings or the environment, not with the code."""


class InputError(UserError):
    """A request the endpoint refuses: the HTTP status it answers with and a message that
    names the problem (and, where there is one, what to send instead)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message
