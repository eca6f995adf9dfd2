"""The engine's per-order state as JSON, with a schema version and an upgrade path.

``dump_state`` writes ``{"schemaVersion": N, "order": {...}}``; ``load_state`` reads any
version it knows, upgrading older ones step by step (``_UPGRADES``), and refuses newer
or malformed documents with :class:`MalformedInput`. The round trip is lossless (a
property test checks ``load_state(dump_state(s)) == s``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cattrs

from drfulfillment.codecs.json import make_converter
from drfulfillment.domain.errors import InputRefused, MalformedInput
from drfulfillment.domain.ledger import check_invariants
from drfulfillment.domain.state import OrderState

__all__ = [
    "SCHEMA_VERSION",
    "dump_state",
    "load_state",
    "state_from_json",
    "state_to_json",
]

SCHEMA_VERSION = 1

_CONVERTER = make_converter()

#: ``version -> function upgrading a document of that version to the next``.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def state_to_json(state: OrderState) -> dict[str, Any]:
    """The versioned JSON document of ``state``."""
    return {"schemaVersion": SCHEMA_VERSION, "order": _CONVERTER.unstructure(state)}


def state_from_json(document: dict[str, Any]) -> OrderState:
    """Read a versioned document, upgrading it if it is older."""
    version = document.get("schemaVersion")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MalformedInput(
            None, "schemaVersion", f"not a schema version: {version!r}"
        )
    if version > SCHEMA_VERSION:
        raise MalformedInput(
            None,
            "schemaVersion",
            f"version {version} is newer than this library's {SCHEMA_VERSION}",
        )
    while version < SCHEMA_VERSION:
        document = _UPGRADES[version](document)
        version += 1
    try:
        state = _CONVERTER.structure(document.get("order"), OrderState)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        messages = (
            cattrs.transform_error(exc, path="$.order")
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        raise MalformedInput(None, "order", "; ".join(messages)[:500]) from None
    try:
        check_invariants(state, None)
    except InputRefused as exc:
        raise MalformedInput(None, "order", f"impossible state: {exc.reason}") from None
    return state


def dump_state(state: OrderState) -> str:
    """``state`` as compact, key-sorted JSON text."""
    return json.dumps(state_to_json(state), sort_keys=True, separators=(",", ":"))


def load_state(text: str | bytes) -> OrderState:
    """The inverse of :func:`dump_state`."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedInput(None, None, f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedInput(None, None, "expected a JSON object")
    return state_from_json(document)
