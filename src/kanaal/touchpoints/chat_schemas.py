"""Bodies of the visitor's chat endpoint over HTTP (the chat itself runs over its WebSocket)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# A close request holds a key and an anonymous id: far below this.
MAX_CLOSE_BODY = 4096


class ChatCloseIn(BaseModel):
    """Who ends the chat: the visitor the socket knows (its write key and anonymous id). Sent
    as JSON, or as text/plain holding JSON (`fetch` with `keepalive` or `sendBeacon` without a
    CORS preflight, the key then in `writeKey` instead of the Authorization header)."""

    model_config = ConfigDict(extra="ignore")

    anonymousId: str = Field(min_length=1, max_length=255)  # noqa: N815 - the Segment name
    writeKey: str | None = Field(  # noqa: N815 - as the Segment intake names it
        default=None, min_length=1, max_length=200,
        description="the write key, instead of HTTP Basic auth")


class ChatClosedOut(BaseModel):
    """The conversation has ended (now, or before: a repeat answers the same)."""

    conversation_id: str
    status: Literal["closed"] = "closed"


def parse_close(raw: bytes) -> ChatCloseIn:
    """The close request in `raw`, whatever its content type; errors as FastAPI words them."""
    try:
        return ChatCloseIn.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])}
                                      for error in exc.errors(include_url=False)]) from exc


CLOSE_BODY_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    media: {"schema": ChatCloseIn.model_json_schema()}
    for media in ("application/json", "text/plain")}}}
