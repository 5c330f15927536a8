"""A made-up reporter's data key is written in the report's own transaction (issue 12), on both SQL stores: a
pseudonym drawn twice writes no key row, which refuses that save with IntegrityError (never PostgreSQL's aborted
pipeline, an OperationalError that would answer 503), and the report is drawn again under a fresh one."""
import services.intake.application as application
from services.intake.application import IntakeApplication

REPORT = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": "晚上很黑", "category": "设施维护",
          "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "欧阳娜娜", "phone": "13912345678"}}


def test_a_pseudonym_drawn_twice_is_drawn_again_and_the_first_key_is_kept(settings, monkeypatch):
    app = IntakeApplication(settings)
    try:
        first, _ = app.report_issue(REPORT)
        for n in range(5):  # the pipeline's answer used to depend on timing: try it more than once
            drawn = iter([first.reporter_ref, f"rp-fresh-{n}"])
            monkeypatch.setattr(application, "new_reporter_ref", lambda: next(drawn))
            again, created = app.report_issue(REPORT | {"reporter": {"name": "李四", "phone": "13812345678"}})
            assert created and again.reporter_ref == f"rp-fresh-{n}"
            assert app.contact(again)["name"] == "李四"
        assert app.contact(first)["name"] == "欧阳娜娜"  # its key untouched
    finally:
        app.close()
