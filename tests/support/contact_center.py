"""Helpers for contact-center tests: queues, agents, signed ACD events, table counts."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from kanaal.contact_center import store
from kanaal.contact_center.acd import sign
from kanaal.core.context import AppContext

PASSWORD = "correct horse battery"


def auth(key: str) -> dict[str, str]:
    """Bearer header for a secret key."""
    return {"Authorization": f"Bearer {key}"}


def add_queue(client: TestClient, admin: str, **fields: Any) -> dict[str, Any]:
    """Create a queue through the API (defaults: sales phone queue, 80% in 20 s)."""
    body = {"name": "sales-phone", "skill": "sales", "channel": "phone", **fields}
    response = client.post("/v1/contact-center/queues", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_agent(client: TestClient, admin: str, email: str, **fields: Any) -> dict[str, Any]:
    """Create an agent through the API (skills sales and language:nl by default)."""
    body = {"name": email.split("@")[0].title(), "email": email, "password": PASSWORD,
            "skills": ["sales", "language:nl"], **fields}
    response = client.post("/v1/agents", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_state(client: TestClient, writer: str, agent_id: str, state: str) -> Response:
    """PUT an agent's state."""
    return client.put(f"/v1/agents/{agent_id}/state", json={"state": state},
                      headers=auth(writer))


def capacity_of(client: TestClient, reader: str, queue: str) -> dict[str, Any]:
    """One queue's entry of GET /v1/contact-center/capacity."""
    response = client.get("/v1/contact-center/capacity", headers=auth(reader))
    assert response.status_code == 200, response.text
    by_name = {q["queue"]: q for q in response.json()["queues"]}
    return dict(by_name[queue])


def post_acd(client: TestClient, ctx: AppContext, secret: str, event: dict[str, Any], *,
             source: str = "generic", at: int | None = None) -> Response:
    """POST an ACD event signed with `secret` at `at` (default: the context's clock)."""
    body = json.dumps(event).encode()
    stamp = at if at is not None else int(ctx.clock.now().timestamp())
    return client.post(f"/v1/contact-center/acd/events?source={source}", content=body,
                       headers={"Kanaal-Signature": sign(secret, stamp, body),
                                "Content-Type": "application/json"})


def count_rows(ctx: AppContext) -> dict[str, int]:
    """Rows in every contact-center table."""
    tables = [store.agents, store.queues, store.callbacks, store.interactions, store.tasks,
              store.acd_events]
    with ctx.db.reader() as session:
        return {t.name: int(session.execute(select(func.count()).select_from(t)).scalar_one())
                for t in tables}
