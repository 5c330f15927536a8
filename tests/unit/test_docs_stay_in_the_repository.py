"""The documents a reader gets with the repository are complete: none sends them to a file outside it.

The council's own documents are cited by their titles, and the rules taken from them are written out in docs/.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "bench" / "README.md", ROOT / "docker-compose.yml",
             *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.yaml")),
             *sorted((ROOT / "deploy").rglob("*.yml"))]
OUTSIDE = re.compile(r"DESIGN(\.md)?\b|shared/reference/|design card")
RELATIVE = re.compile(r"(?:\.\./)+[\w./-]+")


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.exists()], ids=lambda d: str(d.relative_to(ROOT)))
def test_a_document_points_at_nothing_outside_the_repository(document):
    text = document.read_text(encoding="utf-8")
    assert not OUTSIDE.findall(text)
    for path in RELATIVE.findall(text):
        assert (document.parent / path).resolve().is_relative_to(ROOT), path


def test_the_rules_cite_the_council_documents_by_title():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for title in ("2026年社区居民议事会工作计划", "社区议事协商工作总结", "代表进社区工作方案", "社区共建共治工作总结"):
        assert f"《{title}》" in readme
