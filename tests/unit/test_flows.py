"""The event-to-command table names real inputs and commands, and draws as it reads."""

from __future__ import annotations

import re

import attrs
import pytest

from drfulfillment.codecs import render_request
from drfulfillment.codecs.events import ORDER_EVENT_TYPES
from drfulfillment.diagrams.flows import CALLS, sequence, table
from drfulfillment.domain import commands
from drfulfillment.domain.flows import FLOWS
from drfulfillment.domain.inputs import Party, RequestedUnits
from drfulfillment.domain.state import IntegrationModel

COMMANDS = {
    name
    for name in commands.__all__
    if attrs.has(getattr(commands, name))
    and hasattr(getattr(commands, name), "key")
    and "key" in attrs.fields_dict(getattr(commands, name))
}
REQUESTS = {
    "request_cancellation",
    "report_shipment",
    "report_cancellation",
    "request_return",
    "accept_return",
}
MODELS = list(IntegrationModel)


def _sample(name: str) -> commands.ApiCommand:
    """A minimal instance of API command ``name``."""
    unit = (RequestedUnits("i1", 1),)
    samples: dict[str, commands.ApiCommand] = {
        "CreateFulfillmentOrder": commands.CreateFulfillmentOrder(
            key="k",
            order_id="o",
            currency="USD",
            upstream_order_time="2021-11-01T18:23:02Z",
            ship_to=Party(),
            shipping_choice_id="SG",
            items=(),
        ),
        "CreateFulfillment": commands.CreateFulfillment(
            key="k", order_id="o", items=()
        ),
        "CreateFulfillmentCancellation": commands.CreateFulfillmentCancellation(
            key="k", fulfillment_order_id="f", order_id="o", items=()
        ),
        "CreateFulfillmentReturn": commands.CreateFulfillmentReturn(
            key="k", fulfillment_order_id="f", order_id="o", items=()
        ),
        "CreateReturn": commands.CreateReturn(key="k", order_id="o", items=unit),
        "UpdateReturn": commands.UpdateReturn(key="k", order_id="o", return_id="{id}"),
        "CreateRefund": commands.CreateRefund(
            key="k", order_id="o", currency="USD", items=unit
        ),
    }
    return samples[name]


class TestTable:
    """Rows name inputs the codec reads and commands the engine has."""

    @pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
    def test_rows_name_known_inputs_and_commands(self, model: IntegrationModel) -> None:
        """Triggers are DR event types or merchant requests; commands exist."""
        for flow in FLOWS[model]:
            if flow.source == "merchant":
                assert flow.trigger in REQUESTS
            else:
                assert flow.source == "DR"
                known = flow.trigger in ORDER_EVENT_TYPES or flow.trigger == "order.*"
                assert known or flow.trigger.startswith(
                    ("fulfillment", "order.charge.")
                ), flow.trigger
            assert flow.commands
            assert set(flow.commands) <= COMMANDS, flow.commands

    def test_orchestrated_never_posts_fulfillments(self) -> None:
        """DR captures and cancels itself in the orchestrated model."""
        emitted = {c for f in FLOWS[IntegrationModel.ORCHESTRATED] for c in f.commands}
        assert not emitted & {"CreateFulfillment", "CreateFulfillmentOrder"}

    def test_third_party_never_refunds(self) -> None:
        """DR refunds third-party returns itself: no ``CreateRefund`` there."""
        emitted = {c for f in FLOWS[IntegrationModel.THIRD_PARTY] for c in f.commands}
        assert "CreateRefund" not in emitted
        assert not emitted & {"CreateFulfillmentOrder", "CreateFulfillmentReturn"}

    @pytest.mark.parametrize("name", sorted(CALLS))
    def test_calls_are_the_codec_s(self, name: str) -> None:
        """The call drawn for each API command is the one the codec renders."""
        method, path, _ = render_request(_sample(name))
        assert f"{method} {path}" == CALLS[name]

    def test_every_api_command_has_a_call(self) -> None:
        """No API command is drawn without its DR call."""
        api = {n for n in COMMANDS if n.startswith(("Create", "Update"))}
        assert api == set(CALLS)


class TestDrawn:
    """The sequence diagram and the table show the rows, in order."""

    @pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
    def test_sequence_lists_each_row(self, model: IntegrationModel) -> None:
        """One message per trigger then one per command, in the table's order."""
        text = sequence(model)
        drawn = re.findall(r"^  (?:DR|Merchant)->>Engine: (.+)$", text, re.M)
        assert drawn == [f.trigger for f in FLOWS[model]]
        sent = re.findall(r"^  Engine->>(?:API|You): (.+)$", text, re.M)
        assert sent == [
            f"{CALLS[c]} ({c})" if c in CALLS else c
            for f in FLOWS[model]
            for c in f.commands
        ]

    @pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
    def test_table_has_a_row_per_flow(self, model: IntegrationModel) -> None:
        """The Markdown table has a header and one row per flow."""
        rows = table(model).splitlines()
        assert len(rows) == 2 + len(FLOWS[model])
        assert all(
            r.startswith(f"| `{f.trigger}` |")
            for r, f in zip(rows[2:], FLOWS[model], strict=True)
        )
