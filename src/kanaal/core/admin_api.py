"""Admin endpoints shared by every feature: webhook subscriptions."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, HttpUrl

from kanaal.core.http import AdminKey, Ctx
from kanaal.core.outbox import add_webhook_endpoint, remove_webhook_endpoint

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookIn(BaseModel):
    """A subscription request."""

    url: HttpUrl
    topics: list[str] = Field(min_length=1, description='topics to receive, or ["*"]')


class WebhookOut(BaseModel):
    """A created subscription; `secret` signs every delivery and is shown only here."""

    id: str
    url: str
    topics: list[str]
    secret: str


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookOut)
def create_webhook(body: WebhookIn, ctx: Ctx, _principal: AdminKey) -> WebhookOut:
    """Subscribe a URL to topics; deliveries carry `Kanaal-Signature`."""
    secret = "whsec_" + secrets.token_urlsafe(24)
    endpoint_id = add_webhook_endpoint(
        ctx.db, ids=ctx.ids, clock=ctx.clock, url=str(body.url), topics=body.topics, secret=secret
    )
    return WebhookOut(id=endpoint_id, url=str(body.url), topics=body.topics, secret=secret)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(endpoint_id: str, ctx: Ctx, _principal: AdminKey) -> None:
    """Unsubscribe."""
    remove_webhook_endpoint(ctx.db, endpoint_id)
