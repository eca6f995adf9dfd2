"""The money side of a generated history: an order's charges and their operations.

Every line has a per-unit price (whole cents), so every amount is an exact ``Decimal``.
The order is paid by one charge (a card) or two (store credit and a card): DR captures
the secondary source (store credit) first, and cancels and refunds the primary (the
card) first (DR reference §6.3, S25). Per shipped piece of a line DR makes a capture
(``pending`` then ``complete``, linked by ``fulfillmentId``; now and then one fails,
``failureCode: failed-request``), per cancelled line a cancel, per refund a charge refund
(id-less on some orders, as DR sends some nested refunds). Once every line is shipped or
cancelled, each charge whose operations add up to its amount becomes ``complete`` (or
``cancelled`` when nothing was captured); a charge with a failed capture never does.

Every ``order.charge.*`` event and every order event's ``payment.charges`` carry the
whole charge as it is at that moment, so no two of them contradict each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

from hypothesis import strategies as st

from drfulfillment.testing.events import Json
from drfulfillment.testing.money_events import charge, charge_event, operation
from drfulfillment.testing.truth import ChargeTruth

__all__ = ["Builder", "Wallet"]

_ZERO = Decimal(0)


class Builder(Protocol):
    """What the money and return generators need of the order being built."""

    draw: st.DrawFn
    order_id: str

    def tick(self) -> str:
        """The next event time."""

    def emit(self, doc: Json) -> Json:
        """Append ``doc`` to the order's history."""


def _amount(op: Json) -> Decimal:
    return Decimal(str(op["amount"]))


class _Charge:
    """One charge as the generator sees it: its operations and what they used."""

    def __init__(self, charge_id: str, amount: Decimal) -> None:
        self.id = charge_id
        self.amount = amount
        self.state = "pending"
        self.ops: dict[str, list[Json]] = {"captures": [], "cancels": [], "refunds": []}
        self.used = _ZERO
        """Taken by captures (failed ones too) and cancels."""
        self.failed: list[str] = []

    def done(self, kind: str) -> Decimal:
        return sum(
            (_amount(op) for op in self.ops[kind] if op["state"] == "complete"), _ZERO
        )

    def refundable(self) -> Decimal:
        asked = sum((_amount(op) for op in self.ops["refunds"]), _ZERO)
        return self.done("captures") - asked

    def snapshot(self, order_id: str) -> Json:
        return charge(
            self.id,
            order_id,
            self.amount,
            self.state,
            captures=self.ops["captures"],
            cancels=self.ops["cancels"],
            refunds=self.ops["refunds"],
        )


class Wallet:
    """An order's prices and charges; emits the charge events as money moves."""

    def __init__(self, order: Builder, items: list[tuple[str, int, bool]]) -> None:
        self.order = order
        draw = order.draw
        self.prices = {
            item: Decimal(draw(st.integers(1, 9_999))).scaleb(-2)
            for item, _, _ in items
        }
        self.quantities = {item: q for item, q, _ in items}
        total = sum((self.prices[i] * q for i, q, _ in items), _ZERO)
        self.total = total
        oid = order.order_id
        cents = int(total * 100)
        credit = (
            Decimal(draw(st.integers(1, cents - 1))).scaleb(-2)
            if cents > 1 and draw(st.integers(0, 2)) == 0
            else _ZERO
        )
        card = _Charge(f"chg-{oid}-card", total - credit)
        self.secondary_first = [card]
        if credit:
            self.secondary_first.insert(0, _Charge(f"chg-{oid}-credit", credit))
        self.primary_first = self.secondary_first[::-1]
        self.may_fail = draw(st.integers(0, 3)) == 0
        self.idless_refunds = draw(st.booleans())
        self.count = 0

    @property
    def failures(self) -> list[str]:
        """Ids of the captures that failed so far."""
        return [c for ch in self.secondary_first for c in ch.failed]

    def _next(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.order.order_id}-{self.count}"

    def _event(self, ch: _Charge, event_type: str) -> None:
        t = self.order.tick()
        event_id = self._next("evt-chg")
        self.order.emit(
            charge_event(event_id, event_type, ch.snapshot(self.order.order_id), t)
        )

    def order_object(self, obj: Json) -> None:
        """Put this order's prices and charges as they are now into an order object."""
        for item in obj["items"]:
            item["amount"] = float(self.prices[item["id"]] * item["quantity"])
        obj["totalAmount"] = obj["subtotal"] = float(self.total)
        for key in ("totalTax", "totalShipping", "totalFees", "totalDiscount"):
            obj[key] = 0.0
        obj["payment"] = {
            "charges": [ch.snapshot(self.order.order_id) for ch in self.primary_first]
        }

    def accept(self) -> None:
        """The charges become capturable (before the order is accepted)."""
        for ch in self.secondary_first:
            ch.state = "capturable"
            if self.order.draw(st.booleans()):
                self._event(ch, "order.charge.capturable")

    def _split(
        self, amount: Decimal, charges: list[_Charge]
    ) -> Iterator[tuple[_Charge, Decimal]]:
        left = amount
        for ch in charges:
            part = min(left, ch.amount - ch.used)
            if part > 0:
                ch.used += part
                left -= part
                yield ch, part
        assert left == 0, "more captured and cancelled than the order's amount"

    def _operation(
        self, ch: _Charge, kind: str, op: Json, outcome: str, **extra: str
    ) -> None:
        """Add ``op`` pending (announced or not), then move it to ``outcome``."""
        ops = ch.ops[kind]
        ops.append(op)
        singular = {"captures": "capture", "cancels": "cancel", "refunds": "refund"}
        name = f"order.charge.{singular[kind]}"
        if outcome == "pending" or self.order.draw(st.booleans()):
            self._event(ch, f"{name}.pending")
        if outcome != "pending":
            ops[-1] = {**op, "state": outcome, **extra}
            self._event(ch, f"{name}.{outcome}")

    def capture(self, units: dict[str, int], fulfillment_id: str) -> None:
        """DR captures shipped units: one capture per line, secondary charge first."""
        for item, n in sorted(units.items()):
            for ch, part in self._split(self.prices[item] * n, self.secondary_first):
                cap_id = self._next("cap")
                op = operation(
                    cap_id,
                    part,
                    "pending",
                    self.order.tick(),
                    fulfillmentId=fulfillment_id,
                )
                fail = (
                    self.may_fail
                    and not self.failures
                    and self.order.draw(st.booleans())
                )
                if fail:
                    ch.failed.append(cap_id)
                    self._operation(
                        ch,
                        "captures",
                        op,
                        "failed",
                        failureCode="failed-request",
                        failureMessage="The authorization has expired.",
                    )
                else:
                    self._operation(ch, "captures", op, "complete")

    def cancel(self, item: str, n: int) -> None:
        """DR cancels cancelled units: primary charge first."""
        for ch, part in self._split(self.prices[item] * n, self.primary_first):
            op = operation(self._next("cnl"), part, "pending", self.order.tick())
            self._operation(ch, "cancels", op, "complete")

    def refund(self, rows: list[tuple[str, int]]) -> Decimal:
        """DR refunds returned units on the charges, primary first; the amount."""
        amount = sum((self.prices[i] * n for i, n in rows), _ZERO)
        left = amount
        for ch in self.primary_first:
            part = min(left, ch.refundable())
            if part <= 0:
                continue
            left -= part
            op_id = None if self.idless_refunds else self._next("rfd")
            op = operation(op_id, part, "pending", self.order.tick())
            outcome = self.order.draw(st.sampled_from(["pending", "complete"]))
            self._operation(ch, "refunds", op, outcome)
        return amount

    def settle(self) -> None:
        """Every line is done: each charge fully used and never failed becomes final."""
        for ch in self.secondary_first:
            if ch.failed or ch.used != ch.amount:
                continue
            captured = ch.done("captures") > 0
            ch.state = "complete" if captured else "cancelled"
            self._event(ch, f"order.charge.{ch.state}")

    def truth(self) -> tuple[ChargeTruth, ...]:
        """What each charge ends up with."""
        return tuple(
            ChargeTruth(
                order_id=self.order.order_id,
                charge_id=ch.id,
                amount=ch.amount,
                state=ch.state,
                captured=ch.done("captures"),
                cancelled=ch.done("cancels"),
                refunded=ch.done("refunds"),
                failed_captures=tuple(ch.failed),
            )
            for ch in sorted(self.secondary_first, key=lambda c: c.id)
        )
