"""The desk's chat page: rendered with the desk's layout (templates of kanaal.web) and ours."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kanaal import __version__
from kanaal.web.render import SECURITY_HEADERS, TEMPLATES, format_money, format_when

OWN_TEMPLATES = Path(__file__).parent / "templates"
ERRORS = {
    "chat_taken": "Another agent took this chat.",
    "agent_at_capacity": "You have as many chats as you can take.",
    "invalid_phone": "That is not a valid phone number.",
    "no_callback_queue": "No queue takes callbacks.",
    "message_too_long": "The message is too long.",
    "empty_message": "The message is empty.",
    "not_your_chat": "This chat is not yours (any more).",
    "invalid_appointment": "Give the store and the wished time.",
    "slot_taken": "Someone just booked that slot; pick another one.",
    "invalid_slot": "That is not one of the store's free slots.",
    "slot_in_past": "That slot has already begun; pick a later one.",
    "invalid_day": "Pick a day from today up to 90 days ahead.",
    "store_has_calendar": "This store has a calendar: pick one of its free slots.",
    "no_calendar": "This store has no calendar.",
    "unknown_location": "There is no such store.",
    "not_a_store": "That location is not a store.",
    "unknown_customer": "This chat has no customer yet.",
    "csrf_failed": "The form has expired; reload the page and try again.",
}


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=ChoiceLoader([FileSystemLoader(OWN_TEMPLATES),
                                           FileSystemLoader(TEMPLATES)]),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = format_when
    env.filters["money"] = format_money
    env.globals["kanaal_version"] = __version__
    return env


def _booking(panel: dict[str, Any] | None) -> dict[str, Any] | None:
    """The slot picker of one chat, with its error as a sentence."""
    if panel is None:
        return None
    code = panel.get("error")
    return {**panel, "error": ERRORS.get(code, "That did not work.") if code else None}


def render_desk(*, agent: Any, csrf_token: str, view: dict[str, Any], error: str | None,
                fragment: bool) -> HTMLResponse:
    """The chat page, or only its board (for live refreshes)."""
    name = "desk_chat/_board.html" if fragment else "desk_chat/chats.html"
    html = _env().get_template(name).render(
        agent=agent, csrf_token=csrf_token, waiting=view["waiting"], mine=view["mine"],
        stores=view.get("stores", []), booking=_booking(view.get("booking")),
        error=ERRORS.get(error or "", "That did not work." if error else None),
        request_path="/desk/chats")
    return HTMLResponse(html, headers=SECURITY_HEADERS)
