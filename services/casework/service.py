"""casework's HTTP adapter (port 8002): the ledger (问题台账) and each case."""
from __future__ import annotations

from uuid import UUID

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.casework.bootstrap import SPEC
from services.casework.domain import TIERS
from services.casework.projections import get_case_row, list_cases
from shared.errors import InvalidInput, NotFound
from shared.http import Operable, RuntimeProvider, api, json_response, page

STATUSES = ("open", "resolved", "closed", "reopened")


def _is_uuid(value: str) -> bool:
    try:
        return str(UUID(value)) == value.lower()
    except ValueError:
        return False


class CaseworkService(Operable):
    name = "casework"
    runtime = RuntimeProvider(SPEC)

    @http("GET", "/cases")
    @api("casework", "/cases")
    def list_cases(self, request: Request) -> Response:
        """The ledger, newest first: ?status=&tier=&limit=&offset=."""
        status, tier = request.args.get("status"), request.args.get("tier")
        if status and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", "status",
                               f"status 必须是 {'、'.join(STATUSES)} 之一")
        if tier and tier not in TIERS:
            raise InvalidInput(f"tier must be one of {', '.join(TIERS)}", "tier", f"tier 必须是 {'、'.join(TIERS)} 之一")
        limit, offset = page(request)
        return json_response({"cases": list_cases(self.runtime.db, status, tier, limit, offset),
                              "limit": limit, "offset": offset})

    @http("GET", "/cases/<string:case_id>")
    @api("casework", "/cases/{id}")
    def get_case(self, request: Request, case_id: str) -> Response:
        row = get_case_row(self.runtime.db, case_id) if _is_uuid(case_id) else None
        if row is None:
            raise NotFound(f"no case {case_id}", "case_id", "未找到该案件")
        return json_response(row)
