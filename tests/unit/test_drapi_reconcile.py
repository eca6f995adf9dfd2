"""The DR API client's ambiguous failures: reconciled at DR, or never sent again blind.

Against the fake DR on loopback: a request dropped after it took effect, a read
timeout while DR is still working, 5xx answers. "Exactly once" is judged by the fake's
record of the requests that took effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from drapi_support import (
    ITEM,
    ORDER,
    SECRET,
    Sleeps,
    accept,
    cancel,
    capture,
    create_return,
    fo_cancellation,
    fo_return,
    fulfillment_order,
    make,
    posts,
    refund,
    third_party_return,
    wire,
)
from drfulfillment.adapters.drapi import DrClient, request_for
from drfulfillment.domain.commands import ApiCommand
from drfulfillment.domain.ports import SendStatus
from fakedr import FakeDr

Json = dict[str, Any]

POST_FUL = ("POST", "/fulfillments")
GET_FUL = ("GET", "/fulfillments")


@pytest.fixture
def dr() -> Iterator[FakeDr]:
    """The fake DR with order ``1001``: one line ``5001`` of 10 units."""
    with FakeDr(secret=SECRET) as fake:
        fake.add_order(ORDER, {ITEM: 10})
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    """The delays the client asked to sleep."""
    return Sleeps()


@pytest.fixture
def client(dr: FakeDr, sleeps: Sleeps) -> Iterator[DrClient]:
    """The default client of the fake (timeout 0.3 s, 4 attempts, backoff 0.5)."""
    with make(dr, sleeps) as made:
        yield made


def effects_at(dr: FakeDr, path: str) -> list[Json]:
    """The resources created by requests to ``path`` that took effect."""
    return [e.resource for e in dr.effects if e.path == path]


def post_raw(dr: FakeDr, body: Json) -> None:
    """Create a fulfillment at the fake directly, as another system would."""
    answer = httpx.post(
        f"{dr.url}/fulfillments",
        json=body,
        headers={"Authorization": f"Bearer {SECRET}"},
        timeout=2,
    )
    assert answer.status_code == 201


class TestReconciled:
    """Found at DR by the command's key: SENT, reconciled, never posted twice."""

    def test_dropped_after_capture(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """The capture took effect, the answer was lost: found by listing the order."""
        dr.inject("POST", "/fulfillments", "drop_after")
        result = client.send(capture())
        assert (result.status, result.reconciled, result.attempts) == (
            SendStatus.SENT,
            True,
            1,
        )
        assert effects_at(dr, "/fulfillments") == [result.response]
        assert wire(dr) == [POST_FUL, GET_FUL]
        assert dr.calls[1].query == {"orderId": [ORDER], "limit": ["100"]}
        assert sleeps == []

    @pytest.mark.parametrize(
        ("path", "command"), [("/returns", third_party_return), ("/refunds", refund)]
    )
    def test_dropped_after_return_or_refund(
        self, dr: FakeDr, client: DrClient, path: str, command: Callable[[], ApiCommand]
    ) -> None:
        """Returns and refunds are found the same way."""
        client.send(capture())
        dr.inject("POST", path, "drop_after")
        result = client.send(command())
        assert (result.status, result.reconciled) == (SendStatus.SENT, True)
        assert effects_at(dr, path) == [result.response]
        assert wire(dr)[-2:] == [("POST", path), ("GET", path)]

    @pytest.mark.parametrize("items", [False, True], ids=["whole", "items"])
    def test_dropped_after_accepting_return(
        self, dr: FakeDr, client: DrClient, items: bool
    ) -> None:
        """An accepted return is recognised with ``GET /returns/{id}``."""
        return_id = create_return(client)
        dr.inject("POST", "/returns/", "drop_after")
        result = client.send(accept(return_id, items=items))
        assert (result.status, result.reconciled) == (SendStatus.SENT, True)
        path = f"/returns/{return_id}"
        assert wire(dr)[-2:] == [("POST", path), ("GET", path)]
        assert len(effects_at(dr, path)) == 1

    def test_pages_walked(self, sleeps: Sleeps) -> None:
        """The key is looked for on every page of the order's list."""
        with FakeDr(secret=SECRET, page_cap=2) as dr:
            dr.add_order(ORDER, {ITEM: 10})
            with make(dr, sleeps) as client:
                dr.inject("POST", "/fulfillments", "drop_after")
                dr.inject("GET", "/fulfillments", "500")
                assert client.send(capture()).status is SendStatus.RETRY
                for n in range(4):
                    other = capture(key=f"other:{n}", shipment=f"S-{n}")
                    assert client.send(other).status is SendStatus.SENT
                seen = len(dr.calls)
                result = client.send(capture())
            assert (result.status, result.reconciled) == (SendStatus.SENT, True)
            assert result.response == effects_at(dr, "/fulfillments")[0]
            cursors = [c.query.get("startingAfter") for c in dr.calls[seen:]]
            assert len(cursors) == 3
            assert cursors[0] is None
            assert posts(dr) == 5


class TestNotFound:
    """Not (yet) at DR: sent again only when DR is known to be done with it."""

    def test_after_500_sent_again(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """500, not found: backoff, then the capture is sent again, once."""
        dr.inject("POST", "/fulfillments", "500")
        result = client.send(capture())
        assert (result.status, result.reconciled, result.attempts) == (
            SendStatus.SENT,
            False,
            2,
        )
        assert wire(dr) == [POST_FUL, GET_FUL, POST_FUL]
        assert sleeps == [0.5]
        assert len(dr.effects) == 1

    def test_500_bounded(self, dr: FakeDr, sleeps: Sleeps) -> None:
        """500 every time: each send reconciled first, ``max_attempts`` in all."""
        dr.inject("POST", "/fulfillments", "500", times=9)
        with make(dr, sleeps, max_attempts=3) as client:
            result = client.send(capture())
        assert (result.status, result.attempts, result.retry_after) == (
            SendStatus.RETRY,
            3,
            4.0,
        )
        assert wire(dr) == [POST_FUL, GET_FUL] * 3
        assert (sleeps, dr.effects) == ([0.5, 1.0], [])

    @pytest.mark.parametrize("fault", ["drop_before", "502", "504"])
    def test_maybe_in_flight_not_sent_again(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps, fault: str
    ) -> None:
        """DR may still be working: RETRY; the next send looks before it posts."""
        dr.inject("POST", "/fulfillments", fault)
        first = client.send(capture())
        assert (first.status, first.attempts, first.retry_after) == (
            SendStatus.RETRY,
            1,
            1.0,
        )
        assert first.reason.startswith("ambiguous, not found yet; not sent again")
        assert wire(dr) == [POST_FUL, GET_FUL]
        second = client.send(capture())
        assert (second.status, second.reconciled) == (SendStatus.SENT, False)
        assert wire(dr)[2:] == [GET_FUL, POST_FUL]
        assert (len(dr.effects), sleeps) == (1, [])

    def test_slow_beyond_timeout_never_twice(
        self, dr: FakeDr, client: DrClient
    ) -> None:
        """Read timeout while DR works: RETRY; later found, not posted again."""
        dr.inject("POST", "/fulfillments", "slow", seconds=1.0)
        first = client.send(capture())
        assert first.status is SendStatus.RETRY
        assert first.reason.startswith(
            "ambiguous, not found yet; not sent again: ReadTimeout"
        )
        deadline = time.monotonic() + 5
        while not dr.effects and time.monotonic() < deadline:
            time.sleep(0.02)
        second = client.send(capture())
        assert (second.status, second.reconciled) == (SendStatus.SENT, True)
        assert posts(dr) == 1
        assert effects_at(dr, "/fulfillments") == [second.response]

    def test_failed_reconciliation_is_retry(self, dr: FakeDr, client: DrClient) -> None:
        """The list cannot be read: RETRY, never a blind POST; found next time."""
        dr.inject("POST", "/fulfillments", "drop_after")
        dr.inject("GET", "/fulfillments", "500")
        first = client.send(capture())
        assert first.status is SendStatus.RETRY
        assert "reconciliation failed" in first.reason
        second = client.send(capture())
        assert (second.status, second.reconciled) == (SendStatus.SENT, True)
        assert (posts(dr), len(dr.effects)) == (1, 1)

    def test_failed_check_before_resend(self, dr: FakeDr, client: DrClient) -> None:
        """A suspect key whose check fails is not posted at all."""
        dr.inject("POST", "/fulfillments", "drop_before")
        assert client.send(capture()).status is SendStatus.RETRY
        dr.inject("GET", "/fulfillments", "503")
        second = client.send(capture())
        assert (second.status, second.attempts) == (SendStatus.RETRY, 0)
        assert second.reason == "reconciliation failed; not sent again"
        assert posts(dr) == 1
        third = client.send(capture())
        assert (third.status, posts(dr), len(dr.effects)) == (SendStatus.SENT, 2, 1)


class TestMatching:
    """Which of DR's fulfillments count as the command's."""

    def test_no_metadata_matches_shipment_and_lines(
        self, dr: FakeDr, client: DrClient
    ) -> None:
        """Without metadata, the same shipment and exactly the same lines match."""
        post_raw(
            dr,
            {
                "orderId": ORDER,
                "shipmentId": "S1",
                "items": [{"itemId": ITEM, "quantity": 1}],
            },
        )
        dr.inject("POST", "/fulfillments", "drop_before")
        result = client.send(capture())
        assert (result.status, result.reconciled) == (SendStatus.SENT, True)
        assert result.response is not None
        assert "metadata" not in result.response
        assert len(dr.effects) == 1

    @pytest.mark.parametrize(
        ("existing", "command"),
        [
            (
                {"shipmentId": "S1", "items": [{"itemId": ITEM, "quantity": 2}]},
                capture(),
            ),
            (
                {"shipmentId": "S2", "items": [{"itemId": ITEM, "quantity": 1}]},
                capture(),
            ),
            (
                {
                    "shipmentId": "S1",
                    "items": [{"itemId": ITEM, "quantity": 1}],
                    "metadata": {"drfulfillmentKey": "someone-else"},
                },
                capture(),
            ),
            ({"items": [{"itemId": ITEM, "cancelQuantity": 1}]}, cancel()),
        ],
        ids=["other lines", "other shipment", "other key", "bare cancel"],
    )
    def test_not_matched(
        self, dr: FakeDr, client: DrClient, existing: Json, command: ApiCommand
    ) -> None:
        """Anything else is not the command's: RETRY, nothing posted again."""
        post_raw(dr, {"orderId": ORDER, **existing})
        dr.inject("POST", "/fulfillments", "drop_before")
        result = client.send(command)
        assert result.status is SendStatus.RETRY
        assert (posts(dr), len(dr.effects)) == (2, 1)


class TestUncheckable:
    """Fulfiller requests have no key at DR: an ambiguous failure is FAILED."""

    @pytest.mark.parametrize(
        "command",
        [fo_cancellation, fo_return],
        ids=lambda c: c.__name__,
    )
    @pytest.mark.parametrize("fault", ["drop_after", "drop_before", "500", "504"])
    def test_ambiguous_is_failed(
        self,
        dr: FakeDr,
        client: DrClient,
        sleeps: Sleeps,
        command: Callable[[], ApiCommand],
        fault: str,
    ) -> None:
        """Never sent again, never looked up: a person checks DR first."""
        path = request_for(command())[1]
        dr.inject("POST", path, fault)
        result = client.send(command())
        assert (result.status, result.attempts) == (SendStatus.FAILED, 1)
        assert result.reason.startswith("ambiguous (may have taken effect at DR")
        assert wire(dr) == [("POST", path)]
        assert len(dr.effects) == (1 if fault == "drop_after" else 0)
        assert sleeps == []

    def test_read_timeout_is_failed(self, dr: FakeDr, client: DrClient) -> None:
        """A read timeout on a cancellation: FAILED, and it did take effect."""
        dr.inject("POST", "/fulfillment-cancellations", "slow", seconds=0.8)
        result = client.send(fo_cancellation())
        assert result.status is SendStatus.FAILED
        assert "ReadTimeout" in result.reason
        deadline = time.monotonic() + 5
        while not dr.effects and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (posts(dr), len(dr.effects)) == (1, 1)


class TestFulfillmentOrders:
    """One fulfillment order per order: found by ``upstreamIds`` after a failure."""

    def test_dropped_after_it_took_effect_is_found(
        self, dr: FakeDr, client: DrClient
    ) -> None:
        """The connection drops after DR created it: SENT, reconciled, one effect."""
        dr.inject("POST", "/fulfillment-orders", "drop_after")
        result = client.send(fulfillment_order())
        assert (result.status, result.reconciled) == (SendStatus.SENT, True)
        assert result.response is not None
        assert result.response["upstreamId"] == ORDER
        assert wire(dr) == [
            ("POST", "/fulfillment-orders"),
            ("GET", "/fulfillment-orders"),
        ]
        assert len(dr.effects) == 1


class TestReconcileFirst:
    """The worker's resend of a command an unfinished earlier claim may have sent."""

    def test_found_at_dr_is_not_sent_again(self, dr: FakeDr, client: DrClient) -> None:
        """A capture DR already holds: SENT from the lookup, no second POST."""
        assert client.send(capture()).status is SendStatus.SENT
        again = client.send(capture(), reconcile_first=True)
        assert (again.status, again.reconciled) == (SendStatus.SENT, True)
        assert posts(dr) == 1
        assert len(dr.effects) == 1

    def test_not_found_is_sent(self, dr: FakeDr, client: DrClient) -> None:
        """Nothing at DR: looked up, then sent once."""
        result = client.send(capture(), reconcile_first=True)
        assert (result.status, result.reconciled) == (SendStatus.SENT, False)
        assert wire(dr) == [GET_FUL, POST_FUL]

    def test_fulfillment_order_found_by_its_order(
        self, dr: FakeDr, client: DrClient
    ) -> None:
        """A fulfillment order already created for the order is not created twice."""
        client.send(fulfillment_order())
        again = client.send(fulfillment_order(), reconcile_first=True)
        assert (again.status, again.reconciled) == (SendStatus.SENT, True)
        assert len(dr.effects) == 1

    def test_uncheckable_is_failed_for_a_person(
        self, dr: FakeDr, client: DrClient
    ) -> None:
        """A cancellation request cannot be looked up: FAILED, never sent blind."""
        result = client.send(fo_cancellation(), reconcile_first=True)
        assert result.status is SendStatus.FAILED
        assert result.reason.startswith("ambiguous")
        assert wire(dr) == []
