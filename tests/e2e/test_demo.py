"""`kanaal demo` end to end: it starts, the dashboard's charts update live, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import free_port

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("demo")]


def _wait_healthy(base: str, process: subprocess.Popen[bytes], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kanaal demo exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("kanaal demo did not start")


def test_demo_dashboard_updates_live_and_ctrl_c_stops_it(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAAL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "kanaal.cli", "demo", "--port", str(port), "--data-dir",
         str(tmp_path / "demo"), "--speed", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        _wait_healthy(base, process)
        demo = json.loads((tmp_path / "demo" / "demo-keys.json").read_text())
        assert len(demo["agents"]) == 12
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/dashboard#key={demo['keys']['read']}")
        # (The page's CSP forbids eval, so the waits poll from here.)
        page.locator("#dash-status[data-updates]").wait_for(timeout=30_000)
        first = int(page.inner_text("#kpi-decisions"))
        deadline = time.monotonic() + 30
        while int(page.inner_text("#kpi-decisions")) == first:
            assert time.monotonic() < deadline, "the dashboard did not update"
            page.wait_for_timeout(250)
        # The simulated day keeps deciding: the charts were redrawn with more decisions.
        assert int(page.get_attribute("#dash-status", "data-updates") or 0) >= 2
        assert page.locator("#chart-decisions .main-svg").count() >= 1
        assert page.locator("#chart-load .main-svg").count() >= 1
        assert int(page.inner_text("#kpi-decisions")) > 0
        # The simulated agents' answered contacts give the dashboard an actual wait too.
        deadline = time.monotonic() + 30
        while True:
            queues = httpx.get(f"{base}/dashboard/data", headers={
                "Authorization": f"Bearer {demo['keys']['read']}"}).json()["queues"]
            answered = {q["queue"]: q for q in queues if q["answered_recently"] > 0}
            if answered:
                break
            assert time.monotonic() < deadline, f"no actual wait appeared: {queues}"
            time.sleep(0.5)
        assert all(q["actual_wait_mean_seconds"] is not None for q in answered.values())
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(3000)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-demo.png"), full_page=True)
        page.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    assert f"{base}/dashboard#key=" in text
    assert "demo stopped" in text


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_demo_seed_runs_once_and_is_reused(ctx: Any) -> None:
    from kanaal.contact_center.agents import list_agents
    from kanaal.contact_center.capacity import list_queues
    from kanaal.demo.seed import seed
    from kanaal.inventory.service import list_locations, stock_levels

    first = seed(ctx)
    again = seed(ctx)
    assert again == first
    assert first["products"] == 200
    assert sorted(q.name for q in list_queues(ctx)) == ["chat", "sales"]
    agents = list_agents(ctx)
    assert len(agents) == 12
    assert sum(1 for a in agents if "sales" in a.skills) == 9
    assert sorted(loc.kind for loc in list_locations(ctx)) == [
        "store", "store", "store", "warehouse"]
    assert sum(level.on_hand for level in stock_levels(ctx, "DEMO-TV-001")) == 20 + 3 * 2
    path = ctx.settings.data_dir / "demo-keys.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert set(json.loads(path.read_text())["keys"]) == {"web_write", "read", "admin"}
