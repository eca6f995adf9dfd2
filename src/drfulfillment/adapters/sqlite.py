"""The SQLite store, the embedded default: stdlib ``sqlite3``, no set-up.

One connection per thread; the threads of one process take turns for transactions on
one file (a lock per file), because SQLite's own busy handler backs off with growing
sleeps and, under dozens of concurrent writers, starves some of them for seconds (seen
under the webhook load test: a 3.4 s worst case at 64 concurrent deliveries, under
0.5 s with the lock). The database runs in WAL mode with ``synchronous=FULL``, so
every committed transaction is durable, and write transactions start with
``BEGIN IMMEDIATE``, which takes SQLite's single write lock at once: two processes
committing to the same order are serialised, and :meth:`commit`'s version check turns
the later one into :class:`~drfulfillment.domain.ports.StaleVersion`. ``busy_timeout``
makes a writer wait for the lock instead of failing.

:meth:`SqliteStore.hold` holds an order among the workers of one process on one file
(a worker is a thread with its store; :class:`~drfulfillment.adapters.memory.Holds`
per file). Workers in other processes do not see those holds: between processes,
the version check above and ``AlreadySettled`` keep the outcome right, and a worker
that never finds an order held never skips an input, so it applies each order's inputs
in arrival order.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from drfulfillment.adapters.memory import Holds
from drfulfillment.adapters.sqlstore import SqlStore
from drfulfillment.adapters.sqltables import schema

__all__ = ["SCHEMA", "SqliteStore"]

SCHEMA = schema(serial="INTEGER PRIMARY KEY AUTOINCREMENT", blob="BLOB", real="REAL")


_FILE_LOCKS: dict[str, tuple[threading.Lock, Holds]] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: str) -> tuple[threading.Lock, Holds]:
    """The process-wide lock and order holds of one database file."""
    key = path if path == ":memory:" else os.path.realpath(path)
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, (threading.Lock(), Holds()))


class SqliteStore(SqlStore):
    """A :class:`~drfulfillment.domain.ports.Store` in one SQLite file."""

    def __init__(
        self, path: str | Path = "drfulfillment.sqlite3", *, timeout: float = 30.0
    ):
        self.path = str(path)
        self.timeout = timeout
        self._start_connections()
        self._file, self._holds = _file_lock(self.path)
        conn = self._connection()
        conn.executescript(SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return conn

    def _serialised(self) -> threading.Lock:
        return self._file

    def _begin(self, cursor: Any) -> None:
        cursor.execute("BEGIN IMMEDIATE")

    def hold(self, order_id: str) -> bool:
        """Hold ``order_id`` for the calling thread on this store; ``False`` if
        another worker of this process holds it."""
        return self._holds.hold(order_id, (id(self), threading.get_ident()))

    def release(self, *order_ids: str) -> None:
        """Let go of orders the calling thread holds on this store."""
        self._holds.release(order_ids, (id(self), threading.get_ident()))
