"""Frequency caps and dismissal cool-downs, kept in the live store per subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kanaal.core.live import LiveStore
from kanaal.decisions.domain import ALL_ACTIONS, ActionType


@dataclass(frozen=True)
class CapLimits:
    """Proposals (anything but nothing) per session and per day; re-offer pause after dismissal."""

    per_session: int = 2
    per_day: int = 4
    session_minutes: float = 30.0
    dismissal_cooldown_minutes: float = 240.0

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> CapLimits:
        """Build from `decisions.caps` in kanaal.toml."""
        base = cls()
        raw = raw or {}
        return cls(
            per_session=int(raw.get("per_session", base.per_session)),
            per_day=int(raw.get("per_day", base.per_day)),
            session_minutes=float(raw.get("session_minutes", base.session_minutes)),
            dismissal_cooldown_minutes=float(raw.get("dismissal_cooldown_minutes",
                                                     base.dismissal_cooldown_minutes)),
        )


def blocked_actions(session_count: int, day_count: int, dismissed: dict[str, float],
                    now: float, limits: CapLimits) -> dict[ActionType, str]:
    """Pure rule: which actions the caps and cool-downs block, with the reason."""
    blocked: dict[ActionType, str] = {}
    if session_count >= limits.per_session:
        reason = f"frequency cap: {limits.per_session} proposals this session"
    elif day_count >= limits.per_day:
        reason = f"frequency cap: {limits.per_day} proposals today"
    else:
        reason = ""
    for action in ALL_ACTIONS:
        if action is ActionType.NONE:
            continue
        if reason:
            blocked[action] = reason
            continue
        until = dismissed.get(action.value)
        if until is not None and until > now:
            minutes = (until - now) / 60.0
            blocked[action] = f"dismissed recently: not offered again for {minutes:.0f} minutes"
    return blocked


@dataclass
class Caps:
    """Counters and dismissals of one subject in the live store."""

    live: LiveStore
    limits: CapLimits

    def _keys(self, subject: str, now: datetime) -> tuple[str, str, str]:
        day = f"{now.year:04d}{now.month:02d}{now.day:02d}"  # as %Y%m%d, without strftime
        return (f"decisions:cap:session:{subject}", f"decisions:cap:day:{subject}:{day}",
                f"decisions:dismissed:{subject}")

    def blocked(self, subject: str, now: datetime) -> dict[ActionType, str]:
        """The actions blocked for this subject now."""
        session_key, day_key, dismissed_key = self._keys(subject, now)
        # incr by 0 reads a counter on every live store (with the TTL it would get anyway).
        session_count = self.live.incr(session_key, 0,
                                       ttl_seconds=self.limits.session_minutes * 60)
        day_count = self.live.incr(day_key, 0, ttl_seconds=86_400)
        dismissed = self.live.get_json(dismissed_key) or {}
        return blocked_actions(session_count, day_count, dismissed, now.timestamp(), self.limits)

    def count_proposal(self, subject: str, now: datetime) -> None:
        """Count one proposal against the session and day caps."""
        session_key, day_key, _ = self._keys(subject, now)
        self.live.incr(session_key, ttl_seconds=self.limits.session_minutes * 60)
        self.live.incr(day_key, ttl_seconds=86_400)

    def dismiss(self, subject: str, action: str, now: datetime) -> None:
        """Pause re-offering `action` to this subject for the cool-down."""
        _, _, dismissed_key = self._keys(subject, now)
        cooldown = self.limits.dismissal_cooldown_minutes * 60
        dismissed = {k: v for k, v in (self.live.get_json(dismissed_key) or {}).items()
                     if v > now.timestamp()}
        dismissed[action] = now.timestamp() + cooldown
        self.live.put_json(dismissed_key, dismissed, ttl_seconds=cooldown)
