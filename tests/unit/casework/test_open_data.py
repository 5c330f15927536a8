"""casework's open data: the month's ledger and rates with no typed text and no place finer than the building."""
import json
from datetime import datetime, timezone

from services.casework.domain import case_id_for
from services.casework.open_data import LEDGER_COLUMNS, ledger_rows, statistics_rows
from tests.unit.casework.helpers import PROPERTY, Clock, confirm, issue, memory_app, reported


def test_a_closed_case_is_a_row_without_its_title_summary_or_reporter(tmp_path):
    clock = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    app = memory_app(tmp_path, clock)
    data = issue("张三家门口路灯坏了,电话13812345678")
    app.process(reported(1, data))
    cid = str(case_id_for(data["issue_id"]))
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已联系张三更换"})
    confirm(app, cid, True, 5)
    case = app.repository.get(case_id_for(data["issue_id"]))
    [row] = ledger_rows([case], clock())
    assert set(row) == set(LEDGER_COLUMNS) and row["status"] == "closed" and row["satisfied_responses"] == 1
    assert row["deadlines_on_time"] == row["deadlines_settled"] >= 1 and row["overdue"] is False
    text = json.dumps(row, ensure_ascii=False)
    assert "张三" not in text and "13812345678" not in text and "路灯" not in text
    rates = {r["tier"]: r for r in statistics_rows([case], clock())}
    assert rates["all"]["cases"] == 1 and rates["all"]["resolution_rate"] == 1.0 and set(rates) >= {"urgent", "routine"}
    app.close()
