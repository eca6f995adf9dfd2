"""Lifecycle diagrams, drawn from the very machines the engine validates with.

Each declared lifecycle (:data:`drfulfillment.domain.lifecycles.LIFECYCLES`) holds one
``transitions.Machine``; :meth:`Rulebook.edges` reads its transitions back, and this
module writes them as Mermaid (``stateDiagram-v2``) or Graphviz DOT text. States are
named as DR names them, each arrow is labelled with the DR event (or merchant request)
that causes it, the initial state is entered from a start mark and final states lead
to an end mark (Mermaid) or are drawn with a double border (DOT). No state is drawn as
"current": a lifecycle has none. The output is plain text and deterministic, so the
committed files can be compared byte for byte.
"""

from __future__ import annotations

import enum
from typing import Any

from drfulfillment.domain.lifecycles import LIFECYCLES, Rulebook

__all__ = ["TITLES", "arrows", "dot", "mermaid"]

#: What each lifecycle is, in DR's words, for the diagrams' titles.
TITLES = {
    "order": "Order (DR Order.state)",
    "fulfillment_order": "Fulfillment order (derived from its lines' buckets)",
    "line_item": "Fulfillment-order line item (derived from its buckets)",
    "fulfillment_cancellation": "Fulfillment cancellation",
    "fulfillment_return": "Fulfillment return (DR-coordinated)",
    "return": "Return (third-party, Returns API)",
    "refund": "Refund (POST /refunds)",
    "charge": "Charge",
    "capture": "Charge capture",
    "charge_cancel": "Charge cancel",
    "charge_refund": "Charge refund (as the charge shows it)",
}


def arrows(book: Rulebook[Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(source, destination, triggers)`` per arrow, in declaration order."""
    merged: dict[tuple[str, str], list[str]] = {}
    for source, trigger, dest in book.edges():
        triggers = merged.setdefault((_name(source), _name(dest)), [])
        if trigger not in triggers:
            triggers.append(trigger)
    return [(s, d, tuple(t)) for (s, d), t in merged.items()]


def _name(state: enum.Enum) -> str:
    return str(state.value)


def _ordered_states(book: Rulebook[Any]) -> list[str]:
    return [_name(s) for s in book.states]


def mermaid(name: str) -> str:
    """The lifecycle ``name`` as a Mermaid state diagram."""
    book = LIFECYCLES[name]
    out = [
        "---",
        f"title: {TITLES[name]}",
        "---",
        "stateDiagram-v2",
        "  direction LR",
    ]
    out += [f'  state "{s}" as {s}' for s in _ordered_states(book)]
    out.append(f"  [*] --> {_name(book.initial)}")
    for source, dest, triggers in arrows(book):
        out.append(f"  {source} --> {dest}: {' / '.join(triggers)}")
    finals = [s for s in book.states if s in book.finals]
    out += [f"  {_name(s)} --> [*]" for s in finals]
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(name: str) -> str:
    """The lifecycle ``name`` as a Graphviz DOT digraph."""
    book = LIFECYCLES[name]
    out = [
        f"digraph {_quote(name)} {{",
        "  rankdir=LR;",
        f"  label={_quote(TITLES[name])};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  "__start__" [shape=point, width=0.15, label=""];',
    ]
    for state in book.states:
        extra = ", peripheries=2" if state in book.finals else ""
        out.append(f"  {_quote(_name(state))} [label={_quote(_name(state))}{extra}];")
    out.append(f"  {_quote('__start__')} -> {_quote(_name(book.initial))};")
    for source, dest, triggers in arrows(book):
        label = "\\n".join(triggers)
        out.append(f'  {_quote(source)} -> {_quote(dest)} [label="{label}"];')
    out.append("}")
    return "\n".join(out) + "\n"
