"""How the simulation reaches the decision engine: in-process (service layer) or over HTTP."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.db import Database
from kanaal.core.live import MemoryLiveStore
from kanaal.decisions.domain import QueueView
from kanaal.simulation.world import Scenario

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday; simulated time 0


@dataclass(frozen=True)
class Answer:
    """The engine's answer as the simulation needs it."""

    decision_id: str
    action: str
    queue: str | None


class Engine(Protocol):
    """A decision engine the simulated touchpoints talk to."""

    def decide(self, request: dict[str, Any], at: float) -> Answer:
        """Ask for the next best action at simulated second `at`."""
        ...

    def outcome(self, decision_id: str, event: str, at: float,
                margin: float | None = None) -> None:
        """Report what happened after a decision, so the engine learns."""
        ...

    def close(self) -> None:
        """Write what is queued and release resources."""
        ...


class SimCapacity:
    """The engine's capacity reader, answered by the simulated contact center."""

    def __init__(self, snapshot: Callable[[], dict[str, QueueView]]) -> None:
        self._snapshot = snapshot

    def snapshot(self, ctx: AppContext) -> dict[str, QueueView]:  # noqa: ARG002 - protocol
        """The simulated queues as the engine sees them."""
        return self._snapshot()


class NoHistory:
    """Simulated visitors are new: no identity is known and no timeline exists."""

    def customer_id(self, session: Session, identity_type: str,  # noqa: ARG002 - protocol
                    value: str) -> str | None:  # noqa: ARG002 - protocol
        """Nobody is known."""
        return None

    def events(self, session: Session, customer_id: str,  # noqa: ARG002 - protocol
               since: datetime) -> list[dict[str, Any]]:  # noqa: ARG002 - protocol
        """No events."""
        return []


def migrated_template(workdir: Path) -> Path:
    """A migrated, empty SQLite database every in-process engine starts from."""
    from kanaal.migrations.runner import upgrade

    path = workdir / "template.db"
    if not path.exists():
        db = Database(f"sqlite:///{path}")
        upgrade(db)
        db.dispose()
    return path


def engine_params(scenario: Scenario, policy: str) -> dict[str, Any]:
    """The `decisions` parameters of a simulated retailer running one policy for everybody."""
    base: dict[str, Any] = {
        "default_margin_rate": scenario.margin_rate,
        "economics": {
            "cost_per_minute": {"phone": scenario.cost_per_minute,
                                "callback": scenario.cost_per_minute,
                                "chat": scenario.cost_per_minute},
            "upsell_share": {"show_phone": scenario.upsell_share,
                             "call_now": scenario.upsell_share,
                             "callback_offer": scenario.upsell_share,
                             "chat_invite": scenario.upsell_share / 4},
        },
        "experiment": {"name": f"sim-{policy}", "holdout_share": 0.0, "arms": {policy: 1}},
        # Check the model version on every decision: learning then never depends on how
        # fast the machine runs, so a seed reproduces a run exactly.
        "model_reload_seconds": 0.0,
    }
    for key, value in scenario.engine.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    return {"decisions": base}


class InProcessEngine:
    """The real engine through kanaal.decisions.service on a private SQLite database."""

    def __init__(self, *, policy: str, scenario: Scenario, workdir: Path, seed: int,
                 snapshot: Callable[[], dict[str, QueueView]], template: Path | None = None,
                 offset: float = 0.0, keep: bool = False) -> None:
        template = template or migrated_template(workdir)
        directory = workdir / f"{policy}-{uuid.uuid4().hex[:6]}"
        directory.mkdir(parents=True)
        shutil.copyfile(template, directory / "kanaal.db")
        settings = Settings(database_url=f"sqlite:///{directory / 'kanaal.db'}",
                            data_dir=directory, auto_migrate=False)
        self.clock = ManualClock(START)
        self._now = 0.0
        # Simulated seconds already played in this database (a warm-up day before the run).
        self.offset = offset
        self.keep = keep
        self.ctx = build_context(settings, clock=self.clock,
                                 live=MemoryLiveStore(clock=lambda: self._now))
        self.ctx.business = engine_params(scenario, policy)
        self.ctx.state["decisions.capacity"] = SimCapacity(snapshot)
        self.ctx.state["decisions.history"] = NoHistory()
        from kanaal.decisions import service

        # Thompson sampling draws from a seeded generator: the same seed, the same run.
        service.runtime(self.ctx).rng.value = random.Random(seed)
        self.directory = directory

    def _at(self, at: float) -> None:
        at += self.offset
        if at > self._now:
            self._now = at
            self.clock.set(START + timedelta(seconds=at))

    def decide(self, request: dict[str, Any], at: float) -> Answer:
        """Ask the service layer, as a touchpoint's request would."""
        from kanaal.decisions.service import make_decision

        self._at(at)
        answer = make_decision(self.ctx, request)
        return Answer(answer["decision_id"], answer["action"]["type"], answer["action"]["queue"])

    def outcome(self, decision_id: str, event: str, at: float,
                margin: float | None = None) -> None:
        """Record the outcome through the service layer (it updates the model)."""
        from kanaal.decisions.outcomes import record_outcome

        self._at(at)
        body = {"event": event, "margin": None if margin is None else f"{margin:.2f}"}
        record_outcome(self.ctx, decision_id, body, None)

    def close(self) -> None:
        """Write the queued decision log and close the database."""
        from kanaal.decisions.service import runtime

        runtime(self.ctx).log.flush(self.ctx.db)
        self.ctx.db.dispose()
        if not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)


class HttpEngine:
    """The engine of a running server, over its public API (POST /v1/decisions)."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 10.0) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                   headers={"Authorization": f"Bearer {key}"})

    def decide(self, request: dict[str, Any], at: float) -> Answer:  # noqa: ARG002 - live time
        """POST the request; the server decides with its own clock and capacity."""
        response = self.client.post("/v1/decisions", json=request)
        response.raise_for_status()
        body = response.json()
        return Answer(body["decision_id"], body["action"]["type"], body["action"]["queue"])

    def outcome(self, decision_id: str, event: str, at: float,  # noqa: ARG002 - live time
                margin: float | None = None) -> None:
        """POST the outcome with an idempotency key (a retry never counts twice)."""
        body: dict[str, Any] = {"event": event}
        if margin is not None:
            body["margin"] = f"{margin:.2f}"
        response = self.client.post(f"/v1/decisions/{decision_id}/outcome", json=body,
                                    headers={"Idempotency-Key": f"sim-{decision_id}-{event}"})
        response.raise_for_status()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
