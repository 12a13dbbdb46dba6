"""Pure chat rules: message limits, hand-over intent, qualification questions, transcripts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from kanaal.core.errors import InvalidInput, PayloadTooLarge


class ChatStatus(StrEnum):
    """Where a conversation stands: with the bot, waiting for an agent, with an agent, closed."""

    BOT = "bot"
    WAITING = "waiting"
    AGENT = "agent"
    CLOSED = "closed"


class Sender(StrEnum):
    """Who wrote a chat message."""

    VISITOR = "visitor"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True)
class ChatLimits:
    """Message size and rate limits (kanaal.toml [chat])."""

    max_message_chars: int = 2000
    messages_per_second: float = 1.0
    burst: float = 5.0
    max_messages: int = 500

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> ChatLimits:
        """Build from the [chat] table of kanaal.toml."""
        base, raw = cls(), raw or {}
        return cls(
            max_message_chars=int(raw.get("max_message_chars", base.max_message_chars)),
            messages_per_second=float(raw.get("messages_per_second", base.messages_per_second)),
            burst=float(raw.get("burst", base.burst)),
            max_messages=int(raw.get("max_messages", base.max_messages)),
        )


def clean_message(text: Any, limits: ChatLimits) -> str:
    """The message text, trimmed; refuses empty, non-text and oversize messages."""
    if not isinstance(text, str):
        raise InvalidInput("a message needs a text body", code="invalid_message")
    cleaned = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidInput("the message is empty", code="empty_message")
    if len(cleaned) > limits.max_message_chars:
        raise PayloadTooLarge(
            f"the message has {len(cleaned)} characters; the limit is {limits.max_message_chars}",
            code="message_too_long")
    return cleaned


_HANDOVER = re.compile(
    r"\b(person|human|agent|advisor|adviser|someone|real people|operator|representative|"
    r"mens|medewerker|iemand|adviseur|persoon|echt mens)\b", re.IGNORECASE)


def wants_a_person(text: str) -> bool:
    """Whether the visitor asks for a human ("I want a person", "ik wil een mens")."""
    return _HANDOVER.search(text) is not None


@dataclass(frozen=True)
class Question:
    """A qualification question and the trait its answer feeds."""

    trait: str
    en: str
    nl: str


QUALIFICATION = (
    Question("interest_product", "While I find an advisor: which product are you interested in?",
             "Terwijl ik een adviseur zoek: in welk product bent u geïnteresseerd?"),
    Question("budget", "What is your budget, roughly?", "Wat is ongeveer uw budget?"),
    Question("purchase_timing", "When would you like to buy?", "Wanneer wilt u kopen?"),
)

_AMOUNT = re.compile(r"(\d{1,3}(?:[.,\s]\d{3})+|\d+)(?:[.,](\d{1,2}))?")


def parse_budget(text: str) -> str | None:
    """The first amount in a budget answer as a decimal string ("about €1.500" → "1500")."""
    match = _AMOUNT.search(text)
    if match is None:
        return None
    whole = re.sub(r"[.,\s]", "", match.group(1))
    cents = match.group(2)
    try:
        amount = Decimal(f"{whole}.{cents}" if cents else whole)
    except InvalidOperation:
        return None
    return str(amount)


def qualification_traits(step: int, answer: str) -> dict[str, Any]:
    """The traits one qualification answer sets (budget also as a number when it has one)."""
    question = QUALIFICATION[step]
    traits: dict[str, Any] = {question.trait: answer[:200]}
    if question.trait == "budget":
        amount = parse_budget(answer)
        if amount is not None:
            traits["budget_amount"] = amount
    return traits


def question_text(step: int, lang: str) -> str:
    """A qualification question in the visitor's language."""
    question = QUALIFICATION[step]
    return question.nl if lang == "nl" else question.en


SAYINGS = {
    "greeting": {"en": "Hello! I am the shop's assistant. Ask me about delivery, returns, "
                       "warranty or payment, or ask for a person.",
                 "nl": "Hallo! Ik ben de assistent van de winkel. Vraag me naar levering, "
                       "retourneren, garantie of betalen, of vraag naar een mens."},
    "unsure": {"en": "I am not sure I can answer that well. I will ask an advisor to help you.",
               "nl": "Ik weet niet zeker of ik dat goed kan beantwoorden. Ik vraag een adviseur "
                     "u te helpen."},
    "handover": {"en": "Of course, I will connect you with an advisor.",
                 "nl": "Natuurlijk, ik verbind u met een adviseur."},
    "queued": {"en": "Thank you. An advisor will join this chat shortly.",
               "nl": "Dank u. Een adviseur komt zo bij dit gesprek."},
    "joined": {"en": "{name} joined the chat.", "nl": "{name} neemt deel aan het gesprek."},
    "callback": {"en": "We will call you at {phone}.", "nl": "We bellen u op {phone}."},
    "appointment_booked": {
        "en": "Your appointment at {where} is booked for {when}. Reference: {ref}.",
        "nl": "Uw afspraak bij {where} staat vast op {when}. Referentie: {ref}."},
    "appointment": {"en": "Your store appointment is requested; the store will confirm it.",
                    "nl": "Uw afspraak in de winkel is aangevraagd; de winkel bevestigt die."},
    "closed": {"en": "The chat has ended. Thank you!", "nl": "Het gesprek is beëindigd. Dank u!"},
}


def say(key: str, lang: str, **values: str) -> str:
    """A bot or system line in the visitor's language."""
    text = SAYINGS[key]["nl" if lang == "nl" else "en"]
    return text.format(**values) if values else text


def transcript_summary(messages: list[tuple[str, str]], *, limit: int = 40,
                       line_chars: int = 300) -> dict[str, Any]:
    """A timeline-sized transcript: the first `limit` lines, each cut to `line_chars`."""
    lines = [{"sender": sender, "text": body if len(body) <= line_chars
              else body[: line_chars - 1] + "…"} for sender, body in messages[:limit]]
    counts = {s.value: sum(1 for sender, _ in messages if sender == s.value) for s in Sender}
    return {"lines": lines, "messages": len(messages), "truncated": len(messages) > limit,
            "by_sender": counts}


def unseen(events: list[dict[str, Any]], shown: int) -> list[dict[str, Any]]:
    """The events of one published change that a visitor shown the history up to message
    `shown` (its `seq`) has not seen: none when all the change's messages were in it (its
    status was read with that history), else its newer messages and its status."""
    messages = [e for e in events if e.get("type") == "message"]
    if messages and all(e["seq"] <= shown for e in messages):
        return []
    return [e for e in events if e.get("type") != "message" or e["seq"] > shown]
