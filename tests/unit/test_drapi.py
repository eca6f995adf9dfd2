"""The DR API client against the fake DR on loopback: requests, outcomes, backoff.

Real sockets, short timeouts (0.3 s), an injected ``sleep`` that only records, and
``jitter`` fixed at 1 so backoff is exact. Ambiguous failures and reconciliation are
in ``test_drapi_reconcile.py``; the secret key's confidentiality and logging here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from drapi_support import (
    ITEM,
    ORDER,
    SECRET,
    Sleeps,
    accept,
    capture,
    create_return,
    fo_cancellation,
    fo_return,
    fulfillment_order,
    make,
    posts,
    refund,
    third_party_return,
)
from drfulfillment import __version__
from drfulfillment.adapters import drapi
from drfulfillment.adapters.drapi import (
    METADATA_KEY,
    ConfigurationError,
    DrClient,
    request_for,
)
from drfulfillment.domain.commands import ApiCommand, CreateFulfillment, FulfillmentItem
from drfulfillment.domain.ports import SendStatus
from fakedr import FakeDr


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
    """The default client of the fake."""
    with make(dr, sleeps) as made:
        yield made


class TestConstruction:
    """The key is required, taken from the environment, and never shown."""

    def test_no_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Neither argument nor ``DR_SECRET_KEY``: a typed error."""
        monkeypatch.delenv("DR_SECRET_KEY", raising=False)
        with pytest.raises(ConfigurationError, match="DR_SECRET_KEY"):
            DrClient()
        with pytest.raises(ConfigurationError):
            DrClient(secret_key="")

    def test_key_from_environment(
        self, dr: FakeDr, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``DR_SECRET_KEY`` is used when no key is passed."""
        monkeypatch.setenv("DR_SECRET_KEY", SECRET)
        with DrClient(base_url=dr.url, timeout=0.3, sleep=sleeps) as client:
            assert client.send(capture()).status is SendStatus.SENT
        assert dr.calls[0].headers["authorization"] == f"Bearer {SECRET}"

    def test_impossible_attempts(self) -> None:
        """At least one attempt."""
        with pytest.raises(ConfigurationError, match="max_attempts"):
            DrClient(secret_key=SECRET, max_attempts=0)


class TestRequests:
    """What goes on the wire."""

    def test_headers(self, dr: FakeDr, client: DrClient) -> None:
        """Bearer auth, JSON, and DR's troubleshooting headers."""
        client.send(capture())
        headers = dr.calls[0].headers
        assert headers["authorization"] == f"Bearer {SECRET}"
        assert headers["content-type"] == "application/json"
        assert headers["upstream-id"] == "fulfillment:shipment:S1"
        assert headers["upstream-application-id"] == f"drfulfillment/{__version__}"

    def test_non_ascii_key_header_quoted(self, dr: FakeDr, client: DrClient) -> None:
        """A key that is not printable ASCII is percent-encoded in ``upstream-id``."""
        client.send(capture(key="fulfillment:request:réq"))
        assert dr.calls[0].headers["upstream-id"] == "fulfillment%3Arequest%3Ar%C3%A9q"
        assert dr.calls[0].body["metadata"] == {METADATA_KEY: "fulfillment:request:réq"}

    def test_metadata_merged_not_clobbered(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Metadata already in a rendered body is kept beside the key."""
        rendered = ("POST", "/refunds", {"currency": "USD", "metadata": {"mine": "x"}})
        monkeypatch.setattr(drapi, "render_request", lambda command: rendered)
        body = request_for(refund())[2]
        assert body["metadata"] == {"mine": "x", METADATA_KEY: "refund:r1"}
        assert rendered[2]["metadata"] == {"mine": "x"}


class TestOutcomes:
    """DR's answers become SENT, MOOT, RETRY or FAILED."""

    def test_created(self, dr: FakeDr, client: DrClient, sleeps: Sleeps) -> None:
        """201: SENT with DR's resource, once."""
        result = client.send(capture())
        assert result.status is SendStatus.SENT
        assert (result.http_status, result.attempts, result.reconciled) == (
            201,
            1,
            False,
        )
        assert [e.resource for e in dr.effects] == [result.response]
        assert sleeps == []

    @pytest.mark.parametrize(
        "make_command",
        [fulfillment_order, fo_cancellation, fo_return, third_party_return, refund],
    )
    def test_every_kind_sent(
        self, dr: FakeDr, client: DrClient, make_command: Any
    ) -> None:
        """Each kind's body passes the fake's schema check and is created once."""
        if make_command is third_party_return:
            client.send(capture())
        result = client.send(make_command())
        assert (result.status, result.http_status) == (SendStatus.SENT, 201)
        assert dr.effects[-1].resource == result.response

    @pytest.mark.parametrize("items", [False, True], ids=["whole", "items"])
    def test_accept_return(self, dr: FakeDr, client: DrClient, items: bool) -> None:
        """``POST /returns/{id}`` answers 200: SENT."""
        return_id = create_return(client)
        result = client.send(accept(return_id, items=items))
        assert (result.status, result.http_status) == (SendStatus.SENT, 200)
        assert result.response is not None
        assert result.response["state"] == "accepted"

    def test_order_fulfilled_is_moot(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """409 ``order_fulfilled``: MOOT with DR's code and message, not retried."""
        dr.set_order_state(ORDER, "fulfilled")
        result = client.send(capture())
        assert (result.status, result.http_status, result.attempts) == (
            SendStatus.MOOT,
            409,
            1,
        )
        assert (
            result.reason
            == f"order_fulfilled (orderId): Resource '{ORDER}' is fulfilled."
        )
        assert (posts(dr), sleeps) == (1, [])

    def test_order_already_complete_is_moot(self) -> None:
        """409 ``order_already_complete``: MOOT too."""
        answer = {
            "type": "conflict",
            "errors": [{"code": "order_already_complete", "message": "done"}],
        }
        transport = httpx.MockTransport(
            lambda request: httpx.Response(409, json=answer)
        )
        with DrClient(secret_key=SECRET, transport=transport, sleep=Sleeps()) as client:
            result = client.send(capture())
        assert (result.status, result.reason) == (
            SendStatus.MOOT,
            "order_already_complete: done",
        )

    def test_dispute_hold_is_retry(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """409 ``order_not_submitted``: RETRY after ``backoff_cap``, nothing slept."""
        dr.set_order_state(ORDER, "dispute")
        result = client.send(capture())
        assert (result.status, result.retry_after, result.attempts) == (
            SendStatus.RETRY,
            30.0,
            1,
        )
        assert result.reason.startswith("order_not_submitted (orderId)")
        assert (dr.effects, sleeps) == ([], [])

    @pytest.mark.parametrize(
        ("command", "status", "reason"),
        [
            (
                CreateFulfillment(
                    key="k",
                    order_id=ORDER,
                    items=(FulfillmentItem(item_id="x", quantity=1),),
                ),
                400,
                "invalid_parameter (items[0].itemId): ",
            ),
            (
                CreateFulfillment(
                    key="k",
                    order_id="nope",
                    items=(FulfillmentItem(item_id=ITEM, quantity=1),),
                ),
                404,
                "not_found (orderId): ",
            ),
            (
                capture(quantity=11),
                409,
                "invalid_quantity_amount (items[0].quantity): ",
            ),
        ],
        ids=["400", "404", "409 other"],
    )
    def test_refused_is_failed(
        self,
        dr: FakeDr,
        client: DrClient,
        sleeps: Sleeps,
        command: ApiCommand,
        status: int,
        reason: str,
    ) -> None:
        """Other 4xx: FAILED at once with DR's code, parameter and message."""
        result = client.send(command)
        assert (result.status, result.http_status, result.attempts) == (
            SendStatus.FAILED,
            status,
            1,
        )
        assert result.reason.startswith(reason)
        assert result.response is not None
        assert (posts(dr), sleeps, dr.effects) == (1, [], [])

    def test_wrong_key_is_failed(self, dr: FakeDr, sleeps: Sleeps) -> None:
        """401: FAILED."""
        with make(dr, sleeps, secret_key="sk_wrong") as client:
            result = client.send(capture())
        assert (result.status, result.http_status) == (SendStatus.FAILED, 401)


class TestBackoff:
    """429 honours Retry-After; refusals back off with full jitter, bounded."""

    def test_retry_after_honoured(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """``Retry-After: 7`` is slept, then the call succeeds."""
        dr.inject("POST", "/fulfillments", "429", retry_after=7)
        result = client.send(capture())
        assert (result.status, result.attempts, sleeps) == (SendStatus.SENT, 2, [7.0])
        assert len(dr.effects) == 1

    def test_retry_after_too_long(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """Beyond ``max_retry_after``: RETRY with DR's delay, nothing slept."""
        dr.inject("POST", "/fulfillments", "429", retry_after=120)
        result = client.send(capture())
        assert (result.status, result.retry_after, result.attempts, sleeps) == (
            SendStatus.RETRY,
            120.0,
            1,
            [],
        )

    def test_429_bounded(self, dr: FakeDr, sleeps: Sleeps) -> None:
        """429 every time: ``max_attempts`` sends, then RETRY."""
        dr.inject("POST", "/fulfillments", "429", times=9, retry_after=2)
        with make(dr, sleeps, max_attempts=3) as client:
            result = client.send(capture())
        assert (result.status, result.attempts, result.retry_after) == (
            SendStatus.RETRY,
            3,
            2.0,
        )
        assert (sleeps, posts(dr), dr.effects) == ([2.0, 2.0], 3, [])

    def test_503_bounded_exponential(
        self, dr: FakeDr, client: DrClient, sleeps: Sleeps
    ) -> None:
        """503 every time: backoff 0.5, 1, 2, then RETRY after 4 sends."""
        dr.inject("POST", "/fulfillment-orders", "503", times=9)
        result = client.send(fulfillment_order())
        assert (result.status, result.attempts, result.http_status) == (
            SendStatus.RETRY,
            4,
            503,
        )
        assert sleeps == [0.5, 1.0, 2.0]
        assert result.retry_after == 8.0
        assert (posts(dr), dr.effects) == (4, [])

    def test_cap_and_jitter(self, dr: FakeDr, sleeps: Sleeps) -> None:
        """``min(cap, backoff * 2**n) * jitter()``."""
        dr.inject("POST", "/fulfillment-orders", "503", times=3)
        with make(
            dr, sleeps, backoff=1.0, backoff_cap=1.5, jitter=lambda: 0.5
        ) as client:
            result = client.send(fulfillment_order())
        assert (result.status, result.attempts) == (SendStatus.SENT, 4)
        assert sleeps == [0.5, 0.75, 0.75]
        assert len(dr.effects) == 1

    def test_connection_refused(self, sleeps: Sleeps) -> None:
        """Nobody listening: backoff, then RETRY; never raises."""
        closed = FakeDr().start()
        url = closed.url
        closed.stop()
        with DrClient(
            secret_key=SECRET,
            base_url=url,
            timeout=0.3,
            sleep=sleeps,
            jitter=lambda: 1.0,
        ) as client:
            result = client.send(capture())
        assert (result.status, result.attempts, result.http_status) == (
            SendStatus.RETRY,
            4,
            None,
        )
        assert result.reason.startswith("ConnectError")
        assert sleeps == [0.5, 1.0, 2.0]


LIVE_KEY = "sk_live_0123456789abcdef"


class TestSecretKept:
    """The secret key never shows in logs, reprs, reasons or responses."""

    def test_not_in_logs_reprs_or_results(
        self, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Every outcome, with all loggers at DEBUG, httpx's own included."""
        caplog.set_level(logging.DEBUG)
        with FakeDr(secret=LIVE_KEY) as fake:
            fake.add_order(ORDER, {ITEM: 10})
            fake.inject("POST", "/fulfillments", "drop_after")
            fake.inject("GET", "/fulfillments", "500")
            fake.inject("POST", "/fulfillment-orders", "500")
            with (
                make(fake, sleeps, secret_key=LIVE_KEY) as good,
                make(fake, sleeps, secret_key=LIVE_KEY + "x") as bad,
            ):
                results = [
                    good.send(capture()),
                    good.send(capture()),
                    good.send(fulfillment_order()),
                    good.send(refund()),
                    bad.send(refund()),
                ]
                text = caplog.text + repr(results) + repr(good) + repr(bad)
            assert fake.calls[0].headers["authorization"] == f"Bearer {LIVE_KEY}"
        assert [r.status.value for r in results] == [
            "retry",
            "sent",
            "sent",  # not found after the 500, so sent again
            "sent",
            "failed",
        ]
        assert "drfulfillment.adapters.drapi" in caplog.text
        assert "sk_live" not in text

    @pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadError])
    def test_scrubbed_from_wire_errors(self, error: type[httpx.TransportError]) -> None:
        """Even an error message quoting the key gets ``[secret]`` instead."""

        def fail(request: httpx.Request) -> httpx.Response:
            raise error(f"refused for {LIVE_KEY}", request=request)

        transport = httpx.MockTransport(fail)
        with DrClient(
            secret_key=LIVE_KEY, transport=transport, sleep=Sleeps()
        ) as client:
            result = client.send(fulfillment_order())
        assert "[secret]" in result.reason
        assert LIVE_KEY not in result.reason


def test_one_info_line_per_send(
    dr: FakeDr, client: DrClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Method, path, key, outcome, status and attempts; never the body at INFO."""
    caplog.set_level(logging.INFO, logger="drfulfillment.adapters.drapi")
    client.send(capture())
    dr.set_order_state(ORDER, "dispute")
    client.send(capture(key="k2", shipment="S2"))
    infos = [
        r.getMessage()
        for r in caplog.records
        if r.name == "drfulfillment.adapters.drapi" and r.levelno == logging.INFO
    ]
    assert infos == [
        "POST /fulfillments key=fulfillment:shipment:S1 -> sent (http 201, attempts 1)",
        "POST /fulfillments key=k2 -> retry (http 409, attempts 1)",
    ]
    assert "Z-BODY-ONLY" not in caplog.text
