"""The report of a run: the checks of the evidence, a rich table and a self-contained HTML page."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from kanaal.simulation.runner import BASELINES, POLICIES, RunResult

ORACLE_SHARE_TARGET = 0.85
IDLE_BAND = (0.20, 0.40)  # the first source article's conversion of visitors routed to agents


@dataclass(frozen=True)
class Check:
    """One claim, its figure and whether the run bears it out."""

    name: str
    passed: bool
    figure: str


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def checks(run: RunResult) -> list[Check]:
    """The Must-show checks for `kanaal` in this run (cold start: convergence instead)."""
    out: list[Check] = []
    res = run.results
    if "kanaal" not in res:
        return out
    k = res["kanaal"]
    if run.scenario.checked:
        share = run.oracle_share("kanaal")
        out.append(Check("kanaal earns >= 85% of the oracle's incremental profit",
                         share is not None and share >= ORACLE_SHARE_TARGET,
                         f"{_pct(share)} (expected: kanaal {run.incremental('kanaal'):.2f} / "
                         f"oracle {run.incremental('oracle'):.2f} EUR)"))
        for base in BASELINES:
            if base in res:
                out.append(Check(f"kanaal beats {base}",
                                 run.incremental("kanaal") > run.incremental(base),
                                 f"expected {run.incremental('kanaal'):.2f} vs "
                                 f"{run.incremental(base):.2f} EUR"))
        levels = ", ".join(f"{q} {_pct(v)} (target {_pct(k.target_service_level[q])})"
                           for q, v in k.service_level.items())
        out.append(Check("kanaal holds the service-level target", k.holds_service_level(),
                         levels))
        if "capacity_only" in res:
            c = res["capacity_only"]
            out.append(Check("kanaal has fewer cannibalized contacts than capacity_only",
                             k.cannibalized < c.cannibalized,
                             f"{k.cannibalized} vs {c.cannibalized}"))
    else:
        points = [s for _, s in run.curve("kanaal") if s is not None]
        half = len(points) // 2
        early = sum(points[:half]) / half if half else 0.0
        late = sum(points[half:]) / (len(points) - half) if points[half:] else 0.0
        out.append(Check("cold start: kanaal's share of the oracle rises as it learns",
                         late > early, f"first half {_pct(early)}, second half {_pct(late)}"))
    has_persuadables = any(mix.get("persuadable", 0) > 0
                           for mix in run.scenario.type_mix.values())
    if has_persuadables:
        idle = k.idle_conversion
        out.append(Check("visitors routed while agents are idle convert in the 20-40% band",
                         idle is not None and IDLE_BAND[0] <= idle <= IDLE_BAND[1],
                         f"{_pct(idle)} of {k.idle_routed} contacts"))
    out.append(Check("no phone invitations while the queue is over target",
                     k.phone_invites_over_target == 0,
                     f"{k.phone_invites_over_target} invitations"))
    out.append(Check("more invitations when agents are idle",
                     k.invite_rate_idle > k.invite_rate_busy,
                     f"{_pct(k.invite_rate_idle)} of decisions when idle vs "
                     f"{_pct(k.invite_rate_busy)} when not"))
    return out


def rows(run: RunResult) -> list[dict[str, Any]]:
    """One row of figures per policy, in the report's order."""
    out = []
    for policy in POLICIES:
        r = run.results.get(policy)
        if r is None:
            continue
        share = run.oracle_share(policy)
        out.append({
            "policy": policy, "profit": round(r.profit, 2),
            "incremental": round(run.realized_incremental(policy), 2),
            "expected_incremental": round(run.incremental(policy), 2),
            "oracle_share": None if share is None else round(share, 4),
            "margin": round(r.margin, 2), "contact_cost": round(r.contact_cost, 2),
            "service_cost": round(r.service_cost, 2),
            "conversions": dict(sorted(r.conversions.items())),
            "invitations": sum(r.invitations.values()), "contacts": r.contacts,
            "cannibalized": r.cannibalized,
            "service_level": {q: round(v, 4) for q, v in r.service_level.items()},
            "abandoned": dict(r.abandoned),
            "occupancy": {c: round(_mean_busy(points), 4) for c, points in r.occupancy.items()},
            "idle_conversion": r.idle_conversion,
        })
    return out


def _mean_busy(points: list[tuple[float, float]]) -> float:
    busy = [share for _, share in points if share > 0]
    return sum(busy) / len(busy) if busy else 0.0


def print_report(run: RunResult, console: Console | None = None) -> None:
    """The terminal table and the checks."""
    console = console or Console()
    s = run.scenario
    table = Table(title=f"{s.name}: {s.visitors * s.days} visitors, seed {run.seed}"
                  + (f", engine at {run.http}" if run.http else ""))
    for column in ("policy", "profit", "incremental", "expected incremental",
                   "% of oracle", "service cost", "conversions", "invitations", "contacts",
                   "cannibalized", "service level", "occupancy"):
        table.add_column(column, justify="left" if column in {"policy", "conversions"}
                         else "right")
    for row in rows(run):
        table.add_row(
            row["policy"], f"{row['profit']:.2f}", f"{row['incremental']:.2f}",
            f"{row['expected_incremental']:.2f}", _pct(row["oracle_share"]),
            f"{row['service_cost']:.2f}",
            " ".join(f"{c}:{n}" for c, n in row["conversions"].items()),
            str(row["invitations"]), str(row["contacts"]), str(row["cannibalized"]),
            " ".join(f"{q}:{_pct(v)}" for q, v in row["service_level"].items()),
            " ".join(f"{c}:{_pct(v)}" for c, v in row["occupancy"].items()))
    console.print(table)
    for check in checks(run):
        mark = "[green]PASS[/green]" if check.passed else "[red]MISS[/red]"
        console.print(f"{mark} {check.name}: {check.figure}")


def html_report(run: RunResult) -> str:
    """A self-contained HTML page (plotly.js inlined: it opens offline)."""
    import plotly.graph_objects as go

    res = run.results
    names = [p for p in POLICIES if p in res]
    figures = []
    figures.append(go.Figure(
        [go.Bar(x=names, y=[run.realized_incremental(p) for p in names],
                name="incremental profit"),
         go.Bar(x=names, y=[run.incremental(p) for p in names],
                name="expected incremental profit")],
        layout={"title": "Incremental profit over doing nothing (EUR)"}))
    channels = sorted({c for r in res.values() for c in r.conversions})
    figures.append(go.Figure(
        [go.Bar(x=names, y=[res[p].conversions.get(c, 0) for p in names], name=c)
         for c in channels],
        layout={"title": "Conversions by channel", "barmode": "stack"}))
    figures.append(go.Figure(
        [go.Bar(x=names, y=[res[p].contacts for p in names], name="contacts"),
         go.Bar(x=names, y=[res[p].cannibalized for p in names], name="cannibalized")],
        layout={"title": "Contacts and cannibalized contacts (assisted sales that would "
                "have happened online anyway)"}))
    queues = sorted({q for r in res.values() for q in r.service_level})
    figures.append(go.Figure(
        [go.Bar(x=names, y=[res[p].service_level.get(q, 0) * 100 for p in names], name=q)
         for q in queues],
        layout={"title": "Service level: % answered within the target time"}))
    figures.append(go.Figure(
        [go.Scatter(x=[t for t, _ in res[p].occupancy.get("phone", [])],
                    y=[v * 100 for _, v in res[p].occupancy.get("phone", [])],
                    mode="lines", name=p) for p in names],
        layout={"title": "Phone agent occupancy over the run (%)",
                "xaxis": {"title": "hours since start"}}))
    if "kanaal" in res:
        curve = run.curve("kanaal")
        figures.append(go.Figure(
            [go.Scatter(x=[h for h, _ in curve],
                        y=[None if v is None else v * 100 for _, v in curve],
                        mode="lines+markers", name="kanaal")],
            layout={"title": "Learning curve: kanaal's share of the oracle's incremental "
                    "profit per 3 hours (%)", "xaxis": {"title": "hours since start"}}))
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0))
             for i, f in enumerate(figures)]
    check_rows = "".join(
        f"<tr><td>{'PASS' if c.passed else 'MISS'}</td><td>{html.escape(c.name)}</td>"
        f"<td>{html.escape(c.figure)}</td></tr>" for c in checks(run))
    table_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows(run))
    header = "".join(f"<th>{html.escape(k)}</th>" for k in (rows(run) or [{}])[0])
    s = run.scenario
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Kanaal simulation: {html.escape(s.name)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:"
        "collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;font-size:.9rem}</style>"
        f"</head><body><h1>Simulation: {html.escape(s.name)}</h1>"
        f"<p>{html.escape(s.description)} Visitors: {s.visitors * s.days}, seed {run.seed}.</p>"
        f"<h2>Checks</h2><table>{check_rows}</table>"
        f"<h2>Figures</h2><table><tr>{header}</tr>{table_rows}</table>"
        + "".join(parts) + "</body></html>")
