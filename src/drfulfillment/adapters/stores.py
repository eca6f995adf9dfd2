"""Open a store from a command-line or environment spec.

* ``postgresql://...`` (or ``postgres://``): :class:`~drfulfillment.adapters.postgres.PostgresStore`
  (psycopg is imported only then);
* ``memory:``: :class:`~drfulfillment.adapters.memory.MemoryStore` (nothing persists);
* anything else is a SQLite file path (created if missing), the default being
  ``drfulfillment.sqlite3`` in the working directory or ``$DRFULFILLMENT_STORE``.
"""

from __future__ import annotations

import os

from drfulfillment.domain.ports import Store

__all__ = ["DEFAULT_STORE", "open_store", "store_spec"]

DEFAULT_STORE = "drfulfillment.sqlite3"


def store_spec(spec: str | None) -> str:
    """``spec``, else ``$DRFULFILLMENT_STORE``, else the default SQLite file."""
    return spec or os.environ.get("DRFULFILLMENT_STORE") or DEFAULT_STORE


def open_store(spec: str | None = None) -> Store:
    """The store ``spec`` names (see the module docstring)."""
    chosen = store_spec(spec)
    if chosen.startswith(("postgresql://", "postgres://")):
        from drfulfillment.adapters.postgres import PostgresStore

        return PostgresStore(chosen)
    if chosen == "memory:":
        from drfulfillment.adapters.memory import MemoryStore

        return MemoryStore()
    from drfulfillment.adapters.sqlite import SqliteStore

    return SqliteStore(chosen)
