"""The simulated contact center (SimPy): shifts, queues, handle times, abandonment, callbacks.

Each queue has agents on duty per hour. Contacts wait in arrival order (inbound and invited
calls first, callbacks when an agent is otherwise idle); a caller who waits longer than their
patience hangs up. The live state is read as the engine's capacity snapshot.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpy

from kanaal.contact_center.erlang import erlang_c_metrics, required_agents
from kanaal.decisions.domain import QueueView
from kanaal.simulation.world import QueueSetup

RATE_WINDOW = 900.0  # seconds of arrivals the arrival-rate estimate looks at


@dataclass
class Contact:
    """One call or chat in a queue."""

    kind: str  # inbound, invited, callback
    arrived: float
    patience: float
    handle: float
    on_done: Callable[[bool, float], None] | None = None  # (answered, wait seconds)
    answered_at: float | None = None
    abandoned: bool = False


@dataclass
class QueueStats:
    """What happened in one queue."""

    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    # When background contacts (not invited prospects) hung up.
    abandoned_inbound: list[float] = field(default_factory=list)
    callbacks_done: int = 0
    callbacks_lost: int = 0
    busy_seconds: float = 0.0
    duty_seconds: float = 0.0
    waits: list[float] = field(default_factory=list)
    # (time, agents on duty, busy agents, queue length) samples every five minutes
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)

    @property
    def service_level(self) -> float:
        """Share of offered calls answered within the target (1.0 when none were offered)."""
        return self.answered_in_target / self.offered if self.offered else 1.0


class SimQueue:
    """One queue with its agents (SimPy processes) and its waiting contacts."""

    def __init__(self, env: simpy.Environment, setup: QueueSetup, rng: random.Random) -> None:
        self.env = env
        self.setup = setup
        self.rng = rng
        self.waiting: deque[Contact] = deque()
        self.callbacks: deque[Contact] = deque()
        self.busy = 0
        self.stats = QueueStats()
        self.arrivals: deque[float] = deque()
        self._wake = env.event()
        slots = max(setup.staffing) * setup.concurrency if setup.staffing else 0
        for slot in range(slots):
            env.process(self._agent(slot // setup.concurrency))
        env.process(self._sampler())

    def on_duty(self, at: float | None = None) -> int:
        """Agents on duty at a time (default: now)."""
        hour = int(((self.env.now if at is None else at) % 86400) // 3600)
        return self.setup.staffing[hour] if self.setup.staffing else 0

    def handle_time(self, mean: float) -> float:
        """A lognormal handle time with the queue's coefficient of variation."""
        sigma = math.sqrt(math.log(1 + self.setup.handle_cv**2))
        return math.exp(math.log(mean) - sigma**2 / 2 + self.rng.gauss(0.0, sigma))

    def offer(self, contact: Contact) -> None:
        """A contact joins the queue (callbacks wait for an idle agent)."""
        if contact.kind == "callback":
            self.callbacks.append(contact)
        else:
            self.stats.offered += 1
            self.waiting.append(contact)
        # Every contact is load on the queue, a callback too (it takes an agent later).
        self.arrivals.append(self.env.now)
        self._poke()

    def _poke(self) -> None:
        if not self._wake.triggered:
            self._wake.succeed()
        self._wake = self.env.event()

    def _next(self) -> Contact | None:
        now = self.env.now
        while self.waiting:
            contact = self.waiting.popleft()
            if now - contact.arrived > contact.patience:
                self._abandon(contact)
                continue
            return contact
        while self.callbacks:
            contact = self.callbacks.popleft()
            if now - contact.arrived > contact.patience:
                self.stats.callbacks_lost += 1
                if contact.on_done:
                    contact.on_done(False, now - contact.arrived)
                continue
            return contact
        return None

    def _abandon(self, contact: Contact) -> None:
        contact.abandoned = True
        self.stats.abandoned += 1
        if contact.kind == "inbound":
            self.stats.abandoned_inbound.append(contact.arrived + contact.patience)
        if contact.on_done:
            contact.on_done(False, contact.patience)

    def _agent(self, index: int) -> Any:
        while True:
            if index >= self.on_duty():
                yield self.env.timeout(300.0 - self.env.now % 300.0)
                continue
            contact = self._next()
            if contact is None:
                wake = self._wake
                yield wake | self.env.timeout(300.0 - self.env.now % 300.0 + 1e-6)
                continue
            wait = self.env.now - contact.arrived
            contact.answered_at = self.env.now
            if contact.kind == "callback":
                self.stats.callbacks_done += 1
            else:
                self.stats.answered += 1
                self.stats.waits.append(wait)
                if wait <= self.setup.target_answer_seconds:
                    self.stats.answered_in_target += 1
            self.busy += 1
            yield self.env.timeout(contact.handle)
            self.busy -= 1
            self.stats.busy_seconds += contact.handle / self.setup.concurrency
            if contact.on_done:
                contact.on_done(True, wait)

    def _sampler(self) -> Any:
        while True:
            duty = self.on_duty()
            self.stats.duty_seconds += duty * 300.0
            self.stats.samples.append((self.env.now, duty,
                                       math.ceil(self.busy / self.setup.concurrency),
                                       self.queue_length()))
            yield self.env.timeout(300.0)

    def queue_length(self) -> int:
        """Contacts waiting who have not hung up yet."""
        now = self.env.now
        return sum(1 for c in self.waiting if now - c.arrived <= c.patience)

    def idle_agents(self) -> int:
        """Agents on duty with room for one more contact."""
        return max(0, self.on_duty() - math.ceil(self.busy / self.setup.concurrency))

    def view(self) -> QueueView:
        """The queue's live capacity as the engine reads it (Erlang C on recent arrivals)."""
        now = self.env.now
        while self.arrivals and self.arrivals[0] < now - RATE_WINDOW:
            self.arrivals.popleft()
        # As the contact center's own snapshot (contact_center.domain.queue_capacity) does:
        # a chat agent is `concurrency` servers, each holding one chat for its whole handle
        # time; required and spare capacity are counted in those servers.
        servers = self.on_duty() * self.setup.concurrency
        handle = self.setup.inbound_handle_seconds
        per_second = len(self.arrivals) / RATE_WINDOW
        traffic = per_second * handle
        target = self.setup.target_answer_seconds
        # As the product's snapshot counts due callbacks in the queue's length, so does this.
        waiting = self.queue_length() + sum(
            1 for c in self.callbacks if now - c.arrived <= c.patience)
        wait: float | None
        if servers == 0:
            wait, level, needed = None, 0.0, 1
        else:
            metrics = erlang_c_metrics(servers, traffic, handle, target)
            wait = metrics.average_wait_seconds
            level = metrics.service_level if metrics.service_level is not None else 0.0
            needed = required_agents(traffic, handle, target, self.setup.target_service_level)
            if wait is not None and waiting:
                # People already waiting: the next caller waits for them too.
                wait += waiting * handle / servers
        over = servers == 0 or level < self.setup.target_service_level or (
            wait is not None and wait >= target)
        spare = max(0, servers - needed) * 15.0 if servers else 0.0
        return QueueView(queue=self.setup.name, channel=self.setup.channel,
                         available_agents=self.idle_agents(), queue_length=waiting,
                         handle_time_seconds=self.setup.sales_handle_seconds,
                         predicted_wait_seconds=wait, target_answer_seconds=target,
                         over_target=over, spare_agent_minutes_15=spare)


class SimContactCenter:
    """All queues of the run plus their background inbound load."""

    def __init__(self, env: simpy.Environment, queues: tuple[QueueSetup, ...],
                 profile: tuple[float, ...], days: int, seed: int) -> None:
        self.env = env
        self.queues = {q.channel: SimQueue(env, q, random.Random(f"{seed}:{q.name}"))
                       for q in queues}
        for channel, queue in self.queues.items():
            env.process(self._inbound(queue, profile, days,
                                      random.Random(f"{seed}:inbound:{channel}")))

    def _inbound(self, queue: SimQueue, profile: tuple[float, ...], days: int,
                 rng: random.Random) -> Any:
        """Background inbound contacts (service questions): a Poisson process by the hour."""
        peak = max(profile)
        rate_max = queue.setup.inbound_per_hour * peak / 3600.0
        end = days * 86400.0
        while rate_max > 0:
            yield self.env.timeout(rng.expovariate(rate_max))
            now = self.env.now
            if now >= end:
                return
            hour = int((now % 86400) // 3600)
            if rng.random() * peak > profile[hour] or queue.on_duty() == 0:
                continue  # thinning: fewer calls in quiet hours, none while closed
            queue.offer(Contact(kind="inbound", arrived=now,
                                patience=rng.expovariate(1.0 / queue.setup.patience_seconds),
                                handle=queue.handle_time(queue.setup.inbound_handle_seconds)))

    def snapshot(self) -> dict[str, QueueView]:
        """Every queue's live capacity, keyed by queue name."""
        return {q.setup.name: q.view() for q in self.queues.values()}
