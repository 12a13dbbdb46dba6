"""A simulated day at accelerated speed, driving a running server over its HTTP API.

Visitors of the normal-day scenario ask POST /v1/decisions and report their outcomes; the
simulated contact center's busy agents are mirrored onto the demo agents' states, so the
capacity the engine reads, the dashboard and the agent desk all move; and every contact the
simulated agents answer is logged as a finished interaction with its wait, so the dashboard's
actual wait moves beside the predicted one.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import simpy.rt

from kanaal.simulation.engines import HttpEngine
from kanaal.simulation.runner import _Day
from kanaal.simulation.world import generate_visitors, load_scenario

log = logging.getLogger(__name__)
START_HOUR = 8
SYNC_SECONDS = 30.0  # simulated seconds between agent-state updates
# Simulated queue channel -> (demo queue, interaction kind).
QUEUES = {"phone": ("sales", "call"), "chat": ("chat", "chat")}


class _Stop(Exception):
    """Raised inside the simulation when the demo is stopped."""


class Driver:
    """Runs in a background thread until stopped or the simulated day ends."""

    def __init__(self, base_url: str, demo: dict[str, Any], *, speed: float, seed: int = 7
                 ) -> None:
        self.base_url = base_url
        self.demo = demo
        self.speed = speed
        self.seed = seed
        self.stop = threading.Event()
        self.errors = 0
        self.thread = threading.Thread(target=self._run, name="kanaal-demo-driver", daemon=True)
        self.admin = httpx.Client(base_url=base_url, timeout=10.0, headers={
            "Authorization": f"Bearer {demo['keys']['admin']}"})
        self._states: dict[str, str] = {}
        self._reported: dict[str, int] = {}  # answered waits already logged, per channel

    def start(self) -> None:
        """Start the simulated day."""
        self.thread.start()

    def close(self) -> None:
        """Stop and wait for the thread."""
        self.stop.set()
        self.thread.join(timeout=10)
        self.admin.close()

    def _run(self) -> None:
        scenario = load_scenario("normal_day").window(START_HOUR, 22)
        env = simpy.rt.RealtimeEnvironment(initial_time=START_HOUR * 3600.0,
                                           factor=1.0 / self.speed, strict=False)
        engine = _TolerantEngine(HttpEngine(self.base_url, self.demo["keys"]["web_write"]), self)
        day = _Day(scenario, generate_visitors(scenario, self.seed), "kanaal", engine,
                   seed=self.seed, env=env)
        env.process(self._mirror(day))
        try:
            day.run()
        except _Stop:
            pass
        except Exception:  # noqa: BLE001 - the demo server keeps running without the driver
            log.exception("the demo's simulated day stopped")
        finally:
            engine.close()

    def _mirror(self, day: _Day) -> Any:
        """Mirror the simulated busy agents onto the demo agents every SYNC_SECONDS."""
        by_skill: dict[str, list[str]] = {"sales": [], "chat": []}
        for agent in self.demo["agents"]:
            by_skill[agent["skill"]].append(agent["id"])
        while True:
            if self.stop.is_set():
                raise _Stop
            for skill, channel in (("sales", "phone"), ("chat", "chat")):
                queue = day.cc.queues.get(channel)
                if queue is None:
                    continue
                duty = queue.on_duty()
                busy = min(duty, -(-queue.busy // queue.setup.concurrency))
                for n, agent_id in enumerate(by_skill[skill]):
                    state = "offline" if n >= duty else ("busy" if n < busy else "available")
                    self._set_state(agent_id, state)
                self._report_waits(channel, queue.stats.waits)
            yield day.env.timeout(SYNC_SECONDS)

    def _report_waits(self, channel: str, waits: list[float]) -> None:
        """Log the contacts answered since the last sync as finished interactions whose wait
        is the simulated one (in simulated seconds, as the predicted wait is)."""
        done = self._reported.get(channel, 0)
        queue, kind = QUEUES[channel]
        for wait in waits[done:]:
            started = datetime.now(UTC) - timedelta(seconds=1)
            body = {"kind": kind, "queue": queue, "outcome": "no_sale",
                    "started_at": started.isoformat(),
                    "queued_at": (started - timedelta(seconds=wait)).isoformat(),
                    "notes": "simulated by kanaal demo"}
            try:
                self.admin.post("/v1/interactions", json=body).raise_for_status()
            except httpx.HTTPError as exc:
                self.errors += 1
                log.warning("could not log a simulated %s: %s", kind, exc)
        self._reported[channel] = len(waits)

    def _set_state(self, agent_id: str, state: str) -> None:
        current = self._states.get(agent_id, "offline")
        steps = {("offline", "busy"): ["available", "busy"],
                 ("busy", "offline"): ["available", "offline"]}.get((current, state), [state])
        if current == state:
            return
        try:
            for step in steps:
                self._put(agent_id, step)
                current = step
        except httpx.HTTPError as exc:
            self.errors += 1
            log.warning("could not set agent %s to %s: %s", agent_id, state, exc)
        self._states[agent_id] = current

    def _put(self, agent_id: str, state: str) -> None:
        self.admin.put(f"/v1/agents/{agent_id}/state", json={"state": state}).raise_for_status()


class _TolerantEngine:
    """The HTTP engine, but a failed request costs one visitor, not the demo."""

    def __init__(self, inner: HttpEngine, driver: Driver) -> None:
        self.inner = inner
        self.driver = driver

    def decide(self, request: dict[str, Any], at: float) -> Any:
        """Ask the server; on failure the visitor gets nothing."""
        from kanaal.simulation.engines import Answer

        if self.driver.stop.is_set():
            raise _Stop
        try:
            return self.inner.decide(request, at)
        except httpx.HTTPError as exc:
            if self.driver.stop.is_set():
                raise _Stop from exc
            self.driver.errors += 1
            log.warning("decision request failed: %s", exc)
            return Answer("", "none", None)

    def outcome(self, decision_id: str, event: str, at: float,
                margin: float | None = None) -> None:
        """Report an outcome; failures are logged and skipped."""
        if not decision_id or self.driver.stop.is_set():
            return
        try:
            self.inner.outcome(decision_id, event, at, margin)
        except httpx.HTTPError as exc:
            self.driver.errors += 1
            log.warning("outcome report failed: %s", exc)

    def close(self) -> None:
        """Close the client."""
        self.inner.close()
