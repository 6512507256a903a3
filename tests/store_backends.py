"""Store backends for tests: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL: one throwaway database per test session (`orderd_test_<pid>`, dropped at the end) and one
schema per test inside it, selected through libpq's `options=-csearch_path=…` in the store URL, so a
test that reopens its URL finds its own tables and no test sees another's rows. The server is the
machine's (ORDERD_TEST_PG, default postgresql://root@127.0.0.1:5432/postgres); when it is not
reachable the tests fail with a message saying so, they do not skip: CI must not go green without
having exercised the PostgreSQL store.

Import the fixtures into a test module with `from store_backends import pg_database, backend`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

PG_ADMIN_URL = os.environ.get("ORDERD_TEST_PG", "postgresql://root@127.0.0.1:5432/postgres")

_schemas = itertools.count(1)


@dataclass(frozen=True)
class PgDatabase:
    name: str
    admin_url: str

    @property
    def url(self) -> str:
        """URL of the throwaway database itself (public schema)."""
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{self.name}"

    def new_schema(self, prefix: str = "t") -> str:
        """A fresh, empty schema; returns a store URL that uses it."""
        schema = f"{prefix}_{next(_schemas)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return self.schema_url(schema)

    def schema_url(self, schema: str) -> str:
        return f"{self.url}?options={quote(f'-csearch_path={schema}')}"

    def connect(self, schema: str | None = None) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True)
        if schema:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return conn


def _admin_connect() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed for the PostgreSQL store tests and is not reachable at {PG_ADMIN_URL}"
                    f" (set ORDERD_TEST_PG, or start it: pg_ctlcluster 15 main start): {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    name = f"orderd_test_{os.getpid()}"
    with _admin_connect() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PgDatabase(name, PG_ADMIN_URL)
    finally:
        with _admin_connect() as admin:
            # FORCE: a subprocess killed mid-test may still hold a connection.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Backend:
    """One store location for one test, with what differs between the implementations."""

    name: str
    url: str
    integrity_error: type[Exception]
    schema: str | None = None
    pg: PgDatabase | None = None
    sqlite_path: Path | None = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Another writer holds the lock on the journal for the duration."""
        if self.sqlite_path is not None:
            blocker = sqlite3.connect(self.sqlite_path, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")  # WAL: blocks other writers
            try:
                yield
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            return
        assert self.pg is not None
        with self.pg.connect(self.schema) as blocker:
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE journal IN EXCLUSIVE MODE")  # conflicts with INSERT/UPDATE
            try:
                yield
            finally:
                blocker.execute("ROLLBACK")

    def set_schema_version(self, version: int) -> None:
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            conn.execute(f"PRAGMA user_version={version}")
            conn.close()
            return
        assert self.pg is not None
        with self.pg.connect(self.schema) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS orderd_schema (singleton BOOLEAN PRIMARY KEY DEFAULT TRUE,"
                         " version INTEGER NOT NULL)")
            conn.execute("INSERT INTO orderd_schema VALUES (TRUE, %s) ON CONFLICT (singleton)"
                         " DO UPDATE SET version = EXCLUDED.version", (version,))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "o.sqlite3"
        return Backend("sqlite", f"sqlite:///{path}", sqlite3.IntegrityError, sqlite_path=path)
    pg: PgDatabase = request.getfixturevalue("pg_database")
    url = pg.new_schema()
    schema = url.rsplit("%3D", 1)[1]
    return Backend("postgres", url, psycopg.IntegrityError, schema=schema, pg=pg)
