"""Errors the domain raises and every HTTP adapter turns into RFC 9457 problem details.

Each carries its explanation in English (`detail`, for logs and English clients) and Chinese
(`detail_zh`, shown first to residents and staff).
"""


class DomainError(Exception):
    status = 400
    title = "Bad request"
    title_zh = "请求有误"

    def __init__(self, detail: str, field: str | None = None, zh: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.detail_zh = zh or detail


class InvalidInput(DomainError):
    """A request field is missing or malformed; `field` is its JSON path (e.g. `location.community`)."""

    status = 422
    title = "Invalid input"
    title_zh = "输入有误"


def refuse_unknown(payload: dict, allowed: tuple[str, ...], prefix: str = "") -> None:
    """A field the input does not define is refused by its JSON path, not ignored (a typo loses data silently)."""
    unknown = sorted(str(k) for k in payload if k not in allowed)
    if unknown:
        name = prefix + unknown[0]
        raise InvalidInput(f"unknown field {name}; known: {', '.join(prefix + a for a in allowed)}", name,
                           f"不支持的字段 {name}")


class NotFound(DomainError):
    status = 404
    title = "Not found"
    title_zh = "未找到"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    title_zh = "冲突"
