"""Feeding JSON documents through an engine, the way the scenario tests all do."""

from __future__ import annotations

from typing import Any

from builders import Json
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.domain import Engine, InputRefused, Outcome


def handle(engine: Engine, doc: Json) -> Outcome:
    """Parse one JSON document and hand it to the engine."""
    return engine.handle(parse_input(doc))


def feed(engine: Engine, *docs: Json) -> list[dict[str, Any]]:
    """Every command the documents cause, in order, as the CLI prints them."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        out += [command_json(c) for c in handle(engine, doc).commands]
    return out


def outcome_of(engine: Engine, document: Any) -> tuple[Any, ...]:
    """What one input did, or why it was refused: for comparing two engines."""
    try:
        out = engine.handle(parse_input(document))
    except InputRefused as exc:
        return ("refused", type(exc).__name__, str(exc))
    return (out.outcome, out.commands, out.order_id, out.released, out.dropped)
