"""README.md and docs/ say what the code does: every setting it reads, the broker's delivery limit, and what a
new machine needs before `make test`."""
import re
from pathlib import Path

from shared.messaging.topology import BROKER_DELIVERY_LIMIT

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md")))
SETTING = re.compile(r"YISHI_[A-Z0-9_]*[A-Z0-9]")
PER_SERVICE = re.compile(r"YISHI_\{[^}]*\}_([A-Z0-9_]*[A-Z0-9])")  # f"YISHI_{service.upper()}_PORT"


def settings_read() -> set[str]:
    found = set()
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= set(SETTING.findall(text)) | {f"YISHI_<SERVICE>_{m}" for m in PER_SERVICE.findall(text)}
    return found


def test_every_setting_the_services_read_is_documented():
    assert "YISHI_<SERVICE>_PORT" in settings_read()
    assert sorted(s for s in settings_read() if s not in DOCS) == []


def test_the_readme_gives_the_delivery_limit_the_queues_have():
    assert re.findall(r"`x-delivery-limit` \((\d+)\)", README) == [str(BROKER_DELIVERY_LIMIT)]


def test_the_readme_names_every_prerequisite_and_that_make_test_may_install_system_packages():
    [prerequisites] = re.findall(r"Prerequisites:.*?(?:\n\n|$)", README, re.S)
    assert all(word in prerequisites for word in ("Python 3.11", "`make`", "`git`", "`curl`", "root or sudo"))
    assert "may install system packages" in README.replace("**", "").replace("\n", " ")
