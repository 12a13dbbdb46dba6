"""Pure rules of the web touchpoints: browser origins, languages and callback context."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

LANGUAGES = ("en", "nl")
MAX_PAGES = 10
# Paths pages call from the visitor's browser: event intake, decisions, widgets, chat, and the
# publisher tag's invitations and bookings.
BROWSER_PREFIXES = ("/v1/decisions", "/v1/touchpoints/", "/v1/chat/", "/v1/publisher/")
BROWSER_PATHS = frozenset(f"/v1/{kind}" for kind in (
    "identify", "track", "page", "screen", "group", "alias", "batch"))
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def is_browser_path(path: str) -> bool:
    """Whether `path` is an endpoint that shop pages call from the visitor's browser."""
    return path in BROWSER_PATHS or path.startswith(BROWSER_PREFIXES)


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL or Origin header, lower-cased; None when malformed."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in {"http", "https", "ws", "wss"} or not parts.hostname:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    default = {"http": 80, "https": 443}[scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def origin_allowed(origin: str | None, own_origin: str, allowed: list[str]) -> bool:
    """A request without Origin (servers), from Kanaal itself or from a configured shop."""
    if origin is None:
        return True
    normalised = origin_of(origin)
    if normalised is None:
        return False
    if normalised == origin_of(own_origin):
        return True
    return any(normalised == origin_of(item) or item.strip() == "*" for item in allowed)


def pick_language(requested: str | None) -> str:
    """`nl` for Dutch pages (nl, nl-NL, nl-BE), English otherwise."""
    code = (requested or "").strip().lower()[:2]
    return code if code in LANGUAGES else "en"


def callback_context(*, decision_id: str | None, cart: dict[str, Any] | None,
                     pages: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """What the agent sees with a callback requested from the web widget."""
    return {
        "source": "web_widget",
        "decision_id": decision_id,
        "cart": cart,
        "pages": pages[-MAX_PAGES:],
        "language": pick_language(lang),
        "reason": "callback requested on the website",
    }


def pick_callback_queue(queues: list[tuple[str, str, str]], requested: str | None,
                        configured: str | None) -> str | None:
    """The callback queue for a widget request: (name, skill, channel) rows in, a name out.

    The requested queue if it takes callbacks; else a callback queue of the requested queue's
    skill; else the configured one; else the first callback queue.
    """
    callback = [(name, skill) for name, skill, channel in queues if channel == "callback"]
    if not callback:
        return None
    names = [name for name, _ in callback]
    if requested in names:
        return requested
    skill = next((s for name, s, _ in queues if name == requested), None)
    same_skill = [name for name, s in callback if s == skill]
    if same_skill:
        return same_skill[0]
    if configured in names:
        return configured
    return names[0]
