"""Errors the domain raises and every HTTP adapter turns into RFC 9457 problem details."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    """A request field is missing or malformed; `field` is its JSON path (e.g. `location.community`)."""

    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
