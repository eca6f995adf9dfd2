"""The tables both SQL stores share, and how their rows read back as port records.

:func:`schema` is the DDL in one dialect (SQLite and PostgreSQL differ only in a few
column types); :func:`inbox_entry` and :func:`outbox_entry` turn rows selected with
:data:`INBOX_COLUMNS` and :data:`OUTBOX_COLUMNS` into
:class:`~drfulfillment.domain.ports.InboxEntry` and
:class:`~drfulfillment.domain.ports.OutboxEntry`. Tables:

* ``orders``: one row per order, its state JSON and a version bumped by each commit.
* ``fulfillment_orders``: which order owns each fulfillment order (for routing).
* ``inbox``: every received input by ``event_id`` (unique), with its status.
* ``outbox``: every command by idempotency key (primary key), with its status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drfulfillment.domain.ports import (
    InboxEntry,
    InboxStatus,
    OutboxEntry,
    OutboxStatus,
)

__all__ = [
    "INBOX_COLUMNS",
    "OUTBOX_COLUMNS",
    "inbox_entry",
    "outbox_entry",
    "schema",
]


def schema(*, serial: str, blob: str, real: str) -> str:
    """The tables in one dialect: ``serial`` an auto-increment key, ``blob`` bytes,
    ``real`` a float. SQLite and PostgreSQL differ only in these."""
    return f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS fulfillment_orders (
    fo_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    seq {serial},
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    body {blob} NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    order_id TEXT,
    parked_on TEXT
);
CREATE INDEX IF NOT EXISTS inbox_status ON inbox (status, seq);
CREATE INDEX IF NOT EXISTS inbox_parked ON inbox (parked_on) WHERE status = 'parked';
CREATE INDEX IF NOT EXISTS inbox_order ON inbox (order_id);
CREATE TABLE IF NOT EXISTS outbox (
    seq {serial},
    key TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {real} NOT NULL DEFAULT 0,
    lease_until {real},
    detail TEXT NOT NULL DEFAULT '',
    response TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (order_id);
INSERT INTO meta (name, value) VALUES ('schema_version', '1')
    ON CONFLICT (name) DO NOTHING;
"""  # noqa: S608 - the column types come from the two adapters, never from input


INBOX_COLUMNS = "seq, event_id, event_type, body, status, detail, order_id"
OUTBOX_COLUMNS = (
    "key, order_id, kind, command, status, attempts, next_attempt_at, lease_until, "
    "detail, response, seq"
)


def inbox_entry(row: Sequence[Any]) -> InboxEntry:
    return InboxEntry(
        seq=int(row[0]),
        event_id=row[1],
        event_type=row[2],
        body=bytes(row[3]),
        status=InboxStatus(row[4]),
        detail=row[5],
        order_id=row[6],
    )


def outbox_entry(row: Sequence[Any]) -> OutboxEntry:
    return OutboxEntry(
        key=row[0],
        order_id=row[1],
        kind=row[2],
        command=row[3],
        status=OutboxStatus(row[4]),
        attempts=int(row[5]),
        next_attempt_at=float(row[6]),
        lease_until=None if row[7] is None else float(row[7]),
        detail=row[8],
        response=row[9],
        seq=int(row[10]),
    )
