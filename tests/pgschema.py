"""A fresh PostgreSQL schema as a connection URL, for tests that hand the URL on.

:func:`tests.stores.postgres_store_or_skip` gives store objects; tests that start
other processes (``drfulfillment work --store URL``) need the scoped URL itself. The
URL pins ``search_path`` to the schema (libpq ``options=-csearch_path=...``), so every
connection made from it, in any process, sees only that schema's tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

from stores import ENV, postgres_url


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
