"""PostgreSQL for the tests: a fresh schema per test, or a skip when no server is set.

``DRFULFILLMENT_TEST_POSTGRES`` holds a connection URL (``scripts/postgres start``
prints it, and ``scripts/test`` exports it; ``skip`` skips). Each test gets its own new
schema in that database, dropped afterwards, so tests never see each other's rows. The
URL handed out pins ``search_path`` to the schema (libpq ``options=-csearch_path=...``),
so every connection made from it, in any process, sees only that schema's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from drfulfillment.domain.ports import Store

ENV = "DRFULFILLMENT_TEST_POSTGRES"


def postgres_url() -> str | None:
    """The configured server's URL, or ``None``."""
    url = os.environ.get(ENV, "")
    return None if url in ("", "skip") else url


def scoped_url(url: str, schema: str) -> str:
    """``url`` with its connections' ``search_path`` set to ``schema``."""
    option = quote(f"-csearch_path={schema}", safe="-")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@contextmanager
def fresh_schema_url() -> Iterator[str]:
    """A URL scoped to a new empty schema, dropped (with its tables) on exit.

    Skips the test when no server is configured. Close every connection made from
    the URL (stop the processes using it) before the block ends: the drop waits for
    their locks.
    """
    url = postgres_url()
    if url is None:
        pytest.skip(
            f"PostgreSQL: no server configured; set {ENV} to a connection URL "
            "(scripts/test starts one with scripts/postgres)"
        )
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield scoped_url(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_store_or_skip(opened: list[Store]) -> Callable[[], Store]:
    """A factory of :class:`PostgresStore` objects on one fresh schema, or a skip.

    The stores are appended to ``opened``; closing them all (in order) closes the
    stores, then drops the schema.
    """
    stack = ExitStack()
    url = stack.enter_context(fresh_schema_url())

    from drfulfillment.adapters.postgres import PostgresStore

    def factory() -> Store:
        store = PostgresStore(url)
        opened.insert(len(opened) - 1, store)  # before the schema's drop
        return store

    opened.append(_Closing(stack))  # type: ignore[arg-type]
    return factory


class _Closing:
    """Closes last: drops the test's schema."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def close(self) -> None:
        self._stack.close()


def store_factory(kind: str, path: Path, opened: list[Store]) -> Callable[[], Store]:
    """A factory of stores of ``kind`` (``memory``, ``sqlite``, ``postgresql``) on the
    same data: memory hands out one shared store, SQLite reopens the file ``path``,
    PostgreSQL one fresh schema (or skips). Close everything in ``opened``, in order."""
    if kind == "memory":
        from drfulfillment.adapters.memory import MemoryStore

        shared = MemoryStore()
        return lambda: shared
    if kind == "sqlite":
        from drfulfillment.adapters.sqlite import SqliteStore

        def factory() -> Store:
            store = SqliteStore(path)
            opened.append(store)
            return store

        return factory
    return postgres_store_or_skip(opened)
