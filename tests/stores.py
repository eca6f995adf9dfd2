"""Store factories for the tests: PostgreSQL when a server is configured, else a skip.

``DRFULFILLMENT_TEST_POSTGRES`` holds a connection URL (``scripts/postgres start`` prints
it, and ``scripts/test`` exports it). Each test gets its own fresh schema in that
database, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest

from drfulfillment.domain.ports import Store

ENV = "DRFULFILLMENT_TEST_POSTGRES"


def postgres_url() -> str | None:
    """The configured server's URL, or ``None``."""
    url = os.environ.get(ENV, "")
    return None if url in ("", "skip") else url


def postgres_store_or_skip(opened: list[Store]) -> Callable[[], Store]:
    """A factory of :class:`PostgresStore` objects on one fresh schema, or a skip."""
    url = postgres_url()
    if url is None:
        pytest.skip(
            f"PostgreSQL: no server configured; set {ENV} to a connection URL "
            "(scripts/test starts one with scripts/postgres)"
        )
    import psycopg

    from drfulfillment.adapters.postgres import PostgresStore

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

    def factory() -> Store:
        store = PostgresStore(scoped)
        opened.append(store)
        return store

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    opened.append(_Dropper(drop))  # type: ignore[arg-type]
    return factory


class _Dropper:
    """Closes last: drops the test's schema."""

    def __init__(self, drop: Callable[[], None]) -> None:
        self._drop = drop

    def close(self) -> None:
        self._drop()
