"""Chat use cases for the visitor: open or resume a conversation, talk to the bot, hand over."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, Forbidden, NotFound, RateLimited
from kanaal.touchpoints import chat_store as store
from kanaal.touchpoints.chat_bot import DEFAULT_THRESHOLD, FaqBot, load_faq
from kanaal.touchpoints.chat_domain import (
    QUALIFICATION,
    ChatLimits,
    ChatStatus,
    Sender,
    clean_message,
    qualification_traits,
    question_text,
    say,
    wants_a_person,
)
from kanaal.touchpoints.domain import pick_language
from kanaal.touchpoints.service import SOURCE, find_visitor_in, visitor_identities

LIVE_CHANNEL = "chat"
_STATE = "touchpoints.chat"


class ChatConfig:
    """Limits and the FAQ bot, read once from kanaal.toml [chat]."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.limits = ChatLimits.from_config(raw)
        self.bot = FaqBot(load_faq(raw.get("faq")),
                          float(raw.get("bot_threshold", DEFAULT_THRESHOLD)))


def config(ctx: AppContext) -> ChatConfig:
    """This context's chat configuration (built on first use)."""
    found = ctx.state.get(_STATE)
    if found is None:
        found = ctx.state[_STATE] = ChatConfig(ctx.param("chat", {}) or {})
    assert isinstance(found, ChatConfig)
    return found


def wire(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the browser and the desk receive it."""
    return {"type": "message", "conversation_id": message["conversation_id"],
            "seq": message["seq"], "sender": message["sender"], "body": message["body"],
            "agent_id": message.get("agent_id"), "at": message["created_at"].isoformat()}


def add_message_in(session: Session, ctx: AppContext, conversation: dict[str, Any],
                   sender: Sender, body: str, *, agent_id: str | None = None) -> dict[str, Any]:
    """Append one message to a conversation and return it."""
    now = ctx.clock.now()
    message = {"id": ctx.ids.new("cmsg"), "conversation_id": conversation["id"],
               "customer_id": conversation["customer_id"],
               "seq": store.next_seq(session, conversation["id"]), "sender": sender.value,
               "agent_id": agent_id, "body": body, "created_at": now}
    store.insert_message(session, **message)
    store.touch(session, conversation["id"], now)
    return message


def publish(ctx: AppContext, conversation_id: str, events: list[dict[str, Any]]) -> None:
    """Tell the visitor's socket and the desks what changed: the events of one change travel
    as one live message, so a desk refreshes its board once for it, not once per event."""
    if events:
        ctx.live.publish(LIVE_CHANNEL, {"conversation_id": conversation_id, "events": [
            {**event, "conversation_id": conversation_id} for event in events]})


def start_or_resume(ctx: AppContext, *, anonymous_id: str | None, user_id: str | None,
                    lang: str | None, resume: str | None) -> dict[str, Any]:
    """The visitor's open conversation `resume`, or a new one with the bot's greeting."""
    identities = visitor_identities(anonymous_id, user_id)
    if not identities:
        raise Forbidden("a chat needs the visitor's anonymousId", code="missing_identity")
    if resume:
        with ctx.db.reader() as session:
            found = store.find_conversation(session, resume)
        if (found is not None and found["anonymous_id"] == anonymous_id
                and found["status"] != ChatStatus.CLOSED.value):
            return found
    language = pick_language(lang)

    def work(session: Session) -> dict[str, Any]:
        conversation_id = ctx.ids.new("chat")
        customer_id = record_event(
            session, ctx, type="track", event="Chat Started", identities=identities,
            customer_id=find_visitor_in(session, identities),
            properties={"conversation_id": conversation_id, "language": language},
            channel="chat", source=SOURCE, message_id=f"chat:{conversation_id}:started")
        now = ctx.clock.now()
        conversation: dict[str, Any] = {
            "id": conversation_id, "customer_id": customer_id, "anonymous_id": anonymous_id,
            "status": ChatStatus.BOT.value, "lang": language, "agent_id": None,
            "interaction_id": None, "queue": None, "qualify_step": None, "qualification": {},
            "outcome": None, "created_at": now, "updated_at": now, "closed_at": None}
        store.insert_conversation(session, **conversation)
        add_message_in(session, ctx, conversation, Sender.BOT, say("greeting", language))
        return conversation

    return ctx.db.run(work)


def history(ctx: AppContext, conversation_id: str) -> dict[str, Any]:
    """A conversation as it is now, with its messages in order. The visitor's socket reads it
    after it listens for live changes, so each message is in here or arrives live."""
    with ctx.db.reader() as session:
        messages = store.messages_of(session, conversation_id)
        # Read after the messages: the status is at least as new as the newest of them.
        conversation = store.find_conversation(session, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="unknown_conversation")
    return {"conversation": conversation, "messages": messages}


def open_conversation(ctx: AppContext, *, anonymous_id: str | None, user_id: str | None,
                      lang: str | None, resume: str | None) -> dict[str, Any]:
    """Resume the visitor's open conversation, or start one with the bot's greeting; with its
    messages."""
    conversation = start_or_resume(ctx, anonymous_id=anonymous_id, user_id=user_id, lang=lang,
                                   resume=resume)
    return history(ctx, conversation["id"])


def limit_opening(ctx: AppContext, client: str) -> None:
    """At most [chat] opens_burst chat connections at once per client, refilled per minute."""
    per_minute = float(ctx.param("chat.opens_per_minute", 10))
    allowed, wait = ctx.live.take_tokens(f"chat:open:{client}", rate=per_minute / 60.0,
                                         burst=float(ctx.param("chat.opens_burst", 10)))
    if not allowed:
        error = RateLimited(f"too many chats opened; wait {wait:.0f} seconds", retry_after=wait)
        error.code = "chat_open_rate_limited"
        raise error


def _limit_rate(ctx: AppContext, conversation_id: str, limits: ChatLimits) -> None:
    allowed, wait = ctx.live.take_tokens(f"chat:rate:{conversation_id}",
                                         rate=limits.messages_per_second, burst=limits.burst)
    if not allowed:
        error = RateLimited(f"too many messages; wait {wait:.0f} seconds", retry_after=wait)
        error.code = "chat_rate_limited"
        raise error


def _qualify_in(session: Session, ctx: AppContext, conversation: dict[str, Any], step: int,
                answer: str) -> list[dict[str, Any]]:
    """Store one qualification answer as traits and ask the next question (or say "queued")."""
    traits = qualification_traits(step, answer)
    record_event(session, ctx, type="identify", event=None, identities={},
                 customer_id=conversation["customer_id"], traits=traits, channel="chat",
                 source=SOURCE)
    qualification = {**conversation["qualification"], **traits}
    following = step + 1 if step + 1 < len(QUALIFICATION) else None
    store.update_conversation(session, conversation["id"], expect_status=None,
                              qualification=qualification, qualify_step=following)
    text = question_text(following, conversation["lang"]) if following is not None \
        else say("queued", conversation["lang"])
    return [add_message_in(session, ctx, conversation, Sender.BOT, text)]


def _hand_over_in(session: Session, ctx: AppContext, conversation: dict[str, Any],
                  reason: str) -> list[dict[str, Any]]:
    """Queue the conversation for an agent and start the qualification questions."""
    store.update_conversation(session, conversation["id"], expect_status=None,
                              status=ChatStatus.WAITING.value, qualify_step=0,
                              waiting_since=ctx.clock.now())
    lang = conversation["lang"]
    return [add_message_in(session, ctx, conversation, Sender.BOT, say(reason, lang)),
            add_message_in(session, ctx, conversation, Sender.BOT, question_text(0, lang))]


def visitor_says(ctx: AppContext, conversation_id: str, anonymous_id: str | None,
                 text: Any) -> list[dict[str, Any]]:
    """Store the visitor's message and the bot's reply; returns the new messages in order.

    Oversize or empty messages and messages over the rate limit are refused; nothing is stored.
    """
    settings = config(ctx)
    body = clean_message(text, settings.limits)
    _limit_rate(ctx, conversation_id, settings.limits)

    def work(session: Session) -> tuple[list[dict[str, Any]], str]:
        conversation = store.find_conversation(session, conversation_id, lock=True)
        if conversation is None or conversation["anonymous_id"] != anonymous_id:
            raise NotFound("no such conversation", code="unknown_conversation")
        if conversation["status"] == ChatStatus.CLOSED.value:
            raise Conflict("this chat has ended", code="chat_closed")
        if store.count_messages(session, conversation_id) >= settings.limits.max_messages:
            raise Conflict("this chat has reached its message limit", code="chat_full")
        added = [add_message_in(session, ctx, conversation, Sender.VISITOR, body)]
        status = conversation["status"]
        if status == ChatStatus.BOT.value:
            if wants_a_person(body):
                added += _hand_over_in(session, ctx, conversation, "handover")
                status = ChatStatus.WAITING.value
            else:
                reply = settings.bot.answer(body)
                if reply.entry is not None:
                    added.append(add_message_in(session, ctx, conversation, Sender.BOT,
                                                reply.entry.answer(conversation["lang"])))
                else:
                    added += _hand_over_in(session, ctx, conversation, "unsure")
                    status = ChatStatus.WAITING.value
        elif status == ChatStatus.WAITING.value and conversation["qualify_step"] is not None:
            added += _qualify_in(session, ctx, conversation, conversation["qualify_step"], body)
        return added, status

    added, status = ctx.db.run(work)
    events = [wire(m) for m in added]
    events.append({"type": "status", "status": status})
    publish(ctx, conversation_id, events)
    return added
