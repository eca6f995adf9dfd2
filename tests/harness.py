"""Feeding JSON documents through an engine, the way the scenario tests all do."""

from __future__ import annotations

from typing import Any

from builders import Json
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.domain import Engine, Outcome


def handle(engine: Engine, doc: Json) -> Outcome:
    """Parse one JSON document and hand it to the engine."""
    return engine.handle(parse_input(doc))


def feed(engine: Engine, *docs: Json) -> list[dict[str, Any]]:
    """Every command the documents cause, in order, as the CLI prints them."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        out += [command_json(c) for c in handle(engine, doc).commands]
    return out
