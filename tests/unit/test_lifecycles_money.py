"""Unit tests of the return, refund and charge lifecycles and of ``Rulebook.merge``.

Covers ``domain/lifecycles/{fulfillment_return,returns,refund,charge}.py`` and
``RETURNS_ALLOWED``. Expectations are written out here by hand (DR reference §4-§6),
independently of the declared tables: the wire values come from DR's OpenAPI enums,
the transitions from a hand-made list, reachability from a closure computed here.
"""

from __future__ import annotations

import enum
import itertools
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from drfulfillment.domain.errors import IllegalTransition
from drfulfillment.domain.lifecycles import (
    CAPTURE,
    CHARGE,
    CHARGE_CANCEL,
    CHARGE_REFUND,
    FULFILLMENT_RETURN,
    LIFECYCLES,
    REFUND,
    RETURN,
    RETURNS_ALLOWED,
    CaptureStatus,
    ChargeCancelStatus,
    ChargeRefundStatus,
    ChargeStatus,
    FulfillmentReturnStatus,
    OrderStatus,
    RefundStatus,
    ReturnStatus,
    Rulebook,
)

OPENAPI = Path(__file__).parents[1] / "fixtures" / "openapi-2021-12-13.json"


class Spec(NamedTuple):
    """A lifecycle as DR documents it, written out independently of the code."""

    name: str
    book: Rulebook[Any]
    states: type[enum.Enum]
    schema: str
    initial: str
    finals: frozenset[str]
    steps: tuple[tuple[str, str, str], ...]
    """``(source, trigger, dest)``."""


def _steps(
    *rows: tuple[str | tuple[str, ...], str, str],
) -> tuple[tuple[str, str, str], ...]:
    out = []
    for sources, trigger, dest in rows:
        for source in (sources,) if isinstance(sources, str) else sources:
            out.append((source, trigger, dest))
    return tuple(out)


_PI = "pending_information"
SPECS = [
    Spec(
        "fulfillment_return",
        FULFILLMENT_RETURN,
        FulfillmentReturnStatus,
        "GlobalFulfillmentReturnResponse",
        "created",
        frozenset({"accepted", "rejected"}),
        _steps(
            ("created", "fulfillment_return.pending", "pending"),
            (("created", "pending"), "fulfillment_return.accepted", "accepted"),
            (("created", "pending"), "fulfillment_return.rejected", "rejected"),
        ),
    ),
    Spec(
        "return",
        RETURN,
        ReturnStatus,
        "ReturnsResponse",
        "created",
        frozenset({"accepted"}),
        _steps(("created", "return.accepted", "accepted")),
    ),
    Spec(
        "refund",
        REFUND,
        RefundStatus,
        "OrderRefund",
        "pending",
        frozenset({"succeeded", "failed", "expired"}),
        _steps(
            ("pending", "refund.pending_information", _PI),
            (_PI, "refund.pending", "pending"),
            (("pending", _PI), "refund.complete", "succeeded"),
            (("pending", _PI), "refund.failed", "failed"),
            (_PI, "refund.expired", "expired"),
        ),
    ),
    Spec(
        "charge",
        CHARGE,
        ChargeStatus,
        "Charge",
        "pending",
        frozenset({"complete", "cancelled", "failed"}),
        _steps(
            ("pending", "order.charge.capturable", "capturable"),
            ("capturable", "order.charge.processing", "processing"),
            (("capturable", "processing"), "order.charge.complete", "complete"),
            (
                ("pending", "capturable", "processing"),
                "order.charge.cancelled",
                "cancelled",
            ),
            ("pending", "order.charge.failed", "failed"),
        ),
    ),
    Spec(
        "capture",
        CAPTURE,
        CaptureStatus,
        "Capture",
        "pending",
        frozenset({"complete", "failed"}),
        _steps(
            ("pending", "order.charge.capture.complete", "complete"),
            ("pending", "order.charge.capture.failed", "failed"),
        ),
    ),
    Spec(
        "charge_cancel",
        CHARGE_CANCEL,
        ChargeCancelStatus,
        "Cancel",
        "pending",
        frozenset({"complete", "failed"}),
        _steps(
            ("pending", "order.charge.cancel.pending_information", _PI),
            (("pending", _PI), "order.charge.cancel.complete", "complete"),
            (("pending", _PI), "order.charge.cancel.failed", "failed"),
        ),
    ),
    Spec(
        "charge_refund",
        CHARGE_REFUND,
        ChargeRefundStatus,
        "Refund",
        "pending",
        frozenset({"complete", "failed"}),
        _steps(
            ("pending", "order.charge.refund.complete", "complete"),
            ("pending", "order.charge.refund.failed", "failed"),
        ),
    ),
]
IDS = [s.name for s in SPECS]
STEP_CASES = [
    pytest.param(s, src, trig, dst, id=f"{s.name}:{src}-{trig}")
    for s in SPECS
    for (src, trig, dst) in s.steps
]


def _openapi_states(schema: str) -> set[str]:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"][schema]["properties"]["state"]["enum"])


def _reach(spec: Spec) -> dict[str, set[str]]:
    """Reflexive-transitive closure of the hand-written steps (fixpoint iteration)."""
    reach = {s.value: {s.value} for s in spec.states}
    changed = True
    while changed:
        changed = False
        for src, _, dst in spec.steps:
            for seen in reach.values():
                if src in seen and dst not in seen:
                    seen.add(dst)
                    changed = True
    return reach


def _state(spec: Spec, value: str) -> Any:
    return spec.states(value)


class TestDeclarations:
    """Enums are DR's wire strings; the tables declare exactly DR's transitions."""

    @pytest.mark.parametrize("spec", SPECS, ids=IDS)
    def test_wire_values_equal_openapi_enum(self, spec: Spec) -> None:
        """Each enum holds exactly the ``state`` enum of its DR OpenAPI schema."""
        assert {s.value for s in spec.states} == _openapi_states(spec.schema)
        assert spec.book.states is spec.states
        assert LIFECYCLES[spec.name] is spec.book

    @pytest.mark.parametrize("spec", SPECS, ids=IDS)
    def test_initial_and_finals(self, spec: Spec) -> None:
        """Each lifecycle starts and ends where DR's documentation says."""
        assert spec.book.initial.value == spec.initial
        assert {s.value for s in spec.book.finals} == spec.finals

    @pytest.mark.parametrize(("spec", "source", "trigger", "dest"), STEP_CASES)
    def test_each_declared_step(
        self, spec: Spec, source: str, trigger: str, dest: str
    ) -> None:
        """Every DR transition is declared with its event as trigger."""
        got = spec.book.step(
            _state(spec, source), trigger, subject="x", input_id="evt-1"
        )
        assert got.value == dest

    @pytest.mark.parametrize("spec", SPECS, ids=IDS)
    def test_no_other_step(self, spec: Spec) -> None:
        """Every (state, trigger) pair not in DR's list is refused, naming the input."""
        triggers = {t for (_, t, _) in spec.steps} | {"no.such.event"}
        allowed = {(s, t) for (s, t, _) in spec.steps}
        for state in spec.states:
            assert spec.book.triggers(state) == {
                t for (s, t) in allowed if s == state.value
            }
            for trigger in sorted(triggers):
                if (state.value, trigger) in allowed:
                    continue
                with pytest.raises(IllegalTransition) as info:
                    spec.book.step(state, trigger, subject="x", input_id="evt-7")
                assert info.value.input_id == "evt-7"

    @pytest.mark.parametrize("spec", SPECS, ids=IDS)
    def test_reach_matches_hand_closure(self, spec: Spec) -> None:
        """``can_reach`` is the closure of DR's transitions, finals reach only themselves."""
        reach = _reach(spec)
        for a, b in itertools.product(spec.states, repeat=2):
            assert spec.book.can_reach(a, b) is (b.value in reach[a.value]), (a, b)
        for final in spec.book.finals:
            assert reach[final.value] == {final.value}

    def test_returns_allowed_literal(self) -> None:
        """Returns and refunds are allowed once goods may have shipped, never in dispute."""
        assert {s.value for s in RETURNS_ALLOWED} == {
            "accepted",
            "fulfilled",
            "complete",
            "returned",
        }
        for status in (
            OrderStatus.DISPUTE,
            OrderStatus.PENDING_PAYMENT,
            OrderStatus.IN_REVIEW,
            OrderStatus.BLOCKED,
            OrderStatus.CANCELLED,
        ):
            assert status not in RETURNS_ALLOWED


class TestMerge:
    """``Rulebook.merge``: advance, stale, cycles by ``newer``, contradictions refused."""

    @pytest.mark.parametrize("spec", SPECS, ids=IDS)
    def test_merge_every_pair(self, spec: Spec) -> None:
        """For every (known, new, newer) the result follows the hand-made closure."""
        reach = _reach(spec)

        def merge(known: Any, new: Any, newer: bool) -> Any:
            return spec.book.merge(
                known,
                new,
                newer=newer,
                subject="r-1",
                input_id="evt-9",
                field="data.object.state",
            )

        for known, new in itertools.product(spec.states, repeat=2):
            ahead = new.value in reach[known.value]
            behind = known.value in reach[new.value]
            for newer in (True, False):
                if not ahead and not behind:
                    with pytest.raises(IllegalTransition) as info:
                        merge(known, new, newer)
                    assert info.value.input_id == "evt-9"
                    assert info.value.field == "data.object.state"
                    continue
                expected = new if ahead and (newer or not behind) else known
                assert merge(known, new, newer) is expected, (known, new, newer)

    def test_advance(self) -> None:
        """A later state advances the known one, however old the report."""
        got = FULFILLMENT_RETURN.merge(
            FulfillmentReturnStatus.CREATED,
            FulfillmentReturnStatus.ACCEPTED,
            newer=False,
            subject="fr-1",
            input_id="e",
        )
        assert got is FulfillmentReturnStatus.ACCEPTED

    def test_stale(self) -> None:
        """An earlier state is stale: the known one stays, even if the report is newer."""
        got = CAPTURE.merge(
            CaptureStatus.COMPLETE,
            CaptureStatus.PENDING,
            newer=True,
            subject="cap-1",
            input_id="e",
        )
        assert got is CaptureStatus.COMPLETE

    @pytest.mark.parametrize(
        ("newer", "expected"),
        [(True, RefundStatus.PENDING), (False, RefundStatus.PENDING_INFORMATION)],
    )
    def test_cycle_decided_by_newer(self, newer: bool, expected: RefundStatus) -> None:
        """``pending`` and ``pending_information`` reach each other: the newer wins."""
        got = REFUND.merge(
            RefundStatus.PENDING_INFORMATION,
            RefundStatus.PENDING,
            newer=newer,
            subject="re-1",
            input_id="e",
        )
        assert got is expected

    @pytest.mark.parametrize(
        ("book", "known", "new", "reason"),
        [
            (
                FULFILLMENT_RETURN,
                FulfillmentReturnStatus.REJECTED,
                FulfillmentReturnStatus.ACCEPTED,
                "fulfillment return fr-1 is 'rejected'; it cannot become 'accepted'",
            ),
            (
                CAPTURE,
                CaptureStatus.COMPLETE,
                CaptureStatus.FAILED,
                "capture fr-1 is 'complete'; it cannot become 'failed'",
            ),
            (
                REFUND,
                RefundStatus.SUCCEEDED,
                RefundStatus.EXPIRED,
                "refund fr-1 is 'succeeded'; it cannot become 'expired'",
            ),
            (
                CHARGE,
                ChargeStatus.CANCELLED,
                ChargeStatus.COMPLETE,
                "charge fr-1 is 'cancelled'; it cannot become 'complete'",
            ),
        ],
    )
    def test_contradiction_refused(
        self, book: Rulebook[Any], known: Any, new: Any, reason: str
    ) -> None:
        """Two finals contradict: ``IllegalTransition`` with the field and input id."""
        with pytest.raises(IllegalTransition) as info:
            book.merge(
                known,
                new,
                newer=True,
                subject="fr-1",
                input_id="evt-3",
                field="data.object.items[0].state",
            )
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-3",
            "data.object.items[0].state",
            reason,
        )

    def test_contradiction_field_defaults_to_none(self) -> None:
        """Without a field the refusal names none (the input as a whole)."""
        with pytest.raises(IllegalTransition) as info:
            CHARGE_REFUND.merge(
                ChargeRefundStatus.FAILED,
                ChargeRefundStatus.COMPLETE,
                newer=True,
                subject="ret-1",
                input_id="evt-4",
            )
        assert info.value.field is None
        assert info.value.input_id == "evt-4"
