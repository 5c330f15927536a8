"""Masking of personal data for anything that leaves a service (events, public notices)."""
import re
import unicodedata
from collections.abc import Iterable

_SEP = r"[\s.\-]?"
# optional +86, then 1xx xxxx xxxx with any of space, dot or dash between the groups
_MOBILE = re.compile(rf"(?<!\d)((?:\+?86{_SEP})?1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)(0\d{{2,3}}{_SEP})(\d{{3,4}}){_SEP}(\d{{4}})(?!\d)")


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays, the rest is hidden."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_text(text: str, names: Iterable[str] = (), private: Iterable[str] = ()) -> str:
    """Hide phone numbers a resident typed into free text (描述里的电话号码), however they were spaced.

    `names` (the reporter's own, say) are masked wherever they were typed; `private` strings (an exact
    room number) are hidden entirely.
    """
    text = unicodedata.normalize("NFKC", text)  # full-width digits are digits too
    for name in names:
        if name and len(name.strip()) >= 2:
            text = text.replace(name.strip(), mask_name(name))
    for secret in private:
        if secret and len(secret.strip()) >= 2:
            text = text.replace(secret.strip(), "***")
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[3]}", text)
    return _LANDLINE.sub(lambda m: f"{m[1]}****{m[3]}", text)
