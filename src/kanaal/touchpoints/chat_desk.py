"""Chat use cases for agents: take a waiting chat, reply, turn it into a callback or a booked
store appointment, close it with its transcript on the customer's timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.calendars import service as calendars
from kanaal.calendars.domain import Booking, local_day
from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from kanaal.touchpoints import chat_store as store
from kanaal.touchpoints.chat_domain import (
    ChatStatus,
    Sender,
    clean_message,
    say,
    transcript_summary,
)
from kanaal.touchpoints.chat_service import add_message_in, config, publish, wire
from kanaal.touchpoints.service import SOURCE, callback_queue

OUTCOMES = ("sale", "quote", "no_sale", "follow_up_needed")


def chat_queue(ctx: AppContext) -> str | None:
    """The contact-center queue chats count against: [chat] queue, else the first chat queue."""
    configured = ctx.param("chat.queue", None)
    queues = contact_center.list_queues(ctx)
    names = [q.name for q in queues if q.channel.value == "chat"]
    if configured in names:
        return str(configured)
    return names[0] if names else None


def _mine(session: Session, conversation_id: str, agent_id: str) -> dict[str, Any]:
    """The agent's open conversation, locked; refuses others' and closed ones."""
    conversation = store.find_conversation(session, conversation_id, lock=True)
    if conversation is None:
        raise NotFound("no such conversation", code="unknown_conversation")
    if conversation["agent_id"] != agent_id or conversation["status"] != ChatStatus.AGENT.value:
        raise Forbidden("this chat is not yours", code="not_your_chat")
    return conversation


def take_chat(ctx: AppContext, agent_id: str, conversation_id: str) -> dict[str, Any]:
    """Claim a waiting chat; the agent gets an open chat interaction (up to their concurrency)."""
    agent = contact_center.get_agent(ctx, agent_id)
    queue = chat_queue(ctx)

    def claim(session: Session) -> dict[str, Any]:
        conversation = store.find_conversation(session, conversation_id, lock=True)
        if conversation is None:
            raise NotFound("no such conversation", code="unknown_conversation")
        if not store.update_conversation(session, conversation_id,
                                         expect_status=ChatStatus.WAITING.value,
                                         status=ChatStatus.AGENT.value, agent_id=agent_id,
                                         queue=queue, qualify_step=None):
            raise Conflict("this chat is no longer waiting", code="chat_taken")
        return conversation

    conversation = ctx.db.run(claim)
    try:
        interaction = contact_center.record_interaction(
            ctx, kind="chat", agent_id=agent_id, customer_id=conversation["customer_id"],
            identities={}, queue=queue, queued_at=conversation["waiting_since"])
    except Exception:
        ctx.db.run(lambda s: store.update_conversation(
            s, conversation_id, expect_status=ChatStatus.AGENT.value,
            status=ChatStatus.WAITING.value, agent_id=None, queue=None))
        raise

    def joined(session: Session) -> dict[str, Any]:
        store.update_conversation(session, conversation_id, expect_status=None,
                                  interaction_id=interaction.id)
        return add_message_in(session, ctx, conversation, Sender.SYSTEM,
                              say("joined", conversation["lang"], name=agent.name))

    message = ctx.db.run(joined)
    publish(ctx, conversation_id, [wire(message), {"type": "status", "status": "agent"}])
    return message


def agent_says(ctx: AppContext, agent_id: str, conversation_id: str, text: Any
               ) -> dict[str, Any]:
    """Send an agent's reply to the visitor."""
    body = clean_message(text, config(ctx).limits)

    def work(session: Session) -> dict[str, Any]:
        conversation = _mine(session, conversation_id, agent_id)
        return add_message_in(session, ctx, conversation, Sender.AGENT, body, agent_id=agent_id)

    message = ctx.db.run(work)
    publish(ctx, conversation_id, [wire(message)])
    return message


def _close_in(session: Session, ctx: AppContext, conversation: dict[str, Any], outcome: str,
              extra: dict[str, Any]) -> dict[str, Any]:
    """Close the conversation and put its transcript on the customer's timeline."""
    now = ctx.clock.now()
    goodbye = add_message_in(session, ctx, conversation, Sender.SYSTEM,
                             say("closed", conversation["lang"]))
    store.update_conversation(session, conversation["id"], expect_status=None,
                              status=ChatStatus.CLOSED.value, outcome=outcome, closed_at=now)
    messages = store.messages_of(session, conversation["id"])
    summary = transcript_summary([(m["sender"], m["body"]) for m in messages])
    record_event(
        session, ctx, type="track", event="Chat Transcript", identities={},
        customer_id=conversation["customer_id"], channel="chat", source=SOURCE,
        message_id=f"chat:{conversation['id']}:transcript",
        properties={"conversation_id": conversation["id"], "outcome": outcome,
                    "interaction_id": conversation["interaction_id"],
                    "agent_id": conversation["agent_id"],
                    "qualification": conversation["qualification"],
                    "transcript": summary, **extra})
    return goodbye


def _finish(ctx: AppContext, conversation: dict[str, Any], outcome: str, notes: str,
            events: list[dict[str, Any]]) -> None:
    """End the chat interaction (the contact center writes "Chat Completed") and tell everyone."""
    if conversation["interaction_id"]:
        contact_center.log_interaction_outcome(ctx, conversation["interaction_id"],
                                               outcome=outcome, notes=notes[:10_000])
    publish(ctx, conversation["id"], [*events, {"type": "status", "status": "closed"}])


def close_chat(ctx: AppContext, agent_id: str, conversation_id: str, outcome: str,
               notes: str = "") -> None:
    """Close a chat with its outcome (sale, quote, no_sale, follow_up_needed)."""
    if outcome not in OUTCOMES or outcome in {"sale", "quote"}:
        raise InvalidInput("close a chat as no_sale or follow_up_needed", code="invalid_outcome")

    def work(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        conversation = _mine(session, conversation_id, agent_id)
        return conversation, _close_in(session, ctx, conversation, outcome, {})

    conversation, goodbye = ctx.db.run(work)
    _finish(ctx, conversation, outcome, notes, [wire(goodbye)])


def convert_to_callback(ctx: AppContext, agent_id: str, conversation_id: str, *, phone: str,
                        slot_start: datetime | None = None) -> str:
    """Turn the chat into a callback with the chat as context; closes the chat. Returns its id."""
    e164 = contact_center.normalise_phone(ctx, phone)
    queue = callback_queue(ctx, None)

    def work(session: Session) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        conversation = _mine(session, conversation_id, agent_id)
        lines = store.messages_of(session, conversation_id)
        callback = contact_center.create_callback_in(
            session, ctx, customer_id=conversation["customer_id"], phone=e164, queue=queue,
            slot_start=slot_start, context={
                "source": "chat", "conversation_id": conversation_id,
                "qualification": conversation["qualification"],
                "reason": "callback agreed in chat",
                "transcript": transcript_summary([(m["sender"], m["body"]) for m in lines],
                                                 limit=20)})
        told = add_message_in(session, ctx, conversation, Sender.SYSTEM,
                              say("callback", conversation["lang"], phone=e164))
        goodbye = _close_in(session, ctx, conversation, "follow_up_needed",
                            {"callback_id": callback.id})
        return conversation, callback.id, [told, goodbye]

    conversation, callback_id, said = ctx.db.run(work)
    _finish(ctx, conversation, "follow_up_needed", f"callback {callback_id}",
            [wire(m) for m in said])
    return callback_id


def appointment_stores(ctx: AppContext) -> list[dict[str, Any]]:
    """The stores an agent can send a chat to, each with whether it has a calendar."""
    from kanaal.inventory.service import list_locations

    with_calendar = {c.resource_id for c in calendars.list_calendars(ctx)
                     if c.resource_kind == "store"}
    return [{"id": loc.id, "name": loc.name, "has_calendar": loc.id in with_calendar}
            for loc in list_locations(ctx) if loc.kind.value == "store"]


def store_slots(ctx: AppContext, store_id: str, day: str | None) -> dict[str, Any]:
    """What the desk shows for a store: its free slots of a day, or that it has no calendar."""
    calendar = calendars.find_calendar(ctx, "store", store_id)
    if calendar is None:
        with ctx.db.reader() as session:
            calendars.resource_name_in(session, "store", store_id)
        return {"store_id": store_id, "has_calendar": False, "date": day, "slots": []}
    try:
        wanted = date.fromisoformat(day) if day else local_day(calendar, ctx.clock.now())
    except ValueError as exc:
        raise InvalidInput(f"{day!r} is not a date YYYY-MM-DD", code="invalid_day") from exc
    free = calendars.free_slots_of(ctx, "store", store_id, wanted)
    return {"store_id": store_id, "has_calendar": True, "date": free["date"],
            "timezone": free["timezone"], "slots": free["slots"]}


def book_store_appointment(ctx: AppContext, agent_id: str, conversation_id: str, *,
                           store_id: str, slot_start: str) -> dict[str, Any]:
    """Book a free slot of a store's calendar for the chat's customer, tell the visitor and
    close the chat; the appointment and the transcript land on the timeline together."""
    try:
        start = datetime.fromisoformat(slot_start)
    except ValueError as exc:
        raise InvalidInput("pick one of the free slots", code="invalid_slot") from exc
    with ctx.db.reader() as session:  # the customer, to look up their email before booking
        conversation = store.find_conversation(session, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="unknown_conversation")
    if not conversation["customer_id"]:
        raise Conflict("this chat has no customer yet", code="unknown_customer")
    booking = calendars.prepare(ctx, Booking(
        slot_start=start, source="chat", source_ref=conversation_id, channel="chat",
        customer_id=conversation["customer_id"]))

    def work(session: Session) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        conversation = _mine(session, conversation_id, agent_id)
        appointment = calendars.book_in(session, ctx, "store", store_id, booking)
        where = str(appointment["where"]).split(",")[0]
        local = datetime.fromisoformat(appointment["local_start"])
        when = appointment["when"] if conversation["lang"] != "nl" else \
            f"{local:%d-%m-%Y %H:%M} ({appointment['timezone']})"
        told = add_message_in(session, ctx, conversation, Sender.SYSTEM, say(
            "appointment_booked", conversation["lang"], where=where, when=str(when),
            ref=appointment["id"]))
        goodbye = _close_in(session, ctx, conversation, "follow_up_needed",
                            {"appointment_id": appointment["id"]})
        return conversation, appointment, [told, goodbye]

    try:
        conversation, appointment, said = ctx.db.run(work)
    except IntegrityError as exc:  # a concurrent booking won the slot's unique constraint
        raise Conflict("someone else just booked that slot", code="slot_taken") from exc
    _finish(ctx, conversation, "follow_up_needed", f"store appointment {appointment['id']}",
            [wire(m) for m in said])
    return appointment


def request_store_appointment(ctx: AppContext, agent_id: str, conversation_id: str, *,
                              store_id: str, when: str) -> str:
    """Ask a store without a calendar for an appointment with this prospect (a task for store
    staff); a store with a calendar is booked with `book_store_appointment` instead."""
    if not store_id.strip() or len(store_id) > 60 or not when.strip() or len(when) > 200:
        raise InvalidInput("give the store and the wished time", code="invalid_appointment")
    if calendars.find_calendar(ctx, "store", store_id.strip()) is not None:
        raise Conflict("this store has a calendar: book one of its free slots",
                       code="store_has_calendar")

    def work(session: Session) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        conversation = _mine(session, conversation_id, agent_id)
        calendars.resource_name_in(session, "store", store_id.strip())
        task_id = contact_center.create_task_in(
            session, ctx, kind="store_appointment", customer_id=conversation["customer_id"],
            queue=None, store_id=store_id.strip(), context={
                "conversation_id": conversation_id, "wished_time": when.strip(),
                "qualification": conversation["qualification"]})
        told = add_message_in(session, ctx, conversation, Sender.SYSTEM,
                              say("appointment", conversation["lang"]))
        goodbye = _close_in(session, ctx, conversation, "follow_up_needed",
                            {"store_appointment_task_id": task_id})
        return conversation, task_id, [told, goodbye]

    conversation, task_id, said = ctx.db.run(work)
    _finish(ctx, conversation, "follow_up_needed", f"store appointment {task_id}",
            [wire(m) for m in said])
    return task_id


def end_by_visitor(ctx: AppContext, conversation_id: str, anonymous_id: str | None) -> bool:
    """The visitor ends the chat; False when it had already ended."""
    def work(session: Session) -> tuple[dict[str, Any], dict[str, Any]] | None:
        conversation = store.find_conversation(session, conversation_id, lock=True)
        if conversation is None or conversation["anonymous_id"] != anonymous_id:
            raise NotFound("no such conversation", code="unknown_conversation")
        if conversation["status"] == ChatStatus.CLOSED.value:
            return None
        return conversation, _close_in(session, ctx, conversation, "visitor_left", {})

    done = ctx.db.run(work)
    if done is None:
        return False
    _finish(ctx, done[0], "no_sale", "the visitor left the chat", [wire(done[1])])
    return True


def close_idle(ctx: AppContext) -> int:
    """Close chats with the bot or waiting that saw no message for [chat] idle_minutes (30)."""
    idle = timedelta(minutes=float(ctx.param("chat.idle_minutes", 30)))
    cutoff = ctx.clock.now() - idle
    with ctx.db.reader() as session:
        stale = [c["id"] for status in (ChatStatus.BOT, ChatStatus.WAITING)
                 for c in store.conversations(session, status=status.value, limit=500)
                 if c["updated_at"] <= cutoff]
    closed = 0
    for conversation_id in stale:
        def work(session: Session, cid: str = conversation_id
                 ) -> tuple[dict[str, Any], dict[str, Any]] | None:
            conversation = store.find_conversation(session, cid, lock=True)
            if conversation is None or conversation["status"] not in {
                    ChatStatus.BOT.value, ChatStatus.WAITING.value} or \
                    conversation["updated_at"] > cutoff:
                return None
            return conversation, _close_in(session, ctx, conversation, "idle", {})

        done = ctx.db.run(work)
        if done is not None:
            closed += 1
            _finish(ctx, done[0], "no_sale", "", [wire(done[1])])
    return closed


def desk_view(ctx: AppContext, agent_id: str) -> dict[str, Any]:
    """What an agent's chat desk shows: waiting chats and their own open chats with messages."""
    with ctx.db.reader() as session:
        waiting = store.conversations(session, status=ChatStatus.WAITING.value)
        mine = [c for c in store.conversations(session, agent_id=agent_id)
                if c["status"] == ChatStatus.AGENT.value]
        for conversation in waiting + mine:
            conversation["messages"] = store.messages_of(session, conversation["id"])
    return {"waiting": waiting, "mine": mine}
