"""Integration-model flows: DR events and merchant requests -> engine -> commands.

Drawn from :data:`drfulfillment.domain.flows.FLOWS`, the table the property tests hold
the engine to, as Mermaid sequence diagrams (and as Markdown tables for the docs).
"""

from __future__ import annotations

from drfulfillment.domain.flows import FLOWS
from drfulfillment.domain.state import IntegrationModel

__all__ = ["CALLS", "sequence", "table"]

#: The DR call each API command stands for (checked against the codec's rendering).
CALLS = {
    "CreateFulfillmentOrder": "POST /fulfillment-orders",
    "CreateFulfillment": "POST /fulfillments",
    "CreateFulfillmentCancellation": "POST /fulfillment-cancellations",
    "CreateFulfillmentReturn": "POST /fulfillment-returns",
    "CreateReturn": "POST /returns",
    "UpdateReturn": "POST /returns/{id}",
    "CreateRefund": "POST /refunds",
}

_TITLES = {
    IntegrationModel.DISTRIBUTED: "Distributed model (DR-coordinated, you call DR)",
    IntegrationModel.ORCHESTRATED: "Orchestrated model (DR-coordinated, DR calls itself)",
    IntegrationModel.THIRD_PARTY: "Third-party model (your own fulfiller)",
}


def _target(command: str) -> tuple[str, str]:
    call = CALLS.get(command)
    if call is None:
        return "You", command
    return "API", f"{call} ({command})"


def sequence(model: IntegrationModel) -> str:
    """The model's flow as a Mermaid sequence diagram."""
    out = [
        "---",
        f"title: {_TITLES[model]}",
        "---",
        "sequenceDiagram",
        "  participant DR as DR webhooks",
        "  participant Merchant as Merchant requests",
        "  participant Engine as drfulfillment",
        "  participant API as DR API",
        "  participant You as Your systems",
    ]
    for flow in FLOWS[model]:
        out.append(
            f"  {flow.source.replace('merchant', 'Merchant')}->>Engine: {flow.trigger}"
        )
        out.append(f"  Note right of Engine: {flow.when}")
        for command in flow.commands:
            target, label = _target(command)
            out.append(f"  Engine->>{target}: {label}")
    return "\n".join(out) + "\n"


def table(model: IntegrationModel) -> str:
    """The model's flow as a Markdown table (trigger, from, commands, when)."""
    out = [
        "| input | from | may emit | when |",
        "|---|---|---|---|",
    ]
    for flow in FLOWS[model]:
        emits = "<br>".join(
            f"`{c}` ({CALLS[c]})" if c in CALLS else f"`{c}`" for c in flow.commands
        )
        out.append(f"| `{flow.trigger}` | {flow.source} | {emits} | {flow.when} |")
    return "\n".join(out) + "\n"
