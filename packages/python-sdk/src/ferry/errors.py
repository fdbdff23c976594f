"""Errors the SDK raises: the API's error, with its stable `code`, message and details.

`str(error)` reads like the CLI's output (`Error: …` then `Hint: …`), without the `Error:` label:
the message says what to fix, and the hint says what the server cannot know (where this process got
the URL or key it used).
"""

from __future__ import annotations

from typing import Any, Optional

# The same table as @ferry/core's ERROR_CODES: which codes are worth retrying.
RETRYABLE = {"request_timeout", "provider_error", "provider_throttled", "unavailable", "network"}
# For an answer without Ferry's error shape (a proxy's page): the code its status stands for.
STATUS_CODES = {
    400: "validation_failed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    431: "headers_too_large",
}


class FerryError(Exception):
    """A failure Ferry reports: `code` (e.g. ``not_found``), `message`, `details`, `hint`."""

    def __init__(self, code: str, message: str, details: Any = None, hint: Optional[str] = None, status: Optional[int] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class ValidationError(FerryError):
    """``validation_failed``: the request is wrong; the message says how."""


class AuthenticationError(FerryError):
    """``unauthenticated`` or ``forbidden``."""


class NotFoundError(FerryError):
    """``not_found``."""


class ConflictError(FerryError):
    """``conflict`` (e.g. an idempotency key reused with other parameters) or ``invalid_transition``."""


class ServerUnavailableError(FerryError):
    """``network`` or ``unavailable``: the server could not be reached or answered 5xx."""


class FlowRunTimeout(FerryError):
    """`run_deployment(wait=True, timeout=…)` ran out of time; `run` is the run as last read (still going)."""

    def __init__(self, message: str, run: Any):
        # request_timeout, as the Node client's FlowRunTimeoutError: waiting longer may still see it end.
        super().__init__("request_timeout", message, details={"flow_run_id": run["id"]})
        self.run = run


_CLASSES = {
    "validation_failed": ValidationError,
    "unauthenticated": AuthenticationError,
    "forbidden": AuthenticationError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "invalid_transition": ConflictError,
    "network": ServerUnavailableError,
    "unavailable": ServerUnavailableError,
}


def error_for(code: str, message: str, details: Any = None, hint: Optional[str] = None, status: Optional[int] = None) -> FerryError:
    """The FerryError subclass for `code`."""
    return _CLASSES.get(code, FerryError)(code, message, details=details, hint=hint, status=status)
