"""Request models: each command's body as a pydantic model holding its fields, limits and their names in
Chinese; `parse` turns the first thing wrong into `InvalidInput` naming the field (RFC 9457 at the edge), in
zh-CN and English. The same model is the operation's request schema in the OpenAPI documents.

    class Plan(Body):
        plan: Text[2000, "方案"]
        due: Due["完成时限"] | None = None
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from shared.deadlines import end_of_day
from shared.errors import InvalidInput


class Body(BaseModel):
    """A request body: unknown fields refused by name, no type coercion ("1" is not 1, "true" not true)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    example: ClassVar[dict[str, Any] | None] = None  # the OpenAPI example, in Chinese
    required: ClassVar[bool] = True  # False: an empty body is the same as {}

    @classmethod
    def parse(cls, payload: Any, prefix: str = ""):
        return parse(cls, payload, prefix)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """Its JSON Schema (2020-12, as OpenAPI 3.1 takes it), with the example."""
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        if cls.example is not None:
            schema["examples"] = [cls.example]
        return schema


def _label(model: type[BaseModel], loc: tuple) -> str:
    """The Chinese name of the field at `loc` (its title), else its path."""
    current: Any = model
    label = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            label = None
            continue
        info = fields[part]
        label = info.title or _title(info.annotation)
        current = _inner(info.annotation)
    return label or _path(loc)


def _title(annotation: Any) -> str | None:
    """The title of an `Annotated[..., Field(title=...)]` inside `X | None` (pydantic keeps only the outer one)."""
    for meta in getattr(annotation, "__metadata__", ()):
        if getattr(meta, "title", None):
            return meta.title
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _title(arg)
        if found:
            return found
    return None


def _inner(annotation: Any) -> Any:
    """The model inside `list[Model]`, `Model | None`."""
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _path(loc: tuple, prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not isinstance(part, str) or part.startswith("function-") or part in ("list", "str", "int", "bool"):
            continue  # pydantic's own steps (a union's member, a validator), not a JSON path
        else:
            out += f".{part}" if out else part
    return out


def _one_of(ctx: dict[str, Any]) -> tuple[str, str]:
    expected = str(ctx.get("expected", ""))
    names = [p.strip().strip("'") for p in expected.replace(" or ", ",").split(",") if p.strip()]
    return ", ".join(names), "、".join(names)


# English and Chinese per pydantic error type; {field} is the JSON path, {label} its Chinese name
MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("{field} is required", "{label}不能为空"),
    "string_too_short": ("{field} is required", "{label}不能为空"),
    "string_too_long": ("{field} must be at most {max_length} characters", "{label}不能超过 {max_length} 个字符"),
    "string_pattern_mismatch": ("{field} is not in the expected format", "{label}格式不正确"),
    "float_type": ("{field} must be a number", "{label}须为数字"),
    "string_type": ("{field} must be a string", "{label}须为文本"),
    "bool_type": ("{field} must be true or false", "{label}须为 true 或 false"),
    "int_type": ("{field} must be an integer", "{label}须为整数"),
    "greater_than_equal": ("{field} must be at least {ge}", "{label}不能小于 {ge}"),
    "less_than_equal": ("{field} must be at most {le}", "{label}不能大于 {le}"),
    "list_type": ("{field} must be a list", "{label}须为列表"),
    "too_short": ("{field} must have at least {min_length} entries", "{label}至少须有 {min_length} 项"),
    "too_long": ("{field} must have at most {max_length} entries", "{label}至多 {max_length} 项"),
    "model_type": ("{field} must be an object", "{label}必须是对象"),
    "model_attributes_type": ("{field} must be an object", "{label}必须是对象"),
    "dict_type": ("{field} must be an object", "{label}必须是对象"),
}


def _invalid(model: type[BaseModel], error: dict[str, Any], prefix: str) -> InvalidInput:
    loc = tuple(error["loc"])
    field = _path(loc, prefix) or "body"
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return InvalidInput(f"unknown field {field}", field, f"不支持的字段 {field}")
    if field == "body" and kind in ("model_type", "model_attributes_type", "dict_type"):
        return InvalidInput("body must be a JSON object", "body", "请求内容必须是 JSON 对象")
    label = _label(model, loc)
    if kind == "literal_error":
        en, zh = _one_of(ctx)
        return InvalidInput(f"{field} must be one of {en}", field, f"{label}必须是 {zh} 之一")
    if kind == "field_rule":  # a model's own rule on one of its fields, or on itself (ctx: which, what is wrong)
        at = (*loc, ctx["field"]) if ctx["field"] else loc
        field = _path(at, prefix) or "body"
        label = _label(model, at)
        return InvalidInput(f"{field} {ctx['en']}", field, f"{label}{ctx['zh']}")
    if kind == "invalid_value":  # ours (`invalid`): ctx has both languages
        return InvalidInput(f"{field} {ctx['en']}", field, f"{label}{ctx['zh']}")
    if kind in MESSAGES:
        en, zh = MESSAGES[kind]
        return InvalidInput(en.format(field=field, **ctx), field, zh.format(label=label, **ctx))
    return InvalidInput(f"{field}: {error['msg']}", field, f"{label}有误")


def parse(model: type[BaseModel], payload: Any, prefix: str = "") -> Any:
    """`payload` as `model`, or InvalidInput naming the first field wrong (`prefix`: where the body sits)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)  # an unknown field first: a typo explains what follows
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise _invalid(model, first, prefix) from None


# field types --------------------------------------------------------------------------------------

def invalid(en: str, zh: str) -> PydanticCustomError:
    """Raise from a field's validator: what is wrong with the value, in English and Chinese (after its name)."""
    return PydanticCustomError("invalid_value", en, {"en": en, "zh": zh})


class _Text:
    """Text[max, "名称"]: required, stripped, 1..max characters (`| None = None` when optional)."""

    def __class_getitem__(cls, params: tuple[int, str]) -> Any:
        most, label = params
        return Annotated[str, Field(min_length=1, max_length=most, title=label, json_schema_extra={"pattern": r"\S"}),
                         BeforeValidator(_strip)]


def _strip(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):  # a NUL, a lone surrogate
        raise invalid("contains an invalid character", "含有无效字符")
    return value.strip()


def _blank(value: Any) -> Any:
    """An optional text left blank (a form's empty box) is absent."""
    value = _strip(value)
    return None if value == "" else value


class _OptionalText:
    """OptionalText[max, "名称"]: text, stripped, at most max characters; absent, null or blank is None."""

    def __class_getitem__(cls, params: tuple[int, str]) -> Any:
        most, label = params
        return Annotated[Annotated[str, Field(max_length=most)] | None, Field(title=label), BeforeValidator(_blank)]


Text = _Text
OptionalText = _OptionalText


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid("must be an RFC 3339 time", "须为 RFC 3339 时间") from None
    if parsed.tzinfo is None:
        raise invalid("needs a time zone offset", "需带时区(如 +08:00)")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise invalid("is out of range", "超出范围") from None


def _due(value: Any) -> Any:
    """A deadline: a date (the end of that day in Asia/Shanghai) or an RFC 3339 time."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        day_end = end_of_day(value)
    except ValueError:
        raise invalid("is not a date", "不是有效日期") from None
    return day_end or _time(value)


class _Moment:
    """Moment["名称"]: an RFC 3339 time with an offset, kept in UTC."""

    def __class_getitem__(cls, label: str) -> Any:
        return Annotated[datetime, Field(title=label, json_schema_extra={"type": "string", "format": "date-time"}),
                         BeforeValidator(_time)]


class _Due:
    """Due["名称"]: a date YYYY-MM-DD (the end of that day, Asia/Shanghai) or an RFC 3339 time, kept in UTC."""

    def __class_getitem__(cls, label: str) -> Any:
        return Annotated[datetime, Field(title=label, json_schema_extra={
            "type": "string", "description": "YYYY-MM-DD (the end of that day, Asia/Shanghai) or an RFC 3339 time"}),
            BeforeValidator(_due)]


Moment = _Moment
Due = _Due


def _uuid(value: Any) -> Any:
    try:
        return str(UUID(value)) if isinstance(value, str) else value
    except ValueError:
        raise invalid("must be an id (UUID)", "格式不正确") from None


Uuid = Annotated[str, BeforeValidator(_uuid), Field(json_schema_extra={"format": "uuid"})]  # an aggregate's id


def broken(name: str, en: str, zh: str) -> PydanticCustomError:
    """Raise from a model validator when its rule on field `name` is broken (`en`/`zh` say how)."""
    return PydanticCustomError("field_rule", "{field} {en}", {"field": name, "en": en, "zh": zh})


def required(name: str) -> PydanticCustomError:
    """Raise from a model validator when `name` is needed (the one-of-two rules)."""
    return broken(name, "is required", "不能为空")
