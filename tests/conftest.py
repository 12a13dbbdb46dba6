"""Shared fixtures: fresh SQLite and PostgreSQL databases, Redis, apps, keys and a browser.

PostgreSQL and Redis URLs come from KANAAL_TEST_DATABASE_URL / KANAAL_TEST_REDIS_URL. Each test
run (and each xdist worker) gets its own PostgreSQL schema and Redis key prefix. Under CI=true a
missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from kanaal.app import create_app
from kanaal.config import Settings
from kanaal.core.auth import KeyKind, Scope, SourceKind
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.db import Database
from kanaal.core.keys import issue_key
from kanaal.core.live import open_live_store
from kanaal.migrations.runner import upgrade

PG_URL = os.environ.get(
    "KANAAL_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("KANAAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Many apps are built in one test process: freezing each one's objects would keep them all.
os.environ.setdefault("KANAAL_GC_FREEZE", "false")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_ID = uuid.uuid4().hex[:8]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests get one rerun: a real Chromium on a shared 2-core machine sometimes misses
    a timing window. A test that fails twice still fails the run, and reruns are reported."""
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


def unavailable(what: str, why: str) -> None:
    """Skip locally, fail under CI: CI must run every PostgreSQL, Redis and browser test."""
    message = f"{what} unavailable: {why}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test that needs a fresh database."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name("template.db-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A PostgreSQL schema of this run and worker, migrated once and dropped at the end."""
    schema = f"kt_{RUN_ID}_{_worker()}"
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL", str(exc).splitlines()[0])
    db = Database(PG_URL, schema=schema)
    upgrade(db)
    db.dispose()
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _truncate_pg(schema: str) -> None:
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"
                 " AND tablename <> 'alembic_version'"),
            {"s": schema},
        ).scalars().all()
        if tables:
            # DELETE is far cheaper than TRUNCATE on the handful of rows a test leaves;
            # replica mode skips foreign-key triggers so the order does not matter.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("; ".join(f'DELETE FROM "{name}"' for name in tables)))
    engine.dispose()


def sqlite_settings(template: Path, directory: Path, **overrides: Any) -> Settings:
    """Settings for a fresh SQLite database copied from the migrated template."""
    db_path = directory / "kanaal.db"
    shutil.copyfile(template, db_path)
    return Settings(
        database_url=f"sqlite:///{db_path}", data_dir=directory, auto_migrate=False, **overrides
    )


@pytest.fixture
def sqlite_db_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """Settings for a fresh, migrated SQLite database."""
    return sqlite_settings(sqlite_template, tmp_path)


@pytest.fixture
def pg_db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for this worker's PostgreSQL schema, emptied before the test."""
    schema = request.getfixturevalue("pg_schema")
    _truncate_pg(schema)
    return Settings(
        database_url=PG_URL, database_schema=schema, data_dir=tmp_path, auto_migrate=False
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest) -> Settings:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_db_settings" if request.param == "sqlite" else "pg_db_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


# ---------------------------------------------------------------- redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis URL; fails under CI when Redis does not answer."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis", str(exc))
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix used by this test only; its keys are deleted afterwards."""
    import redis

    prefix = f"kt:{RUN_ID}:{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


# ---------------------------------------------------------------- apps and keys


@dataclass
class Keys:
    """Raw keys issued for a test: a web write key and secret keys per scope."""

    write: str
    read: str
    writer: str
    admin: str


def issue_test_keys(ctx: AppContext) -> Keys:
    """Issue one key of each kind for `ctx`'s database."""

    def make(source: str, source_kind: SourceKind, kind: KeyKind, scopes: set[Scope]) -> str:
        return issue_key(
            ctx.db, source_name=source, source_kind=source_kind, kind=kind,
            scopes=frozenset(scopes), ids=ctx.ids, clock=ctx.clock,
        ).raw

    return Keys(
        write=make("web", SourceKind.WEB, KeyKind.WRITE, set()),
        read=make("reader", SourceKind.SERVER, KeyKind.SECRET, {Scope.READ}),
        writer=make("backend", SourceKind.SERVER, KeyKind.SECRET, {Scope.WRITE}),
        admin=make("ops", SourceKind.SERVER, KeyKind.SECRET, {Scope.ADMIN}),
    )


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting Monday 5 January 2026, 09:00 UTC."""
    return ManualClock()


@pytest.fixture
def ctx(db_settings: Settings, clock: ManualClock) -> Iterator[AppContext]:
    """An application context on a fresh database (SQLite and PostgreSQL) with a manual clock."""
    context = build_context(db_settings, clock=clock, live=open_live_store(None))
    yield context
    context.db.dispose()


@pytest.fixture
def make_client() -> Iterator[Callable[[AppContext], TestClient]]:
    """Factory for TestClients (lifespan running) over a given context."""
    clients: list[TestClient] = []

    def factory(context: AppContext) -> TestClient:
        client = TestClient(create_app(ctx=context))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def keys(ctx: AppContext) -> Keys:
    """Keys issued in the test database."""
    return issue_test_keys(ctx)


@pytest.fixture
def client(ctx: AppContext, make_client: Callable[[AppContext], TestClient]) -> TestClient:
    """A TestClient over `ctx`."""
    return make_client(ctx)


def bearer(key: str) -> dict[str, str]:
    """Authorization header for a secret key."""
    return {"Authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- mail


@pytest.fixture
def inbox() -> Iterator[tuple[Any, int]]:
    """A real SMTP server (aiosmtpd) for the test: its inbox and port."""
    from tests.support.smtp import smtp_server

    with smtp_server() as found:
        yield found


# ---------------------------------------------------------------- browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    Module scope on purpose: Playwright's sync API keeps an event loop marked as running in
    its thread, so while it lives `asyncio.run()` fails in every other test of that worker.
    """
    executable = shutil.which("chromium")
    if executable is None:
        unavailable("Chromium", "`chromium` is not on PATH (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()
