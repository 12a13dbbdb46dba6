"""The demo retailer's data: keys, contact-center queues and twelve agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kanaal.core.auth import KeyKind, Scope, SourceKind
from kanaal.core.context import AppContext
from kanaal.core.keys import issue_key

KEYS_FILE = "demo-keys.json"
AGENT_PASSWORD = "demo-password-123"
PHONE_AGENTS = 9
CHAT_AGENTS = 3


def seed(ctx: AppContext) -> dict[str, Any]:
    """Create the demo data once; later runs read the keys written the first time."""
    path = Path(ctx.settings.data_dir) / KEYS_FILE
    if path.exists():
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found
    from kanaal.contact_center.agents import create_agent
    from kanaal.contact_center.capacity import create_queue

    def key(name: str, source: SourceKind, kind: KeyKind, scopes: set[Scope]) -> str:
        return issue_key(ctx.db, source_name=name, source_kind=source, kind=kind,
                         scopes=frozenset(scopes), ids=ctx.ids, clock=ctx.clock).raw

    keys = {
        "web_write": key("demo-web", SourceKind.WEB, KeyKind.WRITE, set()),
        "read": key("demo-dashboard", SourceKind.SERVER, KeyKind.SECRET, {Scope.READ}),
        "admin": key("demo-admin", SourceKind.SERVER, KeyKind.SECRET,
                     {Scope.ADMIN, Scope.WRITE, Scope.READ}),
    }
    create_queue(ctx, name="sales", skill="sales", channel="phone", target_service_level=0.8,
                 target_answer_seconds=20, patience_seconds=120, handle_time_seconds=480)
    create_queue(ctx, name="chat", skill="chat", channel="chat", target_service_level=0.8,
                 target_answer_seconds=30, patience_seconds=180, handle_time_seconds=600)
    agents = []
    for n in range(PHONE_AGENTS + CHAT_AGENTS):
        skill = "sales" if n < PHONE_AGENTS else "chat"
        agent = create_agent(ctx, name=f"Demo Agent {n + 1}", email=f"agent{n + 1}@demo.test",
                             password=AGENT_PASSWORD, skills=[skill])
        agents.append({"id": agent.id, "email": agent.email, "skill": skill})
    data = {"keys": keys, "agents": agents, "agent_password": AGENT_PASSWORD}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return data
