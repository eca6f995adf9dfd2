"""Unit tests of ``domain/return_requests.py`` and ``domain/returns.py`` through ``Engine``.

What may be returned (shipped, less open returns, less units asked for and not yet
seen; rejections and partial acceptances free units), which DR call a request becomes
(``POST /fulfillment-returns`` per fulfillment order, ``POST /returns`` for third-party
and digital lines), accepting third-party returns, when the calls and refunds are
emitted (only in ``RETURNS_ALLOWED``) and the refund owed once per accepted return.
"""

from __future__ import annotations

from typing import Any

import pytest

from builders import (
    Json,
    fo_line,
    fulfillment_order,
    fulfillment_return,
    order_event,
    request,
    return_event,
    shipped,
)
from drfulfillment.codecs import parse_input, render_request
from drfulfillment.domain import (
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    Engine,
    IllegalTransition,
    InputRefused,
    IntegrationModel,
    MalformedInput,
    QuantityExceeded,
    UnknownReference,
    UpdateReturn,
    line_ledger,
)
from harness import handle

ORDER = "204440790336"
ITEM = "127911830336"
DIGITAL = "127911830337"
ITEM_B = "127911830338"
FO, LINE = "fo-1", "fl-1"
T0 = "2021-11-01T18:30:00Z"
Call = tuple[str, str, str, dict[str, Any]]


def calls(engine: Engine, *docs: Json) -> list[Call]:
    """``(idempotency key, method, path, body)`` of every return or refund call."""
    out: list[Call] = []
    for doc in docs:
        for c in handle(engine, doc).commands:
            if isinstance(
                c, CreateFulfillmentReturn | CreateReturn | UpdateReturn | CreateRefund
            ):
                out.append((c.key, *render_request(c)))
    return out


def refused(engine: Engine, doc: Json) -> InputRefused:
    """The refusal ``doc`` meets; the engine's state is left exactly as it was."""
    before = dict(engine.orders)
    with pytest.raises(InputRefused) as info:
        handle(engine, doc)
    assert engine.orders == before
    return info.value


def ret(rid: str, quantity: int, item: str = ITEM, **extra: Any) -> Json:
    """A merchant ``request_return`` of ``quantity`` units of ``item``."""
    return request("request_return", rid, ORDER, [(item, quantity)], **extra)


def accept(rid: str, items: list[tuple[str, int]] | None = None) -> Json:
    """A merchant ``accept_return`` of ``ret-1`` (whole unless ``items``)."""
    doc = request("accept_return", rid, ORDER, items or [], returnId="ret-1")
    if items is None:
        del doc["items"]
    return doc


def fo_return(
    rid: str,
    event_id: str,
    state: str,
    qty: int,
    acc: int | None = None,
    minute: int = 0,
) -> Json:
    """``fulfillment_return.<state>`` of ``qty`` units of ``LINE``."""
    created = f"2021-11-05T09:{minute:02d}:00Z"
    return fulfillment_return(
        event_id, state, rid, FO, ORDER, [(LINE, qty, acc)], created
    )


def fr_call(rid: str, qty: int, fo: str = FO, line: str = LINE, **body: Any) -> Call:
    """The expected ``POST /fulfillment-returns`` of a request."""
    items = [{"fulfillmentOrderItemId": line, "quantity": qty}]
    full = {"fulfillmentOrderId": fo, "upstreamId": ORDER, **body, "items": items}
    return (f"fulfillment-return:{rid}:{fo}", "POST", "/fulfillment-returns", full)


def refund_call(fr_id: str, qty: int) -> Call:
    """The expected ``POST /refunds`` of an accepted fulfillment return."""
    body = {
        "orderId": ORDER,
        "currency": "USD",
        "reason": "requested_by_customer",
        "items": [{"itemId": ITEM, "quantity": qty, "percent": 100}],
    }
    return (f"refund:fulfillment-return:{fr_id}", "POST", "/refunds", body)


def fo_pending(event_id: str, fo: str, line: str, quantity: int) -> Json:
    """``fulfillment_order.pending`` with one line of ``ITEM``."""
    lines = [fo_line(line, ITEM, quantity)]
    return fulfillment_order(event_id, "fulfillment_order.pending", fo, ORDER, lines)


def order_doc(
    event_id: str, state: str, day: int, event_type: str | None = None
) -> Json:
    """``order.<state>`` on 2021-11-``day`` with one line of 3 units."""
    created = f"2021-11-{day:02d}T00:00:00Z"
    items = ((ITEM, 3, None),)
    return order_event(event_id, state, created, items=items, event_type=event_type)


def tp_return(
    event_id: str, state: str, items: list[tuple[str, int, int]], minute: int = 0
) -> Json:
    """``return.<state>`` of ``ret-1``: ``(item, quantity, quantityAccepted)``."""
    created = f"2021-11-05T10:{minute:02d}:00Z"
    return return_event(event_id, state, "ret-1", ORDER, items, created)


def distributed(quantity: int = 3, shipped_units: int = 2) -> Engine:
    """Accepted order, one FO line of ``quantity`` units, ``shipped_units`` shipped."""
    engine = Engine()
    calls(
        engine,
        order_event("e-acc", "accepted", T0, items=((ITEM, quantity, None),)),
        fo_pending("e-fo", FO, LINE, quantity),
        shipped("e-s1", "s1", FO, ORDER, [("s1-i", LINE, ITEM, shipped_units)]),
    )
    return engine


def third_party() -> Engine:
    """Third-party model: lines of 3 units; 2 of ``ITEM``, 3 of ``ITEM_B`` shipped."""
    engine = Engine(IntegrationModel.THIRD_PARTY)
    calls(
        engine,
        order_event(
            "e-acc", "accepted", T0, items=((ITEM, 3, None), (ITEM_B, 3, None))
        ),
        request("report_shipment", "ship-1", ORDER, [(ITEM, 2), (ITEM_B, 3)]),
    )
    return engine


def updated(items: list[tuple[str, int, int]]) -> Json:
    """``return.updated`` of ``ret-1`` showing ``(item, quantity, quantityAccepted)``."""
    doc = tp_return("e2", "created", items, minute=2)
    doc["type"] = "return.updated"
    return doc


def exceeded(engine: Engine, doc: Json, at: int = 0) -> str:
    """The reason of the ``QuantityExceeded`` refusal at ``items[at].quantity``."""
    err = refused(engine, doc)
    assert isinstance(err, QuantityExceeded)
    assert (err.input_id, err.field) == (doc["id"], f"items[{at}].quantity")
    return err.reason


class TestReturnable:
    """DR-coordinated lines: shipped, less open returns, less requested-not-seen."""

    def test_shipped_units_and_call(self) -> None:
        """Two shipped units become one fulfillment return; a third is refused."""
        engine = distributed()
        assert calls(engine, ret("r1", 2, reason="too big")) == [
            fr_call("r1", 2, reason="too big")
        ]
        assert exceeded(engine, ret("r2", 1)) == (
            f"line {ITEM}: 1 to return but only 0 may be "
            "(2 shipped and not returned, 2 already being returned)"
        )

    def test_open_return_holds_units(self) -> None:
        """Units in a ``created`` or ``pending`` return (anyone's) cannot be asked again."""
        engine = distributed()
        for event in (
            fo_return("fr-x", "e1", "created", 1),
            fo_return("fr-x", "e2", "pending", 1, minute=1),
        ):
            assert calls(engine, event) == []
            exceeded(engine, ret("r1", 2))
        assert calls(engine, ret("r1", 1)) == [fr_call("r1", 1)]

    def test_requested_units_count_until_seen(self) -> None:
        """An emitted request holds its units; once DR shows the return, it holds them."""
        engine = distributed()
        calls(engine, ret("r1", 1))
        exceeded(engine, ret("r2", 2))
        calls(engine, fo_return("fr-1", "e1", "created", 1))
        exceeded(engine, ret("r2", 2))
        assert calls(engine, ret("r2", 1)) == [fr_call("r2", 1)]

    def test_rejection_frees_units(self) -> None:
        """A rejected return gives its units back: they may be asked for again."""
        engine = distributed()
        calls(engine, ret("r1", 2), fo_return("fr-1", "e1", "created", 2))
        assert calls(engine, fo_return("fr-1", "e2", "rejected", 2, minute=1)) == []
        assert calls(engine, ret("r2", 2)) == [fr_call("r2", 2)]

    def test_partial_acceptance(self) -> None:
        """1 of 2 accepted: 1 unit refunded and returned, the other may go back again."""
        engine = distributed()
        calls(engine, ret("r1", 2), fo_return("fr-1", "e1", "created", 2))
        assert calls(engine, fo_return("fr-1", "e2", "accepted", 2, 1, minute=1)) == [
            refund_call("fr-1", 1)
        ]
        state = engine.orders[ORDER]
        ledger = line_ledger(
            state, state.fulfillment_orders[0], state.fulfillment_orders[0].lines[0]
        )
        assert (ledger.shipped, ledger.returned) == (1, 1)
        exceeded(engine, ret("r2", 2))
        assert calls(engine, ret("r2", 1)) == [fr_call("r2", 1)]

    def test_split_over_two_fulfillment_orders(self) -> None:
        """A line held in two FOs: one fulfillment return per FO, in FO order."""
        engine = Engine()
        calls(
            engine,
            order_event("e-acc", "accepted", T0, items=((ITEM, 4, None),)),
            fo_pending("e-fo1", "fo-1", "fl-1", 2),
            fo_pending("e-fo2", "fo-2", "fl-2", 2),
            shipped("e-s1", "s1", "fo-1", ORDER, [("s1-i", "fl-1", ITEM, 2)]),
            shipped("e-s2", "s2", "fo-2", ORDER, [("s2-i", "fl-2", ITEM, 1)]),
        )
        assert calls(engine, ret("r1", 3)) == [
            fr_call("r1", 2, "fo-1", "fl-1"),
            fr_call("r1", 1, "fo-2", "fl-2"),
        ]
        exceeded(engine, ret("r2", 1))

    def test_unknown_line_and_order(self) -> None:
        """An unknown line or order is an ``UnknownReference`` naming the field."""
        err = refused(distributed(), ret("r1", 1, item="nope"))
        assert (type(err), err.field) == (UnknownReference, "items[0].itemId")
        err = refused(Engine(), ret("r1", 1))
        assert (type(err), err.field) == (UnknownReference, "orderId")


class TestDirectReturns:
    """Third-party and digital lines go through ``POST /returns``; DR refunds them."""

    def test_third_party_path(self) -> None:
        """Fulfilled units become ``POST /returns``; DR's return then holds them."""
        engine = third_party()
        body = {
            "orderId": ORDER,
            "reason": "x",
            "items": [{"itemId": ITEM, "quantity": 2}],
        }
        assert calls(engine, ret("r1", 2, reason="x")) == [
            ("return:r1", "POST", "/returns", body)
        ]
        exceeded(engine, ret("r2", 1))
        assert calls(engine, tp_return("e1", "created", [(ITEM, 2, 0)])) == []
        exceeded(engine, ret("r2", 1))
        # DR refunds third-party returns itself: no POST /refunds.
        assert calls(engine, tp_return("e2", "accepted", [(ITEM, 2, 2)], 2)) == []
        exceeded(engine, ret("r2", 1))

    def test_digital_line_in_distributed_model(self) -> None:
        """A digital line is in no FO: its return is ``POST /returns``, once fulfilled."""
        engine = Engine()
        calls(
            engine,
            order_event(
                "e-acc", "accepted", T0, items=((ITEM, 1, True), (DIGITAL, 2, False))
            ),
        )
        exceeded(engine, ret("r0", 1, DIGITAL))
        calls(engine, request("report_shipment", "ship-1", ORDER, [(DIGITAL, 2)]))
        body = {"orderId": ORDER, "items": [{"itemId": DIGITAL, "quantity": 1}]}
        assert calls(engine, ret("r1", 1, DIGITAL)) == [
            ("return:r1", "POST", "/returns", body)
        ]


class TestAcceptReturn:
    """Accepting a known third-party return, whole or per item, within its open units."""

    def engine(self) -> Engine:
        """A third-party order with ``ret-1`` of 2 units created."""
        engine = third_party()
        calls(engine, ret("r1", 2), tp_return("e1", "created", [(ITEM, 2, 0)]))
        return engine

    def test_unknown_return(self) -> None:
        """A return no ``return.*`` event showed is an ``UnknownReference`` at returnId."""
        err = refused(third_party(), accept("a1"))
        assert (type(err), err.field) == (UnknownReference, "returnId")

    def test_whole_acceptance_call(self) -> None:
        """Items omitted: ``{"state": "accepted"}`` to ``POST /returns/ret-1``."""
        assert calls(self.engine(), accept("a1")) == [
            ("return-accept:a1", "POST", "/returns/ret-1", {"state": "accepted"})
        ]

    def test_already_accepted(self) -> None:
        """An accepted return cannot be accepted again: ``IllegalTransition``."""
        engine = self.engine()
        calls(engine, tp_return("e2", "accepted", [(ITEM, 2, 2)], minute=2))
        err = refused(engine, accept("a1"))
        assert (type(err), err.field) == (IllegalTransition, "returnId")

    def test_per_item_limits(self) -> None:
        """Two per-item acceptances of 1 are sent; a third unit or a foreign item is refused."""
        engine = self.engine()
        exceeded(engine, accept("a0", [(ITEM, 3)]))
        err = refused(engine, accept("a0", [(DIGITAL, 1)]))
        assert (type(err), err.field) == (UnknownReference, "items[0].itemId")
        body = {"items": [{"itemId": ITEM, "quantity": 1, "state": "accepted"}]}
        assert calls(engine, accept("a1", [(ITEM, 1)]), accept("a2", [(ITEM, 1)])) == [
            ("return-accept:a1", "POST", "/returns/ret-1", body),
            ("return-accept:a2", "POST", "/returns/ret-1", body),
        ]
        exceeded(engine, accept("a3", [(ITEM, 1)]))
        exceeded(self.engine(), accept("a4", [(ITEM, 1), (ITEM, 2)]), at=1)

    def test_second_acceptance_after_dr_confirms_first(self) -> None:
        """DR shows 1 of 2 accepted after our first acceptance: the other may follow."""
        engine = self.engine()
        calls(engine, accept("a1", [(ITEM, 1)]))
        calls(engine, updated([(ITEM, 2, 1)]))
        assert [c[0] for c in calls(engine, accept("a2", [(ITEM, 1)]))] == [
            "return-accept:a2"
        ]

    def test_whole_acceptance_after_one_item_accepted(self) -> None:
        """DR's partially-accepted shape (item 1 accepted, item 2 not): accepting the
        whole return accepts the rest, as DR's ``{"state": "accepted"}`` does."""
        engine = third_party()
        calls(
            engine,
            request("request_return", "r1", ORDER, [(ITEM, 2), (ITEM_B, 3)]),
            tp_return("e1", "created", [(ITEM, 2, 0), (ITEM_B, 3, 0)]),
            updated([(ITEM, 2, 2), (ITEM_B, 3, 0)]),
        )
        assert [c[0] for c in calls(engine, accept("a1"))] == ["return-accept:a1"]


class TestEmission:
    """Calls and refunds only in ``RETURNS_ALLOWED``; a refund once per accepted return."""

    def test_held_in_dispute_released_after(self) -> None:
        """In dispute nothing is sent; on resolution the request and refund go, once."""
        engine = distributed()
        calls(engine, order_doc("e-d", "dispute", 4))
        assert calls(engine, ret("r1", 1), fo_return("fr-0", "e1", "accepted", 1)) == []
        resolved = order_doc("e-r", "accepted", 6, "order.dispute.resolved")
        assert calls(engine, resolved) == [fr_call("r1", 1), refund_call("fr-0", 1)]
        assert calls(engine, order_doc("e-f", "fulfilled", 7)) == []

    @pytest.mark.parametrize("status", ["fulfilled", "complete"])
    def test_sent_at_once_when_allowed(self, status: str) -> None:
        """``fulfilled`` and ``complete`` orders allow returns right away."""
        engine = distributed()
        calls(engine, order_doc("e-st", status, 4))
        assert calls(engine, ret("r1", 1)) == [fr_call("r1", 1)]

    def test_refund_once_per_accepted_return(self) -> None:
        """A repeated or stale report of an accepted return asks for no second refund."""
        engine = distributed()
        assert calls(engine, fo_return("fr-1", "e1", "accepted", 2)) == [
            refund_call("fr-1", 2)
        ]
        assert (
            calls(
                engine,
                fo_return("fr-1", "e2", "accepted", 2, minute=1),
                fo_return("fr-1", "e3", "pending", 2, minute=2),
            )
            == []
        )
        assert engine.orders[ORDER].fulfillment_returns[0].refund_requested

    def test_acceptance_that_grows_refunds_only_the_rise(self) -> None:
        """1 of 2 accepted, then 2 of 2: a second refund for the one more unit only;
        a later, lower report changes nothing."""
        engine = distributed()
        assert calls(engine, fo_return("fr-1", "e1", "accepted", 2, 1)) == [
            refund_call("fr-1", 1)
        ]
        key, method, path, body = refund_call("fr-1", 1)
        assert calls(engine, fo_return("fr-1", "e2", "accepted", 2, 2, minute=1)) == [
            (f"{key}:2", method, path, body)
        ]
        assert calls(engine, fo_return("fr-1", "e3", "accepted", 2, 1, minute=2)) == []
        (record,) = engine.orders[ORDER].fulfillment_returns
        assert record.refunded == ((LINE, 2),)

    @pytest.mark.parametrize(
        ("state", "acc"), [("rejected", None), ("accepted", 0), ("pending", None)]
    )
    def test_no_refund_without_accepted_units(
        self, state: str, acc: int | None
    ) -> None:
        """Rejected, pending or zero-accepted returns ask for no refund."""
        assert calls(distributed(), fo_return("fr-1", "e1", state, 2, acc)) == []

    def test_contradicting_return_refused(self) -> None:
        """``rejected`` then ``accepted`` is an ``IllegalTransition`` at the state."""
        engine = distributed()
        calls(engine, fo_return("fr-1", "e1", "rejected", 1))
        err = refused(engine, fo_return("fr-1", "e2", "accepted", 1, minute=1))
        assert (type(err), err.field) == (IllegalTransition, "data.object.state")

    def test_return_beyond_shipped_waits(self) -> None:
        """Accepted units beyond those shipped wait for the shipment, then refund."""
        engine = distributed(shipped_units=1)
        assert (
            handle(engine, fo_return("fr-1", "e1", "accepted", 2)).outcome == "waiting"
        )
        late = shipped("e-s2", "s2", FO, ORDER, [("s2-i", LINE, ITEM, 1)])
        assert refund_call("fr-1", 2) in calls(engine, late)


class TestReason:
    """DR takes at most 64 characters of a return reason: longer ones refused at parse."""

    def test_64_characters_pass(self) -> None:
        """Exactly 64 characters reach DR unchanged."""
        assert calls(distributed(), ret("r1", 1, reason="x" * 64)) == [
            fr_call("r1", 1, reason="x" * 64)
        ]

    def test_65_characters_refused(self) -> None:
        """65 characters are ``MalformedInput`` of the request, the reason names the field."""
        with pytest.raises(MalformedInput) as info:
            parse_input(ret("r1", 1, reason="x" * 65))
        assert info.value.input_id == "r1"
        assert info.value.reason == "length must be <= 64: 65"

    def test_65_characters_field_is_reason(self) -> None:
        """The refusal names ``reason`` as its field, like every other field refusal."""
        with pytest.raises(MalformedInput) as info:
            parse_input(ret("r1", 1, reason="x" * 65))
        assert info.value.field == "reason"
