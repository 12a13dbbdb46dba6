"""The platform on SQLite and PostgreSQL: migrations, keys, errors, idempotency, outbox."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict
from kanaal.core.idempotency import idempotency_keys, run_idempotent
from kanaal.core.outbox import (
    OutboxDispatcher,
    add_webhook_endpoint,
    outbox_attempts,
    outbox_messages,
    publish_event,
)
from kanaal.migrations.runner import pending_differences
from tests.conftest import Keys, bearer


def test_migrations_match_the_tables_in_code(ctx: AppContext) -> None:
    assert pending_differences(ctx.db) == []


def test_healthz_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_unknown_route_answers_the_error_shape(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_admin_endpoint_refuses_missing_wrong_and_weak_keys(
    client: TestClient, keys: Keys
) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "topics": ["*"]}
    assert client.post("/v1/webhooks", json=body).json()["error"]["code"] == "missing_credentials"
    wrong = client.post("/v1/webhooks", json=body, headers=bearer("sk_nope"))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_key")
    weak = client.post("/v1/webhooks", json=body, headers=bearer(keys.read))
    assert (weak.status_code, weak.json()["error"]["code"]) == (403, "missing_scope")
    ok = client.post("/v1/webhooks", json=body, headers=bearer(keys.admin))
    assert ok.status_code == 201 and ok.json()["secret"].startswith("whsec_")


def test_validation_errors_say_where(client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/webhooks", json={"url": "nope"}, headers=bearer(keys.admin))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {tuple(d["loc"]) for d in error["details"]} == {("body", "url"), ("body", "topics")}


def test_idempotent_work_runs_once_and_reused_keys_conflict(ctx: AppContext) -> None:
    calls: list[int] = []

    def work(_session: Any) -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    first = run_idempotent(ctx.db, ctx.clock, scope="s", key="k1", request={"a": 1}, work=work)
    again = run_idempotent(ctx.db, ctx.clock, scope="s", key="k1", request={"a": 1}, work=work)
    assert first == ({"n": 1}, False)
    assert again == ({"n": 1}, True)
    with pytest.raises(Conflict):
        run_idempotent(ctx.db, ctx.clock, scope="s", key="k1", request={"a": 2}, work=work)
    assert len(calls) == 1
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(idempotency_keys)).scalar() == 1


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    fail_first = True

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first:
            _Receiver.fail_first = False
            self.send_response(500)
        else:
            _Receiver.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


def test_outbox_retries_and_delivers_signed_webhooks(ctx: AppContext) -> None:
    _Receiver.received, _Receiver.fail_first = [], True
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url=url, topics=["stock.changed"],
                         secret="s3cret")
    with ctx.db.transaction() as session:
        queued = publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="stock.changed",
                               data={"sku": "A"})
        assert publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="other", data={}) == []
    dispatcher = OutboxDispatcher(ctx.db, ctx.clock)
    assert asyncio.run(dispatcher.deliver_due()) == 1  # first attempt fails (HTTP 500)
    assert asyncio.run(dispatcher.deliver_due()) == 0  # backing off
    ctx.clock.advance(seconds=3)  # type: ignore[attr-defined]
    assert asyncio.run(dispatcher.deliver_due()) == 1
    server.shutdown()
    headers, body = _Receiver.received[0]
    assert json.loads(body)["data"] == {"sku": "A"}
    stamp, signature = (part.split("=", 1)[1] for part in headers["Kanaal-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature == expected and headers["Kanaal-Message-Id"] == queued[0]
    with ctx.db.reader() as session:
        status = session.execute(select(outbox_messages.c.status)).scalar_one()
        oks = session.execute(select(outbox_attempts.c.ok).order_by(outbox_attempts.c.id))
        assert status == "delivered" and [r.ok for r in oks] == [0, 1]


def test_openapi_describes_every_v1_route_with_unique_operation_ids(client: TestClient) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = client.app.openapi()  # type: ignore[attr-defined]
    operation_ids = [op["operationId"] for path in document["paths"].values()
                     for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
    from fastapi.routing import APIRoute

    routes = {route.path for route in client.app.routes  # type: ignore[attr-defined]
              if isinstance(route, APIRoute) and route.path.startswith("/v1/")
              and route.include_in_schema}
    assert routes <= set(document["paths"])
