"""`yishi rebuild`: every read model of every built service, rebuilt from the log while the service keeps
answering and writing, equals the model its writers maintained."""
import os
import subprocess
import sys
import threading
import time

import pytest

from shared.store.persistence import Database
from shared.store.projection import catch_up
from shared.ops.rebuild import Rebuilder
from shared.runtime.spec import built_services, load_spec
from tests.support.processes import ROOT
from tests.support.seeding import seeder, store_env

PLATFORM_TABLES = {"projection_position", "relay_position", "consumer_attempts", "stored_events", "tracking"}


def model_rows(db: Database, service: str, but: tuple = ()) -> dict[str, list[tuple]]:
    """Every read-model table of the service's store (but those named), rows sorted."""
    if db.postgres:
        names = [r[0] for r in db.query("SELECT tablename FROM pg_tables WHERE schemaname = ?", (service,))]
    else:
        names = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    names = [n for n in names if n not in PLATFORM_TABLES | {f"{service}_events", f"{service}_tracking"} | set(but)]
    return {n: sorted(db.query(f'SELECT * FROM "{n}"'), key=repr) for n in sorted(names)}


@pytest.mark.parametrize("service", built_services())
def test_a_rebuilt_read_model_equals_the_live_one_and_swaps_in_while_the_service_writes(service, settings):
    spec, seed = load_spec(service), seeder(service)
    app = spec.application(settings)
    db = Database(service, settings)
    projections = spec.projections()
    assert projections, f"{service} has no read model to rebuild"
    seed(app, 40)
    before = model_rows(db, service)
    assert any(before.values()), "the live model must have rows for the comparison to mean anything"

    for round_, projection in enumerate(projections):
        before = model_rows(db, service)  # the previous round's new events are in every model now
        rebuilder = Rebuilder(app, db, projection, batch_size=9)
        rebuilder.build()
        assert rebuilder.staging.tables(), "the new model is built beside the live one"
        assert model_rows(db, service) == before, "the service answers from the old model meanwhile"
        with db.transaction() as tx:  # a damaged live model: only a real swap brings these rows back
            for table in rebuilder.staging.tables():
                tx.run(f'DELETE FROM "{table}"')
        writer = threading.Thread(target=seed, args=(app, 25), kwargs={"start": 1000 + 100 * round_})
        writer.start()  # recorded during the build's end and the swap: the swap or the writers must apply each
        time.sleep(0.05)
        position = rebuilder.swap()
        writer.join()
        rebuilder.staging.discard()
        assert position <= app.log_head()
        assert db.query("SELECT position FROM projection_position WHERE name = ?", (projection.name,)) == [
            (app.log_head(),)]
    seed(app, 10, start=2000)  # after the swap, the writers go on in the rebuilt model
    after_live = model_rows(db, service)
    assert sum(len(rows) for rows in after_live.values()) > sum(len(rows) for rows in before.values())

    # the reference: the same events replayed from scratch (a new version is dropped and replayed in place)
    bumped = [type(p.__class__.__name__ + "V", (p.__class__,), {"version": p.version + 100})() for p in projections]
    catch_up(app, db, bumped)
    assert model_rows(db, service) == after_live
    db.close()
    app.close()


@pytest.mark.parametrize("service", built_services())
def test_yishi_rebuild_command_rebuilds_every_read_model_to_the_same_rows(service, settings):
    spec = load_spec(service)
    app = spec.application(settings)
    db = Database(service, settings)
    seeder(service)(app, 30)
    views = tuple(v.name for v in app.views)  # seeded without an upstream archive: test_rebuild_view.py
    before = model_rows(db, service, but=views)
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", "rebuild", service], cwd=ROOT,
                            env=os.environ | store_env(settings), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "swapped in" in result.stdout
    assert model_rows(db, service, but=views) == before
    positions = db.query("SELECT name, position FROM projection_position")
    assert all(pos == app.log_head() for name, pos in positions if name not in views)
    db.close()
    app.close()


def test_rebuilding_an_unknown_read_model_fails_naming_the_known_ones(settings):
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "rebuild", "intake", "no_such_model"], cwd=ROOT,
                            env=os.environ | store_env(settings), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no read model 'no_such_model'" in result.stderr and "issue_index" in result.stderr
