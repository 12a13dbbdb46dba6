"""Chat tables and queries: conversations and their messages. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata, rowcount

chat_conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=True),
    Column("anonymous_id", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("lang", String(2), nullable=False),
    Column("agent_id", String(40), nullable=True),
    Column("interaction_id", String(40), nullable=True),
    Column("queue", String(60), nullable=True),
    Column("qualify_step", Integer, nullable=True),
    Column("qualification", JSON, nullable=False),
    Column("outcome", String(30), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    # When the chat was handed to the agents' queue (its answered wait runs from here).
    Column("waiting_since", UtcDateTime, nullable=True),
    Index("ix_chat_conversations_status", "status", "updated_at"),
    Index("ix_chat_conversations_agent", "agent_id", "status"),
    Index("ix_chat_conversations_customer", "customer_id"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=True),
    Column("seq", Integer, nullable=False),
    Column("sender", String(10), nullable=False),
    Column("agent_id", String(40), nullable=True),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("conversation_id", "seq", name="uq_chat_messages_seq"),
)


def insert_conversation(session: Session, **values: Any) -> None:
    """Store a new conversation."""
    session.execute(chat_conversations.insert().values(**values))


def find_conversation(session: Session, conversation_id: str, *,
                      lock: bool = False) -> dict[str, Any] | None:
    """One conversation as a dict, optionally locked for update."""
    query = select(chat_conversations).where(chat_conversations.c.id == conversation_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    return None if row is None else dict(row)


def update_conversation(session: Session, conversation_id: str, *, expect_status: str | None,
                        **values: Any) -> bool:
    """Change a conversation (only from `expect_status` when given); False when it did not."""
    query = update(chat_conversations).where(chat_conversations.c.id == conversation_id)
    if expect_status is not None:
        query = query.where(chat_conversations.c.status == expect_status)
    return rowcount(session.execute(query.values(**values))) == 1


def next_seq(session: Session, conversation_id: str) -> int:
    """The sequence number the next message of a conversation gets."""
    current = session.execute(select(func.max(chat_messages.c.seq)).where(
        chat_messages.c.conversation_id == conversation_id)).scalar_one()
    return 1 if current is None else int(current) + 1


def insert_message(session: Session, **values: Any) -> None:
    """Store one chat message."""
    session.execute(chat_messages.insert().values(**values))


def messages_of(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    """A conversation's messages in order."""
    rows = session.execute(select(chat_messages).where(
        chat_messages.c.conversation_id == conversation_id).order_by(chat_messages.c.seq))
    return [dict(r) for r in rows.mappings()]


def count_messages(session: Session, conversation_id: str) -> int:
    """How many messages a conversation has."""
    return int(session.execute(select(func.count()).select_from(chat_messages).where(
        chat_messages.c.conversation_id == conversation_id)).scalar_one())


def conversations(session: Session, *, status: str | None = None, agent_id: str | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Conversations by status and/or agent, oldest update first."""
    query = select(chat_conversations)
    if status is not None:
        query = query.where(chat_conversations.c.status == status)
    if agent_id is not None:
        query = query.where(chat_conversations.c.agent_id == agent_id)
    query = query.order_by(chat_conversations.c.updated_at, chat_conversations.c.id).limit(limit)
    return [dict(r) for r in session.execute(query).mappings()]


def touch(session: Session, conversation_id: str, at: datetime) -> None:
    """Mark a conversation as updated."""
    session.execute(update(chat_conversations).where(
        chat_conversations.c.id == conversation_id).values(updated_at=at))
