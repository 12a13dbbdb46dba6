"""The self-contained HTML analytics report and its command."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kanaal.analytics import service
from kanaal.analytics.cli import app
from kanaal.analytics.report import build_report
from kanaal.config import Settings
from kanaal.core.context import AppContext, build_context
from tests.conftest import Keys, bearer
from tests.integration.test_analytics_reports import record_fixed_events


def sankey_data(document: str) -> dict[str, object]:
    """The Sankey trace's node labels and link values, parsed from the embedded figure."""
    for match in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', document,
                             re.DOTALL):
        traces = json.loads(match.group(1))
        if traces and traces[0]["type"] == "sankey":
            return {"labels": traces[0]["node"]["label"],
                    "values": traces[0]["link"]["value"]}
    raise AssertionError("no Sankey figure in the report")


def test_the_report_holds_paths_figures_and_experiments(ctx: AppContext) -> None:
    record_fixed_events(ctx)
    experiment = service.create_experiment(
        ctx, name="Callback offer", target_kind="offer", target_name="callback-10pct",
        arms=[("control", Decimal("0.5")), ("offer", Decimal("0.5"))],
        metrics=["conversion"])
    service.record_observations(ctx, experiment.id,
                                [service.Observation(f"cus_{i}") for i in range(20)])
    document = build_report(ctx)
    assert document.startswith("<!doctype html>") and document.endswith("</html>")
    assert "<td>web &gt; phone &gt; web</td><td>2</td>" in document
    assert "<td>web</td><td>2</td>" in document  # top drop-out path
    sankey = sankey_data(document)
    assert sankey["labels"] == ["1. store", "1. web", "2. phone", "2. store", "2. web",
                                "3. web", "drop-out", "purchase"]
    assert sorted(sankey["values"]) == [1, 1, 1, 1, 1, 1, 2, 2, 2, 3]  # type: ignore[type-var]
    assert "Callback offer" in document and "sample-ratio p" in document
    assert re.search(r"<script[^>]+src=", document) is None  # plotly.js is inline
    assert document.count("Plotly.newPlot") == 3


def test_the_report_is_served_to_read_keys(
    ctx: AppContext, client: TestClient, keys: Keys
) -> None:
    record_fixed_events(ctx)
    response = client.get("/v1/analytics/report", headers=bearer(keys.read))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<td>web &gt; phone &gt; web</td><td>2</td>" in response.text
    refused = client.get("/v1/analytics/report")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "missing_credentials")


@pytest.fixture
def sqlite_ctx(sqlite_db_settings: Settings) -> AppContext:
    """A context on a fresh SQLite database (the command reads KANAAL_* settings)."""
    return build_context(sqlite_db_settings)


def test_the_command_writes_the_report(
    sqlite_ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_fixed_events(sqlite_ctx)
    monkeypatch.setenv("KANAAL_DATABASE_URL", sqlite_ctx.settings.database_url or "")
    monkeypatch.setenv("KANAAL_AUTO_MIGRATE", "false")
    target = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["--out", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output
    assert "web &gt; phone &gt; web" in target.read_text(encoding="utf-8")
