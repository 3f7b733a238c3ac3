"""Errors the domain and services raise; adapters turn them into HTTP answers or CLI messages."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every refusal that is the caller's to fix, not a bug."""

    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    """The request is well-formed but the current state does not allow it (HTTP 409)."""

    title = "Conflict with the current state"


class Forbidden(DomainError):
    title = "Forbidden"


class Unauthenticated(DomainError):
    """The credentials are unknown or revoked (HTTP 401)."""

    title = "Not signed in"


class PreconditionFailed(DomainError):
    """`If-Match` names a version that is no longer the current one: someone else saved a
    change first (HTTP 412). Nothing was written."""

    title = "Precondition failed"


class Busy(DomainError):
    """Concurrent writers kept colliding; nothing was written and a retry will do (HTTP 503)."""

    title = "Busy, try again"
    retry_after_s = 1


@dataclass(frozen=True)
class FieldError:
    """One bad field: `path` locates it in the request body (e.g. ``items.2.quantity``)."""

    path: str
    message: str


class Invalid(DomainError):
    """Input that cannot be accepted as given (HTTP 422), with the path of each bad field."""

    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors: list[FieldError] = errors or []


@dataclass
class ErrorCollector:
    """Gathers every field error before refusing, so the caller can fix them all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def raise_if_any(self, detail: str) -> None:
        if self.errors:
            raise Invalid(detail, list(self.errors))
