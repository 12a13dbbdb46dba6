"""Queueing math for the capacity model: Erlang B, Erlang C and Erlang A. Pure stdlib.

Erlang B is computed by its recurrence, Erlang C is derived from it, so no factorial or power
of a large number is ever formed. Erlang A (M/M/n+M, callers abandon after an exponential
patience) uses the birth-death chain's stationary distribution built from ratios, and its
service level by uniformization of the "callers ahead of me" chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Queue states beyond this many waiting callers carry negligible probability in Erlang A.
_MAX_WAITING = 100_000
_LOG_TAIL = -40.0  # e**-40: terms this much below the peak are dropped


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """What a queue model predicts for `agents` servers under `traffic` Erlangs.

    When the queue is unstable (no abandonment and agents <= traffic) it grows without bound:
    `stable` is False and the wait and service level are None instead of a number.
    """

    agents: int
    traffic: float
    stable: bool
    waiting_probability: float
    average_wait_seconds: float | None
    service_level: float | None
    abandon_probability: float = 0.0


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of an M/M/n/n system with `traffic` Erlangs (recurrence form)."""
    if agents < 0:
        raise ValueError("agents must be >= 0")
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be a finite number >= 0")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def erlang_c(agents: int, traffic: float) -> float | None:
    """Probability that a caller waits (Erlang C); None when agents <= traffic (unstable)."""
    if traffic == 0 and agents > 0:
        return 0.0
    if agents <= traffic:
        return None
    blocking = erlang_b(agents, traffic)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c_metrics(
    agents: int, traffic: float, handle_seconds: float, answer_seconds: float
) -> QueueMetrics:
    """Erlang C wait probability, average speed of answer and service level."""
    _check_times(handle_seconds, answer_seconds)
    waiting = erlang_c(agents, traffic)
    if waiting is None:
        return QueueMetrics(agents, traffic, False, 1.0, None, None)
    if waiting == 0.0:
        return QueueMetrics(agents, traffic, True, 0.0, 0.0, 1.0)
    spare = agents - traffic
    average_wait = waiting * handle_seconds / spare
    level = 1.0 - waiting * math.exp(-spare * answer_seconds / handle_seconds)
    return QueueMetrics(agents, traffic, True, waiting, average_wait, min(1.0, max(0.0, level)))


def erlang_a_metrics(
    agents: int,
    traffic: float,
    handle_seconds: float,
    answer_seconds: float,
    patience_seconds: float,
) -> QueueMetrics:
    """Erlang A (M/M/n+M): callers abandon after an exponential patience; always stable."""
    _check_times(handle_seconds, answer_seconds)
    if patience_seconds <= 0 or not math.isfinite(patience_seconds):
        raise ValueError("patience must be a finite number of seconds > 0")
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be a finite number >= 0")
    if traffic == 0:
        return QueueMetrics(agents, traffic, True, 0.0, 0.0, 1.0 if agents > 0 else 0.0)
    mu = 1.0 / handle_seconds
    theta = 1.0 / patience_seconds
    arrival = traffic * mu
    free, waiting = _erlang_a_distribution(agents, traffic, arrival, mu, theta)
    # PASTA: an arrival sees the stationary state; finding j waiting it queues behind them.
    wait_probability = sum(waiting)
    mean_queue = sum(j * p for j, p in enumerate(waiting))
    answered_in_time = _answered_within(agents, mu, theta, waiting, answer_seconds)
    return QueueMetrics(
        agents,
        traffic,
        True,
        min(1.0, wait_probability),
        mean_queue / arrival,  # Little's law over the waiting room
        min(1.0, max(0.0, free + answered_in_time)),
        min(1.0, max(0.0, theta * mean_queue / arrival)),
    )


def _erlang_a_distribution(
    agents: int, traffic: float, arrival: float, mu: float, theta: float
) -> tuple[float, list[float]]:
    """P(an agent is free) and P(all agents busy with j callers waiting) for j = 0, 1, ...

    Worked in logarithms relative to "all agents busy, nobody waiting", so neither large
    staffing nor heavy traffic overflows.
    """
    logs_free = []
    log_p = 0.0
    for k in range(agents, 0, -1):  # state k-1 relative to state k: k / traffic
        log_p += math.log(k) - math.log(traffic)
        logs_free.append(log_p)
    logs_waiting = [0.0]
    log_p = 0.0
    peak = max([0.0, *logs_free])
    for j in range(1, _MAX_WAITING):
        step = arrival / (agents * mu + j * theta)
        log_p += math.log(step)
        logs_waiting.append(log_p)
        peak = max(peak, log_p)
        if step < 1.0 and log_p < peak + _LOG_TAIL:
            break
    free = [math.exp(v - peak) for v in logs_free]
    waiting = [math.exp(v - peak) for v in logs_waiting]
    total = sum(free) + sum(waiting)
    return sum(free) / total, [p / total for p in waiting]


def _answered_within(
    agents: int, mu: float, theta: float, waiting: list[float], seconds: float
) -> float:
    """Share of all arrivals that wait and are answered within `seconds`.

    With i callers ahead the caller's position improves at rate n*mu + i*theta (a service or
    an abandonment ahead) and the caller hangs up at rate theta. Uniformization at rate R
    turns this into a discrete chain; P(answered by t) = sum_m Poisson(m; R t) * P(answered
    within m steps).
    """
    rate = agents * mu + len(waiting) * theta
    lam = rate * seconds
    mass = list(waiting)
    answered = 0.0
    total = 0.0
    weight_left = 1.0
    log_poisson = -lam
    steps = int(lam + 12.0 * math.sqrt(lam) + 30)
    for m in range(steps + 1):
        if m > 0:
            log_poisson += math.log(lam) - math.log(m)
            moved = [0.0] * len(mass)
            for i, p in enumerate(mass):
                if p == 0.0:
                    continue
                advance = (agents * mu + i * theta) / rate
                if i == 0:
                    answered += p * advance
                else:
                    moved[i - 1] += p * advance
                moved[i] += p * (1.0 - advance - theta / rate)
            mass = moved
        poisson = math.exp(log_poisson)
        total += poisson * answered
        weight_left -= poisson
    # Whatever Poisson weight lies beyond the last step is at least `answered` by then.
    return total + max(0.0, weight_left) * answered


def required_agents(
    traffic: float,
    handle_seconds: float,
    answer_seconds: float,
    target: float,
    patience_seconds: float | None = None,
    *,
    limit: int = 100_000,
) -> int:
    """The fewest agents whose service level reaches `target` (0 when there is no traffic)."""
    if not 0.0 <= target <= 1.0:
        raise ValueError("target service level must be within 0..1")
    if traffic == 0:
        return 0
    if patience_seconds is None:
        return _required_erlang_c(traffic, handle_seconds, answer_seconds, target, limit)

    def reaches(agents: int) -> bool:
        level = erlang_a_metrics(agents, traffic, handle_seconds, answer_seconds,
                                 patience_seconds).service_level
        return level is not None and level >= target

    # The service level rises with every agent added, so double to a bound, then bisect.
    high = max(1, math.ceil(traffic))
    while not reaches(high):
        if high >= limit:
            raise ValueError("no staffing up to the limit reaches the target")
        high = min(limit, high * 2)
    low = 0  # reaches(low) is False: no agents answer nobody
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def _required_erlang_c(
    traffic: float, handle_seconds: float, answer_seconds: float, target: float, limit: int
) -> int:
    """One pass of the Erlang B recurrence, testing each stable staffing level in turn."""
    _check_times(handle_seconds, answer_seconds)
    blocking = 1.0
    for agents in range(1, limit + 1):
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic:
            continue
        spare = agents - traffic
        waiting = agents * blocking / (agents - traffic * (1.0 - blocking))
        if 1.0 - waiting * math.exp(-spare * answer_seconds / handle_seconds) >= target:
            return agents
    raise ValueError("no staffing up to the limit reaches the target")


def queue_metrics(
    agents: int,
    traffic: float,
    handle_seconds: float,
    answer_seconds: float,
    patience_seconds: float | None = None,
) -> QueueMetrics:
    """Erlang A when a patience is given, Erlang C otherwise."""
    if patience_seconds is None:
        return erlang_c_metrics(agents, traffic, handle_seconds, answer_seconds)
    return erlang_a_metrics(agents, traffic, handle_seconds, answer_seconds, patience_seconds)


def _check_times(handle_seconds: float, answer_seconds: float) -> None:
    if handle_seconds <= 0 or not math.isfinite(handle_seconds):
        raise ValueError("handle time must be a finite number of seconds > 0")
    if answer_seconds < 0 or not math.isfinite(answer_seconds):
        raise ValueError("answer target must be a finite number of seconds >= 0")
