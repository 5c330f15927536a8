"""What each case command does (cosmicpython's COMMAND_HANDLERS): one entry per model of commands.py.

A handler gets the application (for the calendar and the response templates), the case, the command's
checked body, its actor and the time; it only calls the aggregate's command method. The application saves.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from services.casework import commands as c
from services.casework.domain import Actor, Case

if TYPE_CHECKING:
    from services.casework.application import CaseworkApplication

Handler = Callable[["CaseworkApplication", Case, Any, Actor, datetime], None]


def _note(app, case: Case, cmd: c.AddNote, actor: Actor, now: datetime) -> None:
    """Who reads a note: the roles named, always with the author's."""
    case.add_note(str(uuid4()), cmd.text, sorted({*cmd.visible_to, actor["role"]}), actor, now)


COMMAND_HANDLERS: dict[type[c.CaseCommand], Handler] = {
    c.Verify: lambda app, case, cmd, actor, now: case.verify(cmd.note, actor, now),
    c.ProposePlan: lambda app, case, cmd, actor, now: case.propose_plan(cmd.plan, cmd.due, actor, now),
    c.Dispatch: lambda app, case, cmd, actor, now: case.dispatch(cmd.party, cmd.party_kind, cmd.reason, actor, now,
                                                                 app.calendar),
    c.Escalate: lambda app, case, cmd, actor, now: case.escalate(cmd.to, cmd.reason, actor, now),
    c.Resolve: lambda app, case, cmd, actor, now: case.resolve(app.summary(cmd.template_id, cmd.summary), actor, now),
    c.Retriage: lambda app, case, cmd, actor, now: case.retriage(cmd.tier, cmd.reason, actor, now, app.calendar),
    c.Acknowledge: lambda app, case, cmd, actor, now: case.acknowledge(actor, now),
    c.Return: lambda app, case, cmd, actor, now: case.return_to_staff(cmd.reason, actor, now),
    c.DisputeReturn: lambda app, case, cmd, actor, now: case.dispute_return(cmd.reason, actor, now),
    c.RuleReturn: lambda app, case, cmd, actor, now: case.rule_return(cmd.upheld, cmd.reason, actor, now,
                                                                      app.calendar),
    c.RequestExtension: lambda app, case, cmd, actor, now: case.request_extension(cmd.due, cmd.reason, actor, now),
    c.DecideExtension: lambda app, case, cmd, actor, now: case.decide_extension(cmd.approved, cmd.reason, actor, now),
    c.AddNote: _note,
    c.Reply: lambda app, case, cmd, actor, now: case.reply(app.summary(cmd.template_id, cmd.text), actor, now),
}
assert set(COMMAND_HANDLERS) == set(c.CASE_COMMANDS.values()), "every case command has its handler"
