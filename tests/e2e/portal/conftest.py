"""The portal in a real browser: Debian's chromium driven by Playwright, in front of the real services."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.infra import create_vhost, delete_vhost
from tests.support.processes import Process, System

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "support" / "vendor" / "axe-core-4.14.1.min.js"
UPSTREAMS = ("intake", "casework", "meetings", "notifications")
WORKERS = ("intake", "casework", "notifications")  # meetings' worker feeds no page these tests read


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """The four services on the embedded store, one vhost, and the portal reading them over HTTP."""
    tmp = tmp_path_factory.mktemp("portal")
    (tmp / "metrics").mkdir()
    uri = create_vhost()
    env = {"AMQP_URI": uri, "YISHI_VAR_DIR": str(tmp / "var"), "YISHI_POLL_INTERVAL": "0.05", "DATABASE_URL": "",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
           # a page shows what the step before it did, not an answer kept seconds ago (tests/unit/portal/test_fresh.py
           # covers keeping): the staff pages read afresh after one's own command anyway, the board would lag
           "YISHI_PORTAL_FRESH_SCALE": "0"}
    system = System(env, tmp)
    front = None
    try:
        for service in UPSTREAMS:
            system.start(service, "web")
        for service in WORKERS:
            system.start(service, "worker")
        urls = {f"YISHI_{s.upper()}_URL": system.web(s).url for s in UPSTREAMS}
        front = Process("portal", "web", env | urls, tmp).start()
        yield front.url, {s: system.web(s).url for s in UPSTREAMS}
    finally:
        if front:
            front.stop()
        system.stop()
        delete_vhost(uri)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: bash scripts/ensure-infra.sh --browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, portal):
    """A phone-sized page (most residents open the portal inside WeChat); CSP bypassed only to inject axe."""
    context = browser.new_context(base_url=portal[0], viewport={"width": 390, "height": 844}, bypass_csp=True,
                                  locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations of the page as it stands."""
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in found if v["impact"] in ("serious", "critical")]
