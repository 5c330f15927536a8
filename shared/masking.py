"""Masking of personal data: one rule for anything that leaves a service (events) and, stricter, for
anything the public reads (the board, the demand list, Open311, issue lists, the results release).

What is recognised, and its limit: phone numbers however spaced; exact addresses (门牌号); the names a
caller knows (intake knows its reporter's); and a Chinese personal name where the text addresses or
describes a person — after 告知/联系/通知/转告/回访… or 居民/业主/反映人…, or before an honorific
(先生/女士/阿姨/大爷…): 完成后告知欧阳娜娜 → 完成后告知欧***. A bare name with no such cue (“王建国家漏水”)
is not recognised unless the caller names it: downstream services know only a `reporter_ref`.
"""
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_SEP = r"[\s.\-]?"
# optional +86, then 1xx xxxx xxxx with any of space, dot or dash between the groups
_MOBILE = re.compile(rf"(?<!\d)((?:\+?86{_SEP})?1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)(0\d{{2,3}}{_SEP})(\d{{3,4}}){_SEP}(\d{{4}})(?!\d)")

# --- names where the text addresses a person ------------------------------------------------------
# compound surnames first; single ones are the common family names, less a few that are everyday words
# in a plan (方案, 全体, 高层, 时限…), which would garble staff's text far more often than hide a name
_COMPOUND = "欧阳 司马 上官 诸葛 东方 慕容 令狐 皇甫 尉迟 公孙 长孙 夏侯 轩辕 端木 司徒 西门 南宫 独孤 宇文 呼延".split()
_SINGLE = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
           "任沈姚卢姜崔钟谭陆汪范廖石贾韦夏付邹熊孟秦邱侯江尹薛闫段雷龙黎史陶贺顾毛郝龚邵万钱严覃武戴"
           "莫孔汤向常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符"
           "舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时"
           "穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和"
           "仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_SINGLE = "".join(c for c in dict.fromkeys(_SINGLE) if c not in "方全高时常文明和安单成商路连向华应解景")
_HONORIFIC = "先生|女士|小姐|阿姨|大爷|大妈|大娘|大姐|大哥|奶奶|爷爷|姥姥|师傅|老师|同志|老人|夫妇"
# characters that end a name: function words and the verbs that follow a name in a plan or summary
_STOP = "并和及与后前的了已等在再来去说将把被对向给或是到会时中上下家人们均都也即就请可以处办理核确签反尽于为从自"
_GIVEN = rf"(?:(?!{_HONORIFIC})(?![{_STOP}])[\u4e00-\u9fff])"
_NAME = rf"(?:{'|'.join(_COMPOUND)}|[{_SINGLE}]){_GIVEN}{_GIVEN}?"
_CUE = ("告知|告诉|通知|联系|转告|转达|回复|答复|回访|致电|电告|反馈给|转交|交给|约见|询问|提醒|感谢|"
        "居民|住户|业主|租户|反映人|来电人|诉求人|老人|独居老人")
_ADDRESSED = re.compile(rf"((?:{_CUE})[::,, ]?)({_NAME})")
_TITLED = re.compile(rf"({_NAME})(?=(?:{_HONORIFIC}))")


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: the family name stays, the rest is hidden."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def _titled(name: str) -> str:
    # 感谢陈师傅: "谢陈" before 师傅 is a word's end and a family name, not a name: a family name with its
    # title (陈师傅, 王先生) is how a person is named in public
    return name if len(name) == 2 and name[1] in _SINGLE else mask_name(name)


def _mask_addressed_names(text: str) -> str:
    text = _TITLED.sub(lambda m: _titled(m[1]), text)
    return _ADDRESSED.sub(lambda m: m[1] + mask_name(m[2]), text)


def mask_text(text: str, names: Iterable[str] = (), private: Iterable[str] = ()) -> str:
    """Personal data typed into free text, as it may leave a service in an event: phone numbers however
    spaced, names where the text addresses a person, and `names` (the reporter's own, say) wherever they were
    typed; `private` strings (an exact room number) are hidden entirely."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits are digits too
    for name in names:
        if name and len(name.strip()) >= 2:
            text = text.replace(name.strip(), mask_name(name))
    for secret in private:
        if secret and len(secret.strip()) >= 2:
            text = text.replace(secret.strip(), "***")
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[3]}", text)
    text = _LANDLINE.sub(lambda m: f"{m[1]}****{m[3]}", text)
    return _mask_addressed_names(text)


# --- exact addresses (门牌号) -----------------------------------------------------------------------
# "2单元502室", "3-2-502", "502室", "1201房" are hidden; "3号楼" stays, since the building is what
# neighbours need to know.
_UNIT_ROOM = re.compile(r"(\d+)\s*(单元|门)\s*(\d{2,5})\s*(室|号|房|户)?")
_DASHED = re.compile(r"(?<![\d.:])\d{1,3}\s*-\s*\d{1,3}\s*-\s*\d{2,5}(?![\d.:])|(?<![\d.:-])\d{1,3}-\d{3,5}(?![\d.:-])")
_ROOM = re.compile(r"(?<!\d)\d{3,5}\s*(室|号房|房间|房|户)")
_UNIT = re.compile(r"(?<!\d)\d{1,2}\s*单元")


def mask_address(text: str) -> str:
    text = _UNIT_ROOM.sub(lambda m: "*" + m[2] + "***" + (m[4] or ""), text)
    text = _DASHED.sub("*-***", text)
    text = _ROOM.sub(lambda m: "***" + m[1], text)
    return _UNIT.sub("*单元", text)


def public_text(text: str | None, names: Iterable[str] = (), private: Iterable[str] = ()) -> str:
    """The one rule for text the public reads: `mask_text`, and exact addresses hidden too."""
    return mask_address(mask_text(text or "", names, private))


# free-text fields of the system's payloads, wherever they are nested
FREE_TEXT = frozenset({"title", "description", "reason", "summary", "background", "draft_plan", "text", "plan",
                       "note", "owner", "disagreements", "triage_reason", "place", "comment", "point", "positions"})


POINT_DECIMALS = 3  # a map point in public: 0.001° is about 100 m, a building and its yard, never a unit or a window


def public_point(location: dict[str, Any]) -> dict[str, Any]:
    """A location with its point (lat/lon) rounded to POINT_DECIMALS: no finer than the building."""
    return {k: round(v, POINT_DECIMALS) if k in ("lat", "lon") and isinstance(v, (int, float)) else v
            for k, v in location.items()}


def public_data(value: Any, key: str = "") -> Any:
    """A payload as it may leave for the public or a city system: free text by `public_text` (ids, codes and
    times are left alone), the unit number (单元) dropped and the point rounded: the building is as exact as it gets."""
    if isinstance(value, dict):
        if key == "location":
            value = public_point(value)
        return {k: (None if k == "unit" and key == "location" else public_data(v, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [public_data(v, key) for v in value]
    if isinstance(value, str) and key in FREE_TEXT:
        return public_text(value)
    return value
