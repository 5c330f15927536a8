"""Group commit: concurrent callers' saves written in one transaction, each caller answered after it commits.

A web process under load has many requests saving at once; one transaction each would serialise them on the
event table's lock (and cost a commit each). The first caller to reach the writer's lock writes everything
pending, its own save and those queued behind it; the others find theirs written when they get the lock. At
low load a batch is one save: no added wait. A batch refused as a whole (one save's aggregate changed under
it, a tracking code taken) is written save by save, so only the caller whose save conflicts sees the error.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError

from shared.store.processing import Processing


class _Save:
    __slots__ = ("events", "rows", "done", "error")

    def __init__(self, events: list[Any], rows: Sequence[Any]):
        self.events = events
        self.rows = rows  # the caller's own rows, written in the events' transaction
        self.done = False
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, put: Callable[..., Any], max_batch: int = 500):
        self._put = put  # writes domain events (and rows=) in one transaction (the application's event store)
        self.max_batch = max_batch
        self._pending: list[_Save] = []
        self._pending_lock = threading.Lock()
        self._writer = threading.Lock()  # green under eventlet's monkey-patching, real between worker threads

    def save(self, *objs: Any, rows: Sequence[Any] = ()) -> None:
        processing = Processing()
        processing.collect_events(*objs)
        if not processing.events:
            if rows:
                raise ValueError("rows are written with events: a save without events would drop them")
            return
        mine = _Save(processing.events, rows)
        with self._pending_lock:
            self._pending.append(mine)
        while not mine.done:
            with self._writer:
                if not mine.done:
                    self._write_pending()
        if mine.error is not None:
            raise mine.error

    def _write_pending(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
        try:
            self._write(batch)
        except IntegrityError as exc:
            if len(batch) == 1:
                self._finish(batch, exc)
            for s in batch if len(batch) > 1 else ():
                self._write_alone(s)
            return
        except BaseException as exc:  # the store is down: every caller in the batch learns it
            self._finish(batch, exc)
            return
        self._finish(batch, None)

    def _write(self, batch: list[_Save]) -> None:
        rows = [r for s in batch for r in s.rows]
        self._put([e for s in batch for e in s.events], **({"rows": rows} if rows else {}))

    def _write_alone(self, s: _Save) -> None:
        try:
            self._write([s])
        except BaseException as exc:
            self._finish([s], exc)
        else:
            self._finish([s], None)

    @staticmethod
    def _finish(batch: list[_Save], error: BaseException | None) -> None:
        for s in batch:
            s.error, s.done = error, True
