"""Analytics API: experiments (define, assign, observe, results), journeys and attribution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse

from kanaal.analytics import (
    service,
    service_cannibalization,
    service_profitability,
    service_reports,
)
from kanaal.analytics.report import build_report
from kanaal.analytics.schemas import (
    AssignmentOut,
    AttributionOut,
    CannibalizationOut,
    ChannelFiguresOut,
    ExperimentIn,
    ExperimentList,
    ExperimentOut,
    JourneysOut,
    ObservationsIn,
    ObservationsOut,
    ProfitabilityOut,
    ResultsOut,
)
from kanaal.contact_center.desk_session import require_agent_or_read_key
from kanaal.core.http import AdminKey, AnyKey, Ctx, ReadKey, WriteKey

experiments = APIRouter(prefix="/v1/experiments", tags=["experiments"])
reports = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Since = Annotated[datetime | None, Query(description="from (inclusive, ISO 8601 with zone)")]
Until = Annotated[datetime | None, Query(description="to (exclusive, ISO 8601 with zone)")]


@experiments.post("", status_code=status.HTTP_201_CREATED, response_model=ExperimentOut)
def create_experiment(body: ExperimentIn, ctx: Ctx, _principal: AdminKey) -> ExperimentOut:
    """Define an experiment on a decision policy, widget, offer or trigger; it starts running."""
    experiment = service.create_experiment(
        ctx, name=body.name, target_kind=body.target_kind, target_name=body.target_name,
        arms=[(a.name, a.weight) for a in body.arms], metrics=body.metrics,
        guardrails=body.guardrails, hypothesis=body.hypothesis,
    )
    return ExperimentOut.of(experiment)


@experiments.get("", response_model=ExperimentList)
def list_experiments(
    ctx: Ctx, _principal: ReadKey, target_kind: Annotated[str | None, Query()] = None
) -> ExperimentList:
    """All experiments, newest first."""
    found = service.list_experiments(ctx, target_kind=target_kind)
    return ExperimentList(experiments=[ExperimentOut.of(e) for e in found])


@experiments.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: str, ctx: Ctx, _principal: ReadKey) -> ExperimentOut:
    """One experiment."""
    return ExperimentOut.of(service.get_experiment(ctx, experiment_id))


@experiments.post("/{experiment_id}/stop", response_model=ExperimentOut)
def stop_experiment(experiment_id: str, ctx: Ctx, _principal: AdminKey) -> ExperimentOut:
    """Stop an experiment: no new exposures, results stay readable."""
    return ExperimentOut.of(service.stop_experiment(ctx, experiment_id))


@experiments.get("/{experiment_id}/assignment", response_model=AssignmentOut)
def get_assignment(
    experiment_id: str, ctx: Ctx, _principal: AnyKey,
    customer_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> AssignmentOut:
    """The customer's arm, by hashing: the same customer always gets the same arm."""
    arm, exposed = service.assignment(ctx, experiment_id, customer_id)
    return AssignmentOut(experiment_id=experiment_id, customer_id=customer_id, arm=arm.name,
                         exposed=exposed)


@experiments.post("/{experiment_id}/observations", response_model=ObservationsOut)
def post_observations(
    experiment_id: str, body: ObservationsIn, ctx: Ctx, _principal: WriteKey
) -> ObservationsOut:
    """Record exposures and metric values (all or nothing); returns each customer's arm."""
    items = [service.Observation(o.customer_id, o.metric, o.value) for o in body.observations]
    return ObservationsOut(arms=service.record_observations(ctx, experiment_id, items))


@experiments.get("/{experiment_id}/results", response_model=ResultsOut)
def get_results(experiment_id: str, ctx: Ctx, _principal: ReadKey) -> ResultsOut:
    """Frequentist and Bayesian results per metric, sample-ratio check and guardrails."""
    return ResultsOut(**service.results(ctx, experiment_id))


@reports.get("/journeys", response_model=JourneysOut)
def get_journeys(
    ctx: Ctx, _principal: ReadKey, since: Since = None, until: Until = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Any:
    """Top paths to purchase and drop-out, time and touches to purchase, funnels, Sankey."""
    return service_reports.journey_report(ctx, since=since, until=until, limit=limit)


@reports.get("/attribution", response_model=AttributionOut)
def get_attribution(
    ctx: Ctx, _principal: ReadKey, since: Since = None, until: Until = None,
    on: Annotated[str, Query(pattern="^(conversions|revenue)$")] = "conversions",
    half_life_hours: Annotated[float, Query(gt=0, le=24 * 365)] = 168.0,
) -> Any:
    """Credit per channel under first/last touch, linear, position-based, time decay, Markov."""
    return service_reports.attribution_report(ctx, since=since, until=until, on=on,
                                              half_life_hours=half_life_hours)


@reports.get("/channels", response_model=ProfitabilityOut)
def get_channel_profitability(
    ctx: Ctx, _principal: ReadKey, since: Since = None, until: Until = None,
    currency: Annotated[str, Query(min_length=3, max_length=3)] = "EUR",
) -> Any:
    """Per channel: orders, revenue, margin, contact cost, cost per order, new customers."""
    report = service_profitability.profitability_report(ctx, since=since, until=until,
                                                        currency=currency)
    return ProfitabilityOut(
        currency=report.currency, orders_in_other_currencies=report.orders_in_other_currencies,
        lines_without_cost=report.lines_without_cost,
        channels=[ChannelFiguresOut(**_figures(f)) for f in report.channels])


@reports.get("/cannibalization", response_model=CannibalizationOut)
def get_cannibalization(
    ctx: Ctx, _principal: ReadKey, since: Since = None, until: Until = None,
    experiment: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    arm: Annotated[str | None, Query(min_length=1, max_length=30)] = None,
    currency: Annotated[str, Query(min_length=3, max_length=3)] = "EUR",
) -> Any:
    """Does the phone upsell exceed the extra contact cost? Assisted vs the engine's holdout."""
    return service_cannibalization.cannibalization_report(
        ctx, since=since, until=until, experiment=experiment, arm=arm, currency=currency)


def _figures(figures: Any) -> dict[str, Any]:
    """A ChannelFigures dataclass (slots) as a dict."""
    return {name: getattr(figures, name) for name in ChannelFiguresOut.model_fields}


@reports.get("/report", response_class=HTMLResponse)
def get_report(ctx: Ctx, _principal: ReadKey, since: Since = None,
               until: Until = None) -> HTMLResponse:
    """The analytics report as one self-contained HTML page (Plotly inlined)."""
    return HTMLResponse(build_report(ctx, since=since, until=until))


pages = APIRouter(tags=["analytics"], include_in_schema=False)


@pages.get("/analytics", response_class=HTMLResponse)
def analytics_page(request: Request, ctx: Ctx, since: Since = None,
                   until: Until = None) -> HTMLResponse:
    """The dashboard's analytics section: the report for desk sessions and read keys."""
    require_agent_or_read_key(ctx, request)
    return HTMLResponse(build_report(ctx, since=since, until=until), headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline' "
        "'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"})


router = APIRouter()
router.include_router(experiments)
router.include_router(reports)
router.include_router(pages)
