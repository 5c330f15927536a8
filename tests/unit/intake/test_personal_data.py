"""Residents' personal data (PIPL): sealed per resident, read only with a logged reason, erased for good."""
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from services.intake import contacts, erasure
from services.intake.application import IntakeApplication
from services.intake.contacts import ReporterIndex
from services.intake.personal import PersonalData, Shredded, configured_kek
from services.intake.projections import IssueIndex
from services.intake.published import publish
from shared.audit import verify_all
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import Conflict
from shared.store.persistence import Database
from shared.store.projection import ensure_tables

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
REPORT = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": "晚上很黑,有事打 13912345678",
          "location": {"community": "幸福里", "building": "3", "room": "502"},
          "reporter": {"name": "欧阳娜娜", "phone": "13912345678", "email": "nana@example.cn"}}
CLEAR = ("欧阳娜娜", "13912345678", "nana@example.cn")
SECRETARY = {"role": "secretary", "name": "王书记", "subject": "u-wang"}


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(tmp_path, clock):
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), clock=clock)
    yield app
    app.close()


@pytest.fixture
def db(app):
    db = Database("intake", app.settings)
    ensure_tables(db, [IssueIndex(), ReporterIndex()])
    yield db
    db.close()


def project(app, db):
    for n in app.notifications_after(0):
        event = app.domain_event(n)
        with db.transaction() as tx:
            for model in (IssueIndex(), ReporterIndex()):
                model.apply(tx, event)


def store_bytes(app) -> bytes:
    """Everything intake keeps on disk: its SQLite file and write-ahead log."""
    return b"".join(p.read_bytes() for p in app.settings.var_dir.glob("intake.sqlite3*"))


def test_a_report_keeps_the_reporters_name_phone_email_and_room_only_sealed(app):
    issue, _ = app.report_issue(REPORT)
    on_disk = store_bytes(app)
    for clear in CLEAR:
        assert clear.encode() not in on_disk
    assert issue.report["description"] == "晚上很黑,有事打 139****5678"  # the clear text keeps the masked words
    assert "reporter" not in issue.report and "room" not in issue.report
    assert app.contact(app.get_issue(str(issue.id))) == {
        "name": "欧阳娜娜", "phone": "13912345678", "email": "nana@example.cn", "room": "502",
        "title": "3号楼楼道灯坏了", "description": "晚上很黑,有事打 13912345678"}


def test_each_resident_has_a_data_key_of_their_own(app):
    first, _ = app.report_issue(REPORT)
    second, _ = app.report_issue(REPORT | {"reporter": {"name": "李四"}})
    assert first.reporter_ref != second.reporter_ref
    forged = dict(first.personal, subject=second.reporter_ref)  # one resident's envelope under another's key
    with pytest.raises(Exception):
        app.personal.open(forged)


def test_a_report_and_its_reporters_new_key_are_written_in_one_transaction(app, monkeypatch):
    """The key row rides on the report's save (one round trip less per report), and a pseudonym drawn twice
    is drawn again: the report is recorded under a fresh one, the first subject's key untouched."""
    import services.intake.application as application

    app.personal.ensure()  # the key table, once per process
    transactions = []
    real = app.personal.db.transaction
    monkeypatch.setattr(app.personal.db, "transaction", lambda *a, **k: transactions.append(1) or real(*a, **k))
    first, _ = app.report_issue(REPORT)
    assert transactions == [] and app.personal.known(first.reporter_ref)
    drawn = iter([first.reporter_ref, "rp-second"])
    monkeypatch.setattr(application, "new_reporter_ref", lambda: next(drawn))
    second, created = app.report_issue(REPORT | {"reporter": {"name": "李四"}})
    assert created and second.reporter_ref == "rp-second"
    assert app.contact(first)["name"] == "欧阳娜娜" and app.contact(second)["name"] == "李四"


def test_a_retry_with_the_same_key_is_the_same_report_and_another_phone_is_a_different_one(app):
    issue, created = app.report_issue(REPORT, "key-1")
    again, created_again = app.report_issue(REPORT, "key-1")
    assert created and not created_again and again.id == issue.id
    with pytest.raises(Conflict):
        app.report_issue(REPORT | {"reporter": {"name": "欧阳娜娜", "phone": "13900000000"}}, "key-1")


def test_every_read_of_a_contact_is_logged_with_who_and_why(app, db):
    issue, _ = app.report_issue(REPORT)
    project(app, db)
    contact = contacts.contact_of(app, db, issue.reporter_ref, "李娜 (u-li)", "community_worker", "回访:联系欧阳娜娜")
    assert contact["phone"] == "13912345678" and "tracking_code" not in contact
    log = contacts.access_log(db, issue.reporter_ref, 10, 0)
    assert log == [{"at": "2026-11-23T02:00:00Z", "subject": issue.reporter_ref, "who": "李娜 (u-li)",
                    "role": "community_worker", "purpose": "回访:联系欧***", "outcome": "read"}]


def test_erasure_destroys_the_key_records_it_once_and_the_audit_chain_still_verifies(app, db):
    issue, _ = app.report_issue(REPORT)
    project(app, db)
    record, erased = erasure.erase(app, db, issue.reporter_ref, "request", SECRETARY)
    again, erased_again = erasure.erase(app, db, issue.reporter_ref, "request", SECRETARY)
    assert erased and not erased_again and again.id == record.id

    assert app.contact(app.get_issue(str(issue.id))) is None
    with pytest.raises(contacts.Erased):
        contacts.contact_of(app, db, issue.reporter_ref, "notifications", "service", "notification delivery")
    assert [r["outcome"] for r in contacts.access_log(db, None, 10, 0)] == ["erased"]
    assert verify_all(app)["verified"]
    names = [p.name for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    assert names == ["IssueReported", "ResidentErased"]
    assert publish(app.domain_event(app.notifications_after(0)[-1])).data == {
        "subject_ref": issue.reporter_ref, "reason": "request", "erased_at": "2026-11-23T02:00:00Z"}


def test_a_shredded_key_cannot_be_recovered_from_the_store(app, db, tmp_path):
    issue, _ = app.report_issue(REPORT)
    project(app, db)
    wrapped = db.query("SELECT wrapped FROM personal_keys WHERE subject = ?", (issue.reporter_ref,))[0][0]
    assert wrapped.encode() in store_bytes(app)
    erasure.erase(app, db, issue.reporter_ref, "request", SECRETARY)
    assert wrapped.encode() not in store_bytes(app)  # not in the file's free pages, nor in its write-ahead log
    fresh = PersonalData(Database("intake", app.settings), configured_kek(app.settings.var_dir))
    with pytest.raises(Shredded):
        fresh.open(issue.personal)


_SEQ = count(1)


def case_closed(app, db, issue_id: str, at: datetime) -> None:
    for name, data in (("CaseOpened", {"tier": "routine", "category": "设施维护", "due": {},
                                       "opened_at": "2026-11-23T02:00:00Z"}), ("CaseClosed", {"closed_at": "2026-11-24T02:00:00Z"})):
        body = to_cloudevent("casework", name, sequence=next(_SEQ), prevsequence=None, subject="c-1", time=at,
                             data={"case_id": "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1", "issue_id": issue_id, **data})
        app.process(from_cloudevent(body))


def test_contacts_of_cases_closed_longer_than_the_retention_are_shredded(app, db, clock, monkeypatch):
    monkeypatch.setenv("YISHI_CONTACT_RETENTION_DAYS", "30")
    old, _ = app.report_issue(REPORT)
    recent, _ = app.report_issue(REPORT | {"title": "5号楼路灯不亮"})
    still_open, _ = app.report_issue(REPORT | {"title": "垃圾没人清运"})
    project(app, db)
    case_closed(app, db, str(old.id), NOW)
    case_closed(app, db, str(recent.id), NOW + timedelta(days=20))
    clock.now = NOW + timedelta(days=31)

    assert erasure.shred_expired(app, db) == 1
    assert erasure.shred_expired(app, db) == 0  # erased once
    assert app.contact(app.get_issue(str(old.id))) is None
    assert app.contact(app.get_issue(str(recent.id))) is not None
    assert app.contact(app.get_issue(str(still_open.id))) is not None
    erased = app.repository.get(erasure.erasure_id(old.reporter_ref))
    assert erased.reason == "retention"


def test_retention_zero_keeps_contacts(app, db, clock, monkeypatch):
    monkeypatch.setenv("YISHI_CONTACT_RETENTION_DAYS", "0")
    issue, _ = app.report_issue(REPORT)
    project(app, db)
    case_closed(app, db, str(issue.id), NOW)
    clock.now = NOW + timedelta(days=3650)
    assert erasure.shred_expired(app, db) == 0


def legacy_report(app) -> "Issue":
    """A report as intake recorded it before sealing: contact and room in clear in the event."""
    from services.intake.domain import Issue, new_reporter_ref
    from uuid import uuid4

    issue = Issue(id=uuid4(), tracking_code="YS-20261123-ABCDEFGH", report={
        "channel": "hotline", "title": REPORT["title"], "description": REPORT["description"],
        "location": {"community": "幸福里", "building": "3"}, "room": "502",
        "reporter": {"name": "欧阳娜娜", "phone": "13912345678"}}, category="设施维护", tags=["灯坏"],
        reporter_ref=new_reporter_ref(), reported_at=NOW, fingerprint="digest-of-the-whole-body")
    issue.merge_into(str(uuid4()), None, "李娜", NOW)  # a later event whose chain link must follow the rewrite
    app.save(issue)
    return issue


def test_seal_contacts_seals_reports_recorded_in_clear_and_the_audit_still_verifies(app, db):
    from services.intake.sealing import seal_contacts
    from shared.ops.checkpoints import Checkpointer, recorded

    issue = legacy_report(app)
    Checkpointer(interval=0)(app)
    assert b"13912345678" in store_bytes(app)
    with pytest.raises(Conflict):  # not erasable while in clear: the migration comes first
        project(app, db)
        erasure.erase(app, db, issue.reporter_ref, "request", SECRETARY)

    assert seal_contacts(app, db) == "1 report(s) sealed and re-chained"
    assert seal_contacts(app, db) == "nothing in clear: no change"
    for clear in ("欧阳娜娜", "13912345678"):
        assert clear.encode() not in store_bytes(app)
    fresh = IntakeApplication(app.settings, clock=app.clock)
    try:
        sealed = fresh.get_issue(str(issue.id))
        assert fresh.contact(sealed)["phone"] == "13912345678" and sealed.merged_into == issue.merged_into
        assert "reporter" not in sealed.report and sealed.report["description"] == "晚上很黑,有事打 139****5678"
        report = verify_all(fresh, checkpoints=recorded(fresh))
        assert report["verified"] and report["checkpoints"] == 1, report["broken"]
        erasure.erase(fresh, db, issue.reporter_ref, "request", SECRETARY)
        assert fresh.contact(fresh.get_issue(str(issue.id))) is None
    finally:
        fresh.close()


def test_a_wrong_key_encryption_key_fails_loudly_and_is_never_taken_for_an_erasure(app, tmp_path):
    import base64
    import os

    issue, _ = app.report_issue(REPORT)
    other = PersonalData(Database("intake", app.settings),
                         configured_kek(tmp_path, {"YISHI_PERSONAL_KEK": base64.b64encode(os.urandom(32)).decode()}))
    with pytest.raises(Exception) as failed:
        other.open(issue.personal)
    assert not isinstance(failed.value, Shredded)
