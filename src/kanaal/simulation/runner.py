"""Run a scenario: the same visitors and contact-center load under every policy (SimPy)."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import simpy

from kanaal.decisions.domain import QueueView
from kanaal.simulation.contact_center import Contact, SimContactCenter
from kanaal.simulation.engines import Engine, HttpEngine, InProcessEngine
from kanaal.simulation.world import (
    ACTION_QUEUE,
    SIM_ACTIONS,
    Scenario,
    Visitor,
    accept_probability,
    generate_visitors,
)

POLICIES = ("never", "always", "capacity_only", "propensity_only", "kanaal", "oracle")
BASELINES = ("never", "always", "capacity_only", "propensity_only")
BLOCK_SECONDS = 3 * 3600.0  # the learning curve's resolution
OUTCOME_BATCH_SECONDS = 300.0


@dataclass
class PolicyResult:
    """Everything measured for one policy over the run."""

    policy: str
    visitors: int = 0
    profit: float = 0.0
    margin: float = 0.0
    contact_cost: float = 0.0
    # (time, cost) of each abandoned background contact: what a policy's load on the queues
    # costs the customers who called on their own (not attributed to any visitor).
    service_costs: list[tuple[float, float]] = field(default_factory=list)
    conversions: Counter[str] = field(default_factory=Counter)
    invitations: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    contacts: int = 0
    cannibalized: int = 0
    idle_routed: int = 0  # contacted visitors invited while the queue had idle agents
    idle_routed_bought: int = 0
    phone_invites_over_target: int = 0
    decisions_idle: int = 0
    invites_idle: int = 0
    decisions_busy: int = 0
    invites_busy: int = 0
    service_level: dict[str, float] = field(default_factory=dict)
    target_service_level: dict[str, float] = field(default_factory=dict)
    abandoned: dict[str, int] = field(default_factory=dict)
    occupancy: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)
    per_visitor: list[float] = field(default_factory=list)  # profit per visitor, run order
    # Expected profit per visitor: as per_visitor, with each purchase draw replaced by its
    # probability for the visitor's type (invitations, acceptances, queues and costs as they
    # happened). It measures the same profit without the noise of a few dozen purchases.
    expected_per_visitor: list[float] = field(default_factory=list)
    expected_profit: float = 0.0
    times: list[float] = field(default_factory=list)

    @property
    def service_cost(self) -> float:
        """The cost of every abandoned background contact of the run."""
        return sum(cost for _, cost in self.service_costs)

    @property
    def idle_conversion(self) -> float | None:
        """Conversion of visitors routed to an agent while agents were idle."""
        return self.idle_routed_bought / self.idle_routed if self.idle_routed else None

    @property
    def invite_rate_idle(self) -> float:
        """Invitations per decision while the phone queue had an idle agent."""
        return self.invites_idle / self.decisions_idle if self.decisions_idle else 0.0

    @property
    def invite_rate_busy(self) -> float:
        """Invitations per decision while no phone agent was idle."""
        return self.invites_busy / self.decisions_busy if self.decisions_busy else 0.0

    def holds_service_level(self) -> bool:
        """True when every queue answered its target share within the target time."""
        return all(level >= self.target_service_level[name]
                   for name, level in self.service_level.items())


@dataclass
class RunResult:
    """One scenario under every policy."""

    scenario: Scenario
    seed: int
    results: dict[str, PolicyResult]
    http: str | None = None

    def incremental(self, policy: str) -> float:
        """Expected profit above doing nothing (what the checks compare)."""
        return self.results[policy].expected_profit - self.results["never"].expected_profit

    def realized_incremental(self, policy: str) -> float:
        """Profit above doing nothing, with the purchases as they were drawn."""
        return self.results[policy].profit - self.results["never"].profit

    def oracle_share(self, policy: str) -> float | None:
        """A policy's share of the oracle's expected incremental profit."""
        best = self.incremental("oracle")
        return self.incremental(policy) / best if best > 0 else None

    def curve(self, policy: str = "kanaal") -> list[tuple[float, float | None]]:
        """(hours since start, share of the oracle's incremental profit) per block of time."""
        points: list[tuple[float, float | None]] = []
        never, oracle, mine = (self.results[p] for p in ("never", "oracle", policy))
        end = max(mine.times, default=0.0)
        start = 0.0
        while start <= end:
            def total(r: PolicyResult, lo: float = start) -> float:
                return sum(p for p, t in zip(r.expected_per_visitor, r.times, strict=True)
                           if lo <= t < lo + BLOCK_SECONDS) - sum(
                    c for t, c in r.service_costs if lo <= t < lo + BLOCK_SECONDS)
            best = total(oracle) - total(never)
            points.append(((start + BLOCK_SECONDS) / 3600.0,
                           (total(mine) - total(never)) / best if best > 0 else None))
            start += BLOCK_SECONDS
        return points


class _Day:
    """One policy's pass over the visitors, inside a SimPy environment."""

    def __init__(self, scenario: Scenario, visitors: list[Visitor], policy: str,
                 engine: Engine | None, *, seed: int,
                 env: simpy.Environment | None = None) -> None:
        self.s = scenario
        self.visitors = visitors
        self.policy = policy
        self.engine = engine
        self.env = env or simpy.Environment()
        self.cc = SimContactCenter(self.env, scenario.queues, scenario.profile,
                                   scenario.days, seed)
        self.r = PolicyResult(policy=policy)
        self.profit_of: dict[str, float] = {}
        self.expected_of: dict[str, float] = {}
        # Outcomes reach the engine in batches every few simulated minutes, as touchpoints
        # report them: one decision-log write per batch instead of one per outcome.
        self.pending: list[tuple[str, str, float | None]] = []
        self.by_type: Counter[str] = Counter()

    def _report(self, decision: str | None, event: str, margin: float | None = None) -> None:
        if decision and self.engine is not None:
            self.pending.append((decision, event, margin))

    def _flush(self) -> None:
        if self.engine is not None:
            batch, self.pending = self.pending, []
            for decision, event, margin in batch:
                self.engine.outcome(decision, event, self.env.now, margin)

    def _reporter(self) -> Any:
        while True:
            yield self.env.timeout(OUTCOME_BATCH_SECONDS)
            self._flush()

    def run(self) -> PolicyResult:
        """Play the day and collect the figures."""
        self.env.process(self._arrivals())
        self.env.process(self._reporter())
        self.env.run(until=self.s.days * 86400.0 + 3600.0)
        self._flush()
        for channel, queue in self.cc.queues.items():
            name = queue.setup.name
            stats = queue.stats
            self.r.service_level[name] = stats.service_level
            self.r.target_service_level[name] = queue.setup.target_service_level
            self.r.abandoned[name] = stats.abandoned
            cost = queue.setup.abandon_cost_at(self.s.cost_per_minute)
            self.r.service_costs.extend((at, cost) for at in stats.abandoned_inbound)
            self.r.waits[name] = sum(stats.waits) / len(stats.waits) if stats.waits else 0.0
            self.r.occupancy[channel] = [(t / 3600.0, busy / duty if duty else 0.0)
                                         for t, duty, busy, _ in stats.samples]
        self.r.per_visitor = [self.profit_of[v.id] for v in self.visitors]
        self.r.times = [v.at for v in self.visitors]
        self.r.profit = sum(self.r.per_visitor) - self.r.service_cost
        self.r.expected_per_visitor = [self.expected_of[v.id] for v in self.visitors]
        self.r.expected_profit = sum(self.r.expected_per_visitor) - self.r.service_cost
        return self.r

    def _arrivals(self) -> Any:
        for v in self.visitors:
            if v.at > self.env.now:
                yield self.env.timeout(v.at - self.env.now)
            self.r.visitors += 1
            self.profit_of[v.id] = 0.0
            self.expected_of[v.id] = 0.0
            self._visit(v)

    def _buy(self, v: Visitor, channel: str, margin: float, decision: str | None) -> None:
        self.profit_of[v.id] += margin
        self.r.margin += margin
        self.r.conversions[channel] += 1
        self._report(decision, "converted", margin)

    def _choose(self, v: Visitor) -> tuple[str, str | None]:
        """The action for a visitor: the engine's answer, or the oracle's."""
        if self.policy == "oracle":
            return self._oracle(v), None
        if self.engine is None:
            return "none", None
        answer = self.engine.decide(v.request(SIM_ACTIONS), self.env.now)
        return answer.action, answer.decision_id

    def _oracle(self, v: Visitor) -> str:
        """Knows the type and the true capacity: only persuadables, only onto an idle agent."""
        if v.kind != "persuadable":
            return "none"
        for action, channel in (("call_now", "phone"), ("chat_invite", "chat")):
            queue = self.cc.queues.get(channel)
            if queue is not None and queue.idle_agents() > 0 and queue.queue_length() == 0:
                return action
        return "none"

    def _expect(self, v: Visitor, p_buy: float, margin: float) -> None:
        """The purchase's expected margin, beside the drawn one."""
        self.expected_of[v.id] += p_buy * margin

    def _visit(self, v: Visitor) -> None:
        b = self.s.behaviour[v.kind]
        if v.channel == "store":  # bought or not in the store; no touchpoint decision
            self._expect(v, b.self_buy, v.margin)
            if v.u_self < b.self_buy:
                self._buy(v, "store", v.margin, None)
            return
        phone = self.cc.queues.get("phone")
        idle = phone is not None and phone.idle_agents() > 0 and phone.queue_length() == 0
        over = phone is not None and phone.view().over_target
        action, decision = self._choose(v)
        invited = action != "none"
        if idle:
            self.r.decisions_idle += 1
            self.r.invites_idle += invited
        else:
            self.r.decisions_busy += 1
            self.r.invites_busy += invited
        if not invited:
            self._expect(v, b.self_buy, v.margin)
            if v.u_self < b.self_buy:
                self._buy(v, v.channel, v.margin, decision)
            return
        self.r.invitations[action] += 1
        if ACTION_QUEUE.get(action) == "phone" and over:
            self.r.phone_invites_over_target += 1
        self.by_type[v.kind] += 1
        if v.u_accept >= accept_probability(b, action):
            self._report(decision, "shown")
            self._expect(v, b.annoyed_buy, v.margin)
            if v.u_self < b.annoyed_buy:
                self._buy(v, v.channel, v.margin, decision)
            return
        self.r.accepted += 1
        self._report(decision, "accepted")
        queue = self.cc.queues.get(ACTION_QUEUE.get(action, "phone"))
        if queue is None:
            return
        idle_now = queue.idle_agents() > 0 and queue.queue_length() == 0
        kind = "callback" if action == "callback_offer" else "invited"
        patience = 1800.0 if kind == "callback" else (
            queue.setup.patience_seconds * 2 * (0.25 + v.u_patience))
        handle = queue.handle_time(queue.setup.sales_handle_seconds)
        contact = Contact(kind=kind, arrived=self.env.now, patience=patience, handle=handle)
        contact.on_done = self._after_contact(v, action, decision, handle, idle_now,
                                              queue.setup.concurrency)
        delay = 120.0 if action == "show_phone" else 0.0
        if delay:
            self.env.process(self._later(delay, lambda: queue.offer(contact)))
        else:
            queue.offer(contact)

    def _later(self, delay: float, then: Callable[[], None]) -> Any:
        yield self.env.timeout(delay)
        then()

    def _after_contact(self, v: Visitor, action: str, decision: str | None, handle: float,
                       idle_now: bool, concurrency: int) -> Callable[[bool, float], None]:
        b = self.s.behaviour[v.kind]

        def done(answered: bool, _wait: float) -> None:
            if answered and action == "callback_offer" and v.u_callback >= self.s.callback_answer:
                answered = False  # called back, but the prospect did not pick up
                self._cost(v, 1.0)
            if not answered:
                self._expect(v, b.annoyed_buy, v.margin)
                if v.u_self < b.annoyed_buy:
                    self._buy(v, v.channel, v.margin, decision)
                return
            self.r.contacts += 1
            self._cost(v, handle / 60.0 / concurrency)
            if v.u_self < b.self_buy:
                self.r.cannibalized += 1
            chat = action == "chat_invite"
            upsell = self.s.upsell_share / (4 if chat else 1)
            p_buy = b.chat_buy if chat else b.assisted_buy
            self._expect(v, p_buy, v.margin * (1 + upsell))
            bought = v.u_buy < p_buy
            if idle_now:
                self.r.idle_routed += 1
                self.r.idle_routed_bought += bought
            if bought:
                self._buy(v, "chat" if chat else "phone", v.margin * (1 + upsell), decision)

        return done

    def _cost(self, v: Visitor, minutes: float) -> None:
        cost = minutes * self.s.cost_per_minute
        self.profit_of[v.id] -= cost
        self.expected_of[v.id] -= cost
        self.r.contact_cost += cost


def _snapshot_of(holder: dict[str, _Day]) -> Callable[[], dict[str, QueueView]]:
    """The live capacity of whichever simulated day the holder points at."""
    return lambda: holder["day"].cc.snapshot()


def _warm_template(scenario: Scenario, seed: int, base: Path) -> Path:
    """A database in which the engine (policy kanaal) has already lived through one day."""
    warm = replace(scenario, days=1)
    holder: dict[str, _Day] = {}
    engine = InProcessEngine(policy="kanaal", scenario=scenario, workdir=base, seed=seed,
                             snapshot=lambda: holder["day"].cc.snapshot(), keep=True)
    holder["day"] = _Day(warm, generate_visitors(warm, seed + 1000), "kanaal", engine,
                         seed=seed + 1000)
    holder["day"].run()
    engine.close()
    return engine.directory / "kanaal.db"


def run_scenario(scenario: Scenario, *, seed: int | None = None,
                 policies: tuple[str, ...] = POLICIES, http: str | None = None,
                 http_key: str | None = None, workdir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> RunResult:
    """Run every policy on the same visitors and inbound load; the engine learns as it goes.

    `never` is the holdout (nobody is asked anything) and `oracle` the upper bound; the
    other policies each get their own engine, warmed up by one day of history unless the
    scenario is a cold start. With `http`, the engine of a running server answers instead
    (it then decides with its own policy, clock and contact center).
    """
    seed = scenario.seed if seed is None else seed
    visitors = generate_visitors(scenario, seed)
    results: dict[str, PolicyResult] = {}
    needed = tuple(dict.fromkeys(("never", "oracle", *policies)))
    # tmpfs when there is one: the engine's SQLite commits then cost no disk flush.
    scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="kanaal-sim-", dir=scratch) as tmp:
        base = workdir or Path(tmp)
        template: Path | None = None
        if scenario.warm_start and not http and set(needed) - {"never", "oracle"}:
            if progress:
                progress("warm-up")
            template = _warm_template(scenario, seed, base)
        for policy in needed:
            if progress:
                progress(policy)
            engine: Engine | None = None
            holder: dict[str, _Day] = {}
            if policy not in {"never", "oracle"}:
                if http:
                    engine = HttpEngine(http, http_key or "")
                else:
                    engine = InProcessEngine(
                        policy=policy, scenario=scenario, workdir=base, seed=seed,
                        snapshot=_snapshot_of(holder),
                        template=template, offset=86400.0 + 3600.0 if template else 0.0)
            day = _Day(scenario, visitors, policy, engine, seed=seed)
            holder["day"] = day
            try:
                results[policy] = day.run()
            finally:
                if engine is not None:
                    engine.close()
    return RunResult(scenario=scenario, seed=seed, results=results, http=http)
