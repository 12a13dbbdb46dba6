"""A self-contained HTML analytics report: journeys, attribution, channel profitability,
cannibalization and experiments (Plotly)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from kanaal.analytics import (
    service,
    service_cannibalization,
    service_profitability,
    service_reports,
)
from kanaal.analytics.journeys import STAGES
from kanaal.core.context import AppContext

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;
padding:.25rem .6rem;text-align:left}th{background:#f3f3f3}h2{margin-top:2.5rem}
.muted{color:#666}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


class _Figures:
    """Plotly figures; the first one carries plotly.js inline so the file stands alone."""

    def __init__(self) -> None:
        self.first = True

    def html(self, figure: go.Figure) -> str:
        """The figure as an HTML fragment."""
        fragment = pio.to_html(figure, full_html=False, include_plotlyjs=self.first)
        self.first = False
        return str(fragment)


def sankey_figure(links: Sequence[dict[str, Any]]) -> go.Figure:
    """Customers flowing between path steps, ending in purchase or drop-out."""
    labels = sorted({link["source"] for link in links} | {link["target"] for link in links})
    index = {label: i for i, label in enumerate(labels)}
    return go.Figure(go.Sankey(
        node={"label": labels, "pad": 12},
        link={"source": [index[link["source"]] for link in links],
              "target": [index[link["target"]] for link in links],
              "value": [link["customers"] for link in links]}),
        layout={"title": "Paths between channels", "height": 480})


def funnel_figure(funnels: Sequence[dict[str, Any]], top: int = 6) -> go.Figure:
    """A funnel per channel mix (the most common mixes)."""
    figure = go.Figure(layout={"title": "Funnel per channel mix", "height": 480})
    for row in funnels[:top]:
        figure.add_trace(go.Funnel(name=row["mix"], y=list(STAGES),
                                   x=[row[s] for s in STAGES]))
    return figure


def attribution_figure(models: dict[str, dict[str, Any]]) -> go.Figure:
    """Credit per channel under every model, side by side."""
    channels = sorted({c for credit in models.values() for c in credit})
    figure = go.Figure(layout={"title": "Attribution per model", "barmode": "group",
                               "height": 420})
    for model, credit in models.items():
        figure.add_trace(go.Bar(name=model, x=channels,
                                y=[float(credit.get(c, 0)) for c in channels]))
    return figure


def _journeys(journeys: dict[str, Any], figures: _Figures) -> list[str]:
    parts = ["<h2>Journeys</h2>", _table(
        ["customers", "converted", "mean hours to purchase", "median hours",
         "mean touches", "median touches"],
        [[journeys["customers"], journeys["converted"], journeys["mean_hours_to_purchase"],
          journeys["median_hours_to_purchase"], journeys["mean_touches_to_purchase"],
          journeys["median_touches_to_purchase"]]])]
    for key, title in (("top_purchase_paths", "Top paths to purchase"),
                       ("top_dropout_paths", "Top paths to drop-out")):
        parts += [f"<h3>{title}</h3>", _table(
            ["path", "customers"], [[p["path"], p["customers"]] for p in journeys[key]])]
    if journeys["sankey"]:
        parts.append(figures.html(sankey_figure(journeys["sankey"])))
    if journeys["funnels"]:
        parts.append(figures.html(funnel_figure(journeys["funnels"])))
    return parts


def _experiments(ctx: AppContext) -> list[str]:
    parts = ["<h2>Experiments</h2>"]
    found = service.list_experiments(ctx)
    if not found:
        return [*parts, "<p class=muted>No experiments yet.</p>"]
    for experiment in found:
        result = service.results(ctx, experiment.id)
        parts.append(f"<h3>{html.escape(experiment.name)} <span class=muted>"
                     f"({experiment.target_kind} {html.escape(experiment.target_name)}, "
                     f"{experiment.status})</span></h3>")
        srm = result["sample_ratio"]
        parts.append(f"<p>Exposures {srm['observed']}; sample-ratio p = {srm['p_value']:.4g}"
                     f"{' — MISMATCH, do not trust these results' if srm['mismatch'] else ''}"
                     "</p>")
        rows = []
        for section in ("metrics", "guardrails"):
            for metric in result[section]:
                for c in metric["comparisons"]:
                    freq, bayes = c.get("frequentist", {}), c.get("bayesian", {})
                    rows.append([metric["metric"], c["arm"], c.get("relative_effect"),
                                 freq.get("p_value"), freq.get("ci_low"), freq.get("ci_high"),
                                 bayes.get("chance_to_win"), bayes.get("risk_treatment"),
                                 c.get("guardrail", c["status"])])
        parts.append(_table(["metric", "arm", "relative effect", "p", "ci low", "ci high",
                             "chance to win", "risk", "status"], rows))
    return parts


def _cannibalization(ctx: AppContext, since: datetime | None, until: datetime | None,
                     currency: str) -> list[str]:
    found = service_cannibalization.cannibalization_report(ctx, since=since, until=until,
                                                          currency=currency)
    parts = [f"<h2>Cannibalization: does the phone upsell pay? ({found['currency']})</h2>",
             f"<p><strong>{html.escape(found['answer'])}</strong></p>",
             f"<p class=muted>Decision engine experiment {html.escape(found['experiment'])}: "
             f"{found['customers']} customers the engine would send to an agent, "
             f"{found['customers_not_eligible']} others left out.</p>",
             _table(["arm", "customers", "contacts", "converted", "margin / customer",
                     "contact cost / customer", "net margin / customer"],
                    [[a["arm"], a["customers"], a["contacts"], a["converted"],
                      a["margin_per_customer"], a["contact_cost_per_customer"],
                      a["net_margin_per_customer"]] for a in found["arms"]])]
    estimate = found["estimate"]
    if estimate is not None:
        parts.append(_table(
            ["treated − holdout, per customer", "estimate", "95% interval", "p"],
            [["incremental margin", estimate["incremental_margin"],
              f"{_fmt(estimate['margin_ci_low'])} to {_fmt(estimate['margin_ci_high'])}",
              None],
             ["extra contact cost", estimate["extra_contact_cost"], None, None],
             ["incremental net margin", estimate["incremental_net_margin"],
              f"{estimate['ci_low']} to {estimate['ci_high']}", estimate["p_value"]]]))
    return parts


def build_report(
    ctx: AppContext, *, since: datetime | None = None, until: datetime | None = None
) -> str:
    """The whole report as one HTML document (plotly.js inlined: no network needed)."""
    figures = _Figures()
    journeys = service_reports.journey_report(ctx, since=since, until=until)
    credit = service_reports.attribution_report(ctx, since=since, until=until)
    window = f"{since.isoformat() if since else 'start'} – {until.isoformat() if until else 'now'}"
    parts = [
        "<!doctype html><html><head><meta charset=utf-8><title>Kanaal analytics</title>",
        f"<style>{STYLE}</style></head><body><h1>Kanaal analytics</h1>",
        f"<p class=muted>Generated {ctx.clock.now().isoformat()} · events {html.escape(window)}"
        "</p>",
        *_journeys(journeys, figures),
        "<h2>Attribution (conversions)</h2>",
        _table(["model", *sorted(credit["markov"]["shares"])],
               [[m, *(c.get(ch, 0.0) for ch in sorted(credit["markov"]["shares"]))]
                for m, c in credit["models"].items()]),
    ]
    if credit["models"]["markov"]:
        parts.append(figures.html(attribution_figure(credit["models"])))
    money = service_profitability.profitability_report(
        ctx, since=since, until=until, currency=str(ctx.param("analytics.currency", "EUR")))
    parts += [f"<h2>Channel profitability ({money.currency})</h2>", _table(
        ["channel", "orders", "revenue", "margin", "contact cost", "net margin",
         "cost per order", "new customers", "refunded"],
        [[f.channel, f.orders, f.revenue, f.margin, f.contact_cost, f.net_margin,
          f.cost_per_order, f.new_customers, f.refunded] for f in money.channels])]
    parts += _cannibalization(ctx, since, until, money.currency)
    parts += [*_experiments(ctx), "</body></html>"]
    return "\n".join(parts)
