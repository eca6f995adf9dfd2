"""Scenario tests of returns: DR-coordinated (fulfillment returns) and third-party (Returns API).

DR-coordinated (distributed and orchestrated models): ``request_return`` becomes
``POST /fulfillment-returns``; units move from ``shipped`` to ``returned`` only when the
``fulfillment_return`` is ``accepted``, and each accepted return is owed exactly one
``POST /refunds`` whatever the delivery order. Third-party (and digital lines): the
request becomes ``POST /returns``, acceptance ``POST /returns/{id}``, and DR refunds
itself: the engine never sends ``POST /refunds``. DR's real ``return.*`` payloads and
request bodies are used wherever DR published them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from builders import (
    Json,
    envelope,
    fo_line,
    fulfillment_order,
    fulfillment_return,
    order_event,
    request,
    shipped,
)
from conftest import load_payload
from drfulfillment.domain import (
    Engine,
    IllegalTransition,
    IntegrationModel,
    LineLedger,
    QuantityExceeded,
    UnknownReference,
    line_ledger,
)
from drfulfillment.domain.lifecycles import FulfillmentReturnStatus, ReturnStatus
from harness import feed, handle

ORDER = "204440790336"
LINE = "127911830336"
LINE_B = "127911830337"
FO = "5774321009"
FO_LINE = "650398674428"
REASON = "requested_by_customer"
T0 = "2021-11-01T18:23:06Z"

#: DR's multi-shipment return (``return.*.multi-shipment.json``) and its order's lines.
TP_ORDER = "217431410336"
TP_A = "142282650336"
TP_B = "142282660336"
TP_RETURN = "ret_b4e2a7f9-82f5-4133-bbcf-4423e8fae4d1"
ACCEPTED_EVENT = "event-return.accepted.multi-shipment.json"

Items = Sequence[tuple[str, int]]


def accepted(order_id: str = ORDER, items: Items = ((LINE, 2),)) -> Json:
    """``order.accepted`` of ``order_id`` with the given ``(line, quantity)`` lines."""
    lines = tuple((i, q, None) for i, q in items)
    return order_event("evt-accepted", "accepted", T0, order_id=order_id, items=lines)


def fo_pending() -> Json:
    """``fulfillment_order.pending``: ``FO`` holds the 2 units of ``LINE``."""
    return fulfillment_order(
        "evt-fo", "fulfillment_order.pending", FO, ORDER, [fo_line(FO_LINE, LINE, 2)]
    )


def ship(quantity: int, event_id: str = "evt-ship") -> Json:
    """``fulfillment_order.shipped`` of ``quantity`` units of ``FO_LINE`` (shipment SH1)."""
    return shipped(event_id, "SH1", FO, ORDER, [("si1", FO_LINE, LINE, quantity)])


def started(
    model: IntegrationModel = IntegrationModel.DISTRIBUTED, units: int = 2
) -> Engine:
    """An engine that knows ``ORDER`` (2 units), ``FO``, and ``units`` shipped."""
    engine = Engine(model)
    feed(engine, accepted(), fo_pending(), *([ship(units)] if units else []))
    return engine


def ask(
    request_id: str, items: Items, order_id: str = ORDER, reason: str = REASON
) -> Json:
    """A merchant ``request_return``."""
    return request("request_return", request_id, order_id, items, reason=reason)


def fr(
    event_id: str,
    state: str,
    return_id: str,
    quantity: int,
    accepted: int | None = None,
    hour: int = 9,
) -> Json:
    """``fulfillment_return.<state>`` of ``quantity`` units of ``FO_LINE``, at ``hour``."""
    lines = [(FO_LINE, quantity, accepted)]
    created = f"2021-11-05T{hour:02d}:00:00Z"
    return fulfillment_return(event_id, state, return_id, FO, ORDER, lines, created)


def api(command: str, path: str, key: str, body: Json) -> dict[str, Any]:
    """One API command as the replay CLI prints it."""
    keys = ("command", "method", "path", "idempotencyKey", "body")
    return dict(zip(keys, (command, "POST", path, key, body), strict=True))


def fr_call(request_id: str, quantity: int) -> dict[str, Any]:
    """The exact ``POST /fulfillment-returns`` for ``quantity`` units of ``FO_LINE``."""
    items = [{"fulfillmentOrderItemId": FO_LINE, "quantity": quantity}]
    body = {"fulfillmentOrderId": FO, "upstreamId": ORDER, "reason": REASON}
    key = f"fulfillment-return:{request_id}:{FO}"
    return api(
        "CreateFulfillmentReturn", "/fulfillment-returns", key, body | {"items": items}
    )


def refund_of(return_id: str, quantity: int) -> dict[str, Any]:
    """The exact ``POST /refunds`` owed for an accepted fulfillment return of ``LINE``."""
    items = [{"itemId": LINE, "quantity": quantity, "percent": 100}]
    body = {"orderId": ORDER, "currency": "USD", "reason": REASON, "items": items}
    return api(
        "CreateRefund", "/refunds", f"refund:fulfillment-return:{return_id}", body
    )


def ledger(engine: Engine) -> LineLedger:
    """The buckets of ``FO_LINE``."""
    state = engine.orders[ORDER]
    fo = state.fulfillment_orders[0]
    return line_ledger(state, fo, fo.lines[0])


def back(engine: Engine) -> tuple[int, int]:
    """``(shipped, returned)`` units of ``FO_LINE``."""
    return ledger(engine).shipped, ledger(engine).returned


def dr_body(name: str) -> Json:
    """DR's published request body, its string quantities read as the integers its spec says."""
    body = load_payload(name)
    for item in body.get("items", []):
        item["quantity"] = int(item["quantity"])
    return body


class TestFulfillmentReturnRequests:
    """``request_return`` on a line in a fulfillment order -> ``POST /fulfillment-returns``."""

    @pytest.mark.parametrize(
        "model", [IntegrationModel.DISTRIBUTED, IntegrationModel.ORCHESTRATED]
    )
    def test_request_becomes_fulfillment_return(self, model: IntegrationModel) -> None:
        """Both DR-coordinated models send the exact body, once; the accepted return is refunded."""
        engine = started(model)
        assert feed(engine, ask("R1", [(LINE, 1)])) == [fr_call("R1", 1)]
        assert feed(engine, ask("R1", [(LINE, 1)])) == []
        assert feed(engine, fr("e1", "accepted", "FR1", 1)) == [refund_of("FR1", 1)]

    def test_over_request_is_refused_and_changes_nothing(self) -> None:
        """More than shipped-and-not-returned: ``QuantityExceeded`` at ``items[i].quantity``."""
        engine = started(units=1)
        before = engine.orders[ORDER]
        with pytest.raises(QuantityExceeded) as exc:
            handle(engine, ask("R1", [(LINE, 2)]))
        assert (exc.value.input_id, exc.value.field) == ("R1", "items[0].quantity")
        assert engine.orders[ORDER] == before
        assert feed(engine, ask("R2", [(LINE, 1)])) == [fr_call("R2", 1)]

    def test_units_already_asked_for_are_not_returnable_twice(self) -> None:
        """Requested-not-yet-seen and open-return units both count against the shipped ones."""
        engine = started()
        feed(engine, ask("R1", [(LINE, 1)]))
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [(LINE, 2)]))
        feed(engine, fr("e1", "created", "FR1", 1))
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R3", [(LINE, 2)]))
        assert feed(engine, ask("R4", [(LINE, 1)])) == [fr_call("R4", 1)]

    def test_unknown_line_and_unknown_order(self) -> None:
        """A line the order lacks, or an order never seen: ``UnknownReference``."""
        engine = started()
        with pytest.raises(UnknownReference) as exc:
            handle(engine, ask("R1", [("999", 1)]))
        assert exc.value.field == "items[0].itemId"
        with pytest.raises(UnknownReference) as exc:
            handle(engine, ask("R2", [(LINE, 1)], order_id="1"))
        assert exc.value.field == "orderId"


class TestFulfillmentReturnEvents:
    """``fulfillment_return.*``: units come back at ``accepted``; one refund per return."""

    def test_units_return_only_when_accepted(self) -> None:
        """created and pending keep units shipped; accepted moves them and owes a refund."""
        engine = started()
        feed(engine, ask("R1", [(LINE, 1)]))
        created = fr("e1", "created", "FR1", 1)
        pending = fr("e2", "pending", "FR1", 1, hour=10)
        assert feed(engine, created, pending) == []
        assert back(engine) == (2, 0)
        done = fr("e3", "accepted", "FR1", 1, 1, 11)
        assert feed(engine, done) == [refund_of("FR1", 1)]
        assert back(engine) == (1, 1)
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [(LINE, 2)]))
        record = engine.orders[ORDER].fulfillment_returns[0]
        assert record.status is FulfillmentReturnStatus.ACCEPTED
        assert record.refund_requested is True

    def test_redelivered_accepted_refunds_once(self) -> None:
        """The same event twice and again under another id: exactly one ``POST /refunds``."""
        engine = started()
        event = fr("e1", "accepted", "FR1", 2, 2)
        assert feed(engine, event) == [refund_of("FR1", 2)]
        assert handle(engine, event).outcome == "duplicate"
        assert feed(engine, fr("e1-again", "accepted", "FR1", 2, 2)) == []
        assert ledger(engine).returned == 2

    def test_accepted_before_created_refunds_once(self) -> None:
        """``accepted`` first, then the older ``created`` and ``pending``: stale, no refund."""
        engine = started()
        assert feed(engine, fr("e3", "accepted", "FR1", 2, 2, 10)) == [
            refund_of("FR1", 2)
        ]
        late = [fr("e1", "created", "FR1", 2, hour=7), fr("e2", "pending", "FR1", 2)]
        assert feed(engine, *late) == []
        (record,) = engine.orders[ORDER].fulfillment_returns
        assert record.status is FulfillmentReturnStatus.ACCEPTED

    def test_rejection_frees_units_for_a_second_request(self) -> None:
        """After ``rejected`` the units may be asked again; FR2 is refunded, FR1 never can be."""
        engine = started()
        feed(engine, ask("R1", [(LINE, 2)]), fr("e1", "created", "FR1", 2))
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [(LINE, 1)]))
        assert feed(engine, fr("e2", "rejected", "FR1", 2, hour=10)) == []
        assert ledger(engine).shipped == 2
        assert feed(engine, ask("R2", [(LINE, 2)])) == [fr_call("R2", 2)]
        assert feed(engine, fr("e3", "accepted", "FR2", 2, 2)) == [refund_of("FR2", 2)]
        before = engine.orders[ORDER]
        with pytest.raises(IllegalTransition) as exc:
            handle(engine, fr("e4", "accepted", "FR1", 2, 2, hour=11))
        assert exc.value.field == "data.object.state"
        assert engine.orders[ORDER] == before

    def test_partial_acceptance_refunds_accepted_units_only(self) -> None:
        """2 returned, 1 accepted: refund 1; the other unit stays shipped and returnable."""
        engine = started()
        feed(engine, ask("R1", [(LINE, 2)]))
        assert feed(engine, fr("e1", "accepted", "FR1", 2, 1)) == [refund_of("FR1", 1)]
        assert back(engine) == (1, 1)
        assert feed(engine, ask("R2", [(LINE, 1)])) == [fr_call("R2", 1)]

    def test_nothing_accepted_owes_no_refund(self) -> None:
        """``quantityAccepted`` 0: no refund, no unit returned."""
        engine = started()
        assert feed(engine, fr("e1", "accepted", "FR1", 2, 0)) == []
        assert ledger(engine).returned == 0
        assert engine.orders[ORDER].fulfillment_returns[0].refund_requested is False

    def test_more_accepted_than_returned_is_refused(self) -> None:
        """``quantityAccepted`` above ``quantity``: ``QuantityExceeded`` naming that field."""
        engine = started()
        with pytest.raises(QuantityExceeded) as exc:
            handle(engine, fr("e1", "accepted", "FR1", 1, 2))
        assert exc.value.field == "data.object.items[0].quantityAccepted"

    def test_accepted_before_its_shipment_waits(self) -> None:
        """A return of units not known shipped waits; the shipment applies it: capture, refund."""
        engine = started(units=0)
        out = handle(engine, fr("e1", "accepted", "FR1", 1))
        assert (out.outcome, out.commands) == ("waiting", ())
        commands = feed(engine, ship(1))
        assert [c["idempotencyKey"] for c in commands] == [
            "notify:shipment:SH1",
            "fulfillment:shipment:SH1",
            "refund:fulfillment-return:FR1",
        ]
        assert commands[-1] == refund_of("FR1", 1)
        assert (ledger(engine).pending, ledger(engine).returned) == (1, 1)

    def test_rerouted_return_still_waiting_is_not_reported_released(self) -> None:
        """A return naming only an unknown FO, still short of shipments once the FO is known."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        feed(engine, accepted())
        orphan = fulfillment_return(
            "e1", "accepted", "FR1", FO, None, [(FO_LINE, 1, None)]
        )
        assert handle(engine, orphan).outcome == "waiting"
        out = handle(engine, fo_pending())
        assert [w.input_id for w in engine.waiting()] == ["e1"]
        assert out.released == ()


def tp_started(items: Items = ((TP_A, 2), (TP_B, 3))) -> Engine:
    """A third-party engine with DR's order ``TP_ORDER`` (2 + 3 units), ``items`` fulfilled."""
    engine = Engine(IntegrationModel.THIRD_PARTY)
    feed(engine, accepted(TP_ORDER, [(TP_A, 2), (TP_B, 3)]))
    feed(engine, request("report_shipment", "S1", TP_ORDER, items))
    return engine


def tp_return(name: str) -> Json:
    """DR's ``return`` object ``name`` in a ``return.<state>`` envelope."""
    obj = load_payload(name)
    kind = f"return.{obj['state']}"
    return envelope(f"evt-{name}", kind, obj, "2022-02-21T19:06:30Z")


def accept(request_id: str, items: Items = ()) -> Json:
    """A merchant ``accept_return`` of ``TP_RETURN`` (whole without ``items``)."""
    doc = request("accept_return", request_id, TP_ORDER, items, returnId=TP_RETURN)
    return doc if items else {k: v for k, v in doc.items() if k != "items"}


def update_return(request_id: str, body: Json) -> dict[str, Any]:
    """The exact ``POST /returns/{id}`` accepting (part of) ``TP_RETURN``."""
    return api(
        "UpdateReturn", f"/returns/{TP_RETURN}", f"return-accept:{request_id}", body
    )


class TestThirdPartyReturns:
    """``request_return`` -> ``POST /returns``; ``accept_return`` -> ``POST /returns/{id}``."""

    def test_request_posts_drs_returns_body(self) -> None:
        """DR's order of ``return.created.json``: the body is DR's ``request-POST-returns``."""
        engine = Engine(IntegrationModel.THIRD_PARTY)
        order_id, lines = "215146200336", [("139723170336", 2), ("139723180336", 2)]
        feed(
            engine,
            accepted(order_id, lines),
            request("report_shipment", "S1", order_id, lines),
        )
        body = dr_body("request-POST-returns.json")
        expected = api("CreateReturn", "/returns", "return:R1", body)
        assert feed(engine, ask("R1", lines, order_id, "Incorrect size")) == [expected]
        assert feed(engine, tp_return("return.created.json")) == []
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [lines[0]], order_id))

    def test_whole_acceptance_and_drs_accepted_event(self) -> None:
        """``return.created`` -> accept whole (DR's body) -> ``return.accepted``: no refund."""
        engine = tp_started()
        assert feed(engine, tp_return("return.created.multi-shipment.json")) == []
        whole = dr_body("request-POST-returns-id-accept.json")
        assert feed(engine, accept("A1")) == [update_return("A1", whole)]
        assert feed(engine, load_payload(ACCEPTED_EVENT)) == []
        (ret,) = engine.orders[TP_ORDER].returns
        assert ret.status is ReturnStatus.ACCEPTED
        assert [ret.returned_units(i) for i in (TP_A, TP_B)] == [2, 3]

    def test_per_item_acceptance_uses_drs_bodies(self) -> None:
        """Item by item, the bodies are DR's ``accept-item1`` and ``accept-item2``."""
        engine = tp_started()
        feed(engine, tp_return("return.created.multi-shipment.json"))
        assert feed(engine, accept("A1", [(TP_A, 2)]), accept("A2", [(TP_B, 3)])) == [
            update_return("A1", dr_body("request-POST-returns-id-accept-item1.json")),
            update_return("A2", dr_body("request-POST-returns-id-accept-item2.json")),
        ]
        with pytest.raises(QuantityExceeded) as exc:
            handle(engine, accept("A3", [(TP_A, 1)]))
        assert exc.value.field == "items[0].quantity"

    def test_never_a_refund_for_third_party_returns(self) -> None:
        """Request, creation, acceptance and DR's own refund: no ``POST /refunds`` ever."""
        engine = tp_started()
        commands = feed(
            engine,
            ask("R1", [(TP_A, 2), (TP_B, 3)], TP_ORDER),
            tp_return("return.created.multi-shipment.json"),
            accept("A1"),
            load_payload(ACCEPTED_EVENT),
            load_payload("event-refund.pending.from-return-multi-shipment-2.json"),
        )
        assert [c["command"] for c in commands] == ["CreateReturn", "UpdateReturn"]
        assert len(engine.orders[TP_ORDER].refunds) == 1

    def test_never_more_than_fulfilled(self) -> None:
        """Unfulfilled units are refused; an accepted return ahead of the report waits."""
        engine = tp_started([(TP_A, 2)])
        with pytest.raises(QuantityExceeded) as exc:
            handle(engine, ask("R1", [(TP_A, 1), (TP_B, 1)], TP_ORDER))
        assert exc.value.field == "items[1].quantity"
        done = load_payload(ACCEPTED_EVENT)
        assert handle(engine, done).outcome == "waiting"
        out = handle(engine, request("report_shipment", "S2", TP_ORDER, [(TP_B, 3)]))
        assert out.released == (done["id"],)
        assert engine.orders[TP_ORDER].returns[0].status is ReturnStatus.ACCEPTED
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [(TP_A, 1)], TP_ORDER))

    def test_acceptance_needs_a_known_open_return(self) -> None:
        """Unknown return: ``UnknownReference returnId``; accepted one: ``IllegalTransition``."""
        engine = tp_started()
        with pytest.raises(UnknownReference) as unknown:
            handle(engine, accept("A1"))
        assert unknown.value.field == "returnId"
        feed(engine, load_payload(ACCEPTED_EVENT))
        with pytest.raises(IllegalTransition):
            handle(engine, accept("A2"))

    def test_return_naming_an_unknown_line_is_refused(self) -> None:
        """DR's single-shipment return moved to this order: its lines are unknown here."""
        engine = tp_started()
        stray = load_payload("event-return.accepted.single-shipment.json")
        stray["data"]["object"]["orderId"] = TP_ORDER
        with pytest.raises(UnknownReference) as exc:
            handle(engine, stray)
        assert exc.value.field == "data.object.items[0].itemId"

    def test_whole_acceptance_after_partial_acceptance(self) -> None:
        """DR's partially accepted return: accepting it whole accepts what is left, once."""
        engine = tp_started()
        feed(engine, tp_return("return.partially-accepted.multi-shipment.json"))
        assert feed(engine, accept("A1")) == [
            update_return("A1", {"state": "accepted"})
        ]
        with pytest.raises(IllegalTransition):
            handle(engine, accept("A2"))


class TestDigitalReturns:
    """Distributed model: a digital line is in no FO, so its return goes via ``POST /returns``."""

    def test_mixed_request_splits_by_mechanism(self) -> None:
        """Physical units -> ``POST /fulfillment-returns``; digital ones -> ``POST /returns``."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        lines = ((LINE, 2, True), (LINE_B, 1, False))
        feed(
            engine,
            order_event(
                "evt-accepted", "accepted", "2021-11-01T18:23:06Z", items=lines
            ),
            fo_pending(),
            ship(2),
            request("report_shipment", "D1", ORDER, [(LINE_B, 1)]),
        )
        body = {
            "orderId": ORDER,
            "reason": REASON,
            "items": [{"itemId": LINE_B, "quantity": 1}],
        }
        assert feed(engine, ask("R1", [(LINE, 1), (LINE_B, 1)])) == [
            api("CreateReturn", "/returns", "return:R1", body),
            fr_call("R1", 1),
        ]
        with pytest.raises(QuantityExceeded):
            handle(engine, ask("R2", [(LINE_B, 1)]))
