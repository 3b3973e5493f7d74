"""The answers other than success: each carries its HTTP status and a stable code."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable code and a message for the caller,
    and a detail for the function's log only (AWS's own messages name accounts and ARNs)."""

    def __init__(self, status: int, code: str, message: str, detail: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def too_large(message: str) -> ApiError:
    return ApiError(413, "payload_too_large", message)
