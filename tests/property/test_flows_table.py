"""The engine keeps to its own event-to-command table (``domain/flows.py``).

For any generated history of any model, delivered in any way DR may: every command an
input makes the engine emit is listed in the row of that input, or in the row of an
input it released (a waiting input applied along with it). The flow diagrams and the
docs' tables are drawn from that table, so they cannot promise less than the engine does.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import Json
from drfulfillment import Engine, IntegrationModel
from drfulfillment.codecs import parse_input
from drfulfillment.domain.flows import FLOWS
from strategies import deliveries, histories

MODELS = list(IntegrationModel)


def trigger_of(doc: Json) -> str:
    """The table's name for a document: its event type or request kind."""
    return str(doc.get("type") or doc["request"])


def unlisted(model: IntegrationModel, docs: list[Json]) -> list[tuple[str, str]]:
    """``(trigger, command)`` pairs the engine emitted that the table does not list."""
    kind_of = {str(d["id"]): trigger_of(d) for d in docs}
    engine = Engine(model)
    found = []
    for doc in docs:
        outcome = engine.handle(parse_input(doc))
        triggers = {trigger_of(doc), *(kind_of[r] for r in outcome.released)}
        allowed = {
            c
            for flow in FLOWS[model]
            if any(fnmatch.fnmatchcase(t, flow.trigger) for t in triggers)
            for c in flow.commands
        }
        found += [
            (trigger_of(doc), type(c).__name__)
            for c in outcome.commands
            if type(c).__name__ not in allowed
        ]
    return found


@pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
@given(data=st.data())
def test_every_command_is_in_its_input_s_row(
    model: IntegrationModel, data: Any
) -> None:
    """No input emits a command its row (or a released input's row) does not list."""
    history = data.draw(histories(model))
    assert unlisted(model, data.draw(deliveries(history))) == []
