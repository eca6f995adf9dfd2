"""The webhook endpoint (drfulfillment.adapters.webhook) through Starlette's TestClient."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from conftest import load_payload
from drfulfillment.adapters.signature import sign
from drfulfillment.adapters.webhook import DEFAULT_PATH, make_app

with warnings.catch_warnings():
    # Starlette 1.x wants the ``httpx2`` fork for its TestClient and warns (an error
    # here) when it falls back to ``httpx``, which is what is installed. Only that
    # one warning, only for this import, is silenced.
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient` is deprecated",
        category=StarletteDeprecationWarning,
    )
    from starlette.testclient import TestClient

SECRET = "whsec_endpoint"
NOW = 1_700_000_000


class FakeInbox:
    """Keeps events in a dict; can be told to fail."""

    def __init__(self) -> None:
        self.events: dict[str, tuple[str, bytes]] = {}
        self.calls = 0
        self.failure: Exception | None = None

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Store once per id; ``False`` for a repeat."""
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        if event_id in self.events:
            return False
        self.events[event_id] = (event_type, body)
        return True


@pytest.fixture
def inbox() -> FakeInbox:
    """A fresh fake inbox."""
    return FakeInbox()


@pytest.fixture
def client(inbox: FakeInbox) -> Iterator[TestClient]:
    """The app with one secret, a fixed clock and a 4 kB body limit."""
    app = make_app(inbox, secrets=[SECRET], clock=lambda: NOW, max_body_bytes=4096)
    with TestClient(app) as test_client:
        yield test_client


def event(event_id: str = "evt_1", event_type: str = "order.accepted") -> bytes:
    """A small event body."""
    return json.dumps({"id": event_id, "type": event_type, "data": {}}).encode()


def post(
    client: TestClient,
    body: bytes,
    *,
    secret: str = SECRET,
    stamp: int = NOW,
    header: str | None = None,
) -> Any:
    """POST ``body`` signed with ``secret`` at ``stamp`` (or with ``header`` as is)."""
    value = sign(secret, stamp, body) if header is None else header
    headers = {"DigitalRiver-Signature": value, "Content-Type": "application/json"}
    return client.post(DEFAULT_PATH, content=body, headers=headers)


class TestAccepted:
    """Signed, well-formed deliveries reach the inbox and get 202."""

    def test_stored_with_raw_body(self, client: TestClient, inbox: FakeInbox) -> None:
        """202 names the event; the inbox holds its type and exact bytes."""
        body = event("evt_a", "order.accepted")
        response = post(client, body)
        assert response.status_code == 202
        assert response.json() == {"received": "evt_a", "duplicate": False}
        assert inbox.events == {"evt_a": ("order.accepted", body)}

    def test_real_dr_payload(self, inbox: FakeInbox) -> None:
        """DR's published ``order.accepted`` event is taken as is (default limit)."""
        payload = load_payload("event-order.accepted.json")
        body = json.dumps(payload, indent=2).encode()
        app = make_app(inbox, secrets=[SECRET], clock=lambda: NOW)
        with TestClient(app) as test_client:
            response = post(test_client, body)
        assert response.status_code == 202
        assert inbox.events[payload["id"]] == ("order.accepted", body)

    def test_duplicate(self, client: TestClient, inbox: FakeInbox) -> None:
        """A redelivery (new signature and timestamp) is 202 with duplicate true."""
        first = post(client, event("evt_d"))
        second = post(client, event("evt_d"), stamp=NOW + 60)
        assert (first.status_code, second.status_code) == (202, 202)
        assert first.json()["duplicate"] is False
        assert second.json() == {"received": "evt_d", "duplicate": True}
        assert list(inbox.events) == ["evt_d"]

    def test_unknown_type_and_fields(
        self, client: TestClient, inbox: FakeInbox
    ) -> None:
        """DR adds event types and fields without notice: both are accepted."""
        body = json.dumps(
            {"id": "evt_new", "type": "brand.new.event", "newField": [1], "data": {}}
        ).encode()
        response = post(client, body)
        assert response.status_code == 202
        assert inbox.events["evt_new"] == ("brand.new.event", body)

    def test_old_secret_during_rotation(self, inbox: FakeInbox) -> None:
        """Deliveries signed with either configured secret are accepted."""
        app = make_app(inbox, secrets=["new", "old"], clock=lambda: NOW)
        with TestClient(app) as test_client:
            assert post(test_client, event("e1"), secret="old").status_code == 202
            assert post(test_client, event("e2"), secret="new").status_code == 202
            assert post(test_client, event("e3"), secret="other").status_code == 401
        assert sorted(inbox.events) == ["e1", "e2"]

    def test_no_secrets_disables_checking(self, inbox: FakeInbox) -> None:
        """With no secrets (local testing only) an unsigned delivery is taken."""
        app = make_app(inbox, secrets=[], clock=lambda: NOW)
        with TestClient(app) as test_client:
            response = test_client.post(DEFAULT_PATH, content=event("evt_u"))
        assert response.status_code == 202
        assert list(inbox.events) == ["evt_u"]

    def test_custom_path(self, inbox: FakeInbox) -> None:
        """``path`` moves the endpoint; the default path is then not served."""
        app = make_app(inbox, secrets=[SECRET], clock=lambda: NOW, path="/hooks/dr")
        with TestClient(app) as test_client:
            body = event("evt_p")
            headers = {"DigitalRiver-Signature": sign(SECRET, NOW, body)}
            assert (
                test_client.post("/hooks/dr", content=body, headers=headers).status_code
                == 202
            )
            assert (
                test_client.post(
                    DEFAULT_PATH, content=body, headers=headers
                ).status_code
                == 404
            )
        assert list(inbox.events) == ["evt_p"]


class TestUnauthorized:
    """Signature failures are 401 with a reason, and nothing is stored."""

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"secret": "not-ours"}, "does not match"),
            ({"stamp": NOW - 301}, "stale"),
            ({"stamp": NOW + 301}, "future"),
            ({"header": ""}, "missing"),
            ({"header": "nonsense"}, "malformed"),
        ],
    )
    def test_refused(
        self, client: TestClient, inbox: FakeInbox, kwargs: dict[str, Any], reason: str
    ) -> None:
        """Wrong secret, stale, missing or malformed: 401, inbox untouched."""
        response = post(client, event(), **kwargs)
        assert response.status_code == 401
        assert reason in response.json()["error"]
        assert inbox.calls == 0

    def test_header_absent(self, client: TestClient, inbox: FakeInbox) -> None:
        """No signature header at all."""
        response = client.post(DEFAULT_PATH, content=event())
        assert response.status_code == 401
        assert "missing" in response.json()["error"]
        assert inbox.calls == 0

    def test_body_changed_after_signing(
        self, client: TestClient, inbox: FakeInbox
    ) -> None:
        """The signature covers the raw bytes, whitespace included."""
        body = event()
        header = sign(SECRET, NOW, body)
        response = post(client, body.replace(b", ", b","), header=header)
        assert response.status_code == 401
        assert inbox.calls == 0

    def test_clock_is_used(self, inbox: FakeInbox) -> None:
        """Staleness is judged by the injected clock."""
        app = make_app(inbox, secrets=[SECRET], clock=lambda: NOW + 3600)
        with TestClient(app) as test_client:
            assert post(test_client, event()).status_code == 401
            assert post(test_client, event(), stamp=NOW + 3600).status_code == 202


class TestBadRequest:
    """Signed but unusable bodies: 400 naming the problem."""

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"{not json", "not valid JSON"),
            (b"", "not valid JSON"),
            (b"\xff\xfe\x00garbage", "not valid JSON"),
            (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
            (b'["id", "type"]', "not a JSON object (got list)"),
            (b'"evt"', "not a JSON object (got str)"),
            (b'{"type": "order.accepted"}', "no 'id'"),
            (b'{"id": "evt_1"}', "no 'type'"),
            (b'{"id": 7, "type": "order.accepted"}', "'id' is not a non-empty string"),
            (b'{"id": "", "type": "order.accepted"}', "'id' is not a non-empty string"),
            (b'{"id": "evt_1", "type": null}', "'type' is not a non-empty string"),
        ],
    )
    def test_refused(self, inbox: FakeInbox, body: bytes, reason: str) -> None:
        """Each malformed body is named; the inbox is untouched."""
        app = make_app(inbox, secrets=[SECRET], clock=lambda: NOW)
        with TestClient(app) as test_client:
            response = post(test_client, body)
        assert response.status_code == 400
        assert reason in response.json()["error"]
        assert inbox.calls == 0


class TestLimitsAndFailures:
    """Oversize bodies, failing inboxes, other routes."""

    def test_oversize(self, client: TestClient, inbox: FakeInbox) -> None:
        """A body over the limit is 413, even when correctly signed."""
        body = json.dumps({"id": "evt_big", "type": "t", "pad": "x" * 5000}).encode()
        response = post(client, body)
        assert response.status_code == 413
        assert inbox.calls == 0

    def test_at_limit_accepted(self, client: TestClient, inbox: FakeInbox) -> None:
        """A body of exactly the limit is read."""
        head = b'{"id": "evt_edge", "type": "t", "pad": "'
        body = head + b"x" * (4096 - len(head) - 2) + b'"}'
        assert len(body) == 4096
        assert post(client, body).status_code == 202
        assert "evt_edge" in inbox.events

    def test_oversize_streamed_without_length(
        self, client: TestClient, inbox: FakeInbox
    ) -> None:
        """A chunked body (no Content-Length) is cut off at the limit too."""

        def chunks() -> Iterator[bytes]:
            yield b'{"id": "evt_s", "type": "t", "pad": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        headers = {"DigitalRiver-Signature": "irrelevant"}
        response = client.post(DEFAULT_PATH, content=chunks(), headers=headers)
        assert response.status_code == 413
        assert inbox.calls == 0

    def test_inbox_failure_is_503(
        self,
        client: TestClient,
        inbox: FakeInbox,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """An inbox error becomes a generic 503 (DR retries) and is logged."""
        inbox.failure = RuntimeError("database is locked: secret detail")
        with caplog.at_level(logging.ERROR, logger="drfulfillment.adapters.webhook"):
            response = post(client, event("evt_f"))
        assert response.status_code == 503
        assert "secret detail" not in response.text
        assert "retry" in response.json()["error"]
        assert any("evt_f" in r.getMessage() and r.exc_info for r in caplog.records)

    def test_inbox_runs_off_the_event_loop(self) -> None:
        """``receive`` is called in a worker thread with no event loop running."""
        loops: list[bool] = []

        class LoopNoting(FakeInbox):
            def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
                try:
                    asyncio.get_running_loop()
                except RuntimeError:
                    loops.append(False)
                else:
                    loops.append(True)
                return super().receive(event_id, event_type, body)

        app = make_app(LoopNoting(), secrets=[SECRET], clock=lambda: NOW)
        with TestClient(app) as test_client:
            assert post(test_client, event()).status_code == 202
        assert loops == [False]

    def test_health(self, client: TestClient) -> None:
        """``GET /health`` is 200 ok."""
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_get_on_webhook_path_not_allowed(self, client: TestClient) -> None:
        """Only POST is served at the webhook path."""
        assert client.get(DEFAULT_PATH).status_code == 405

    def test_logs_receipt(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each accepted delivery is logged with its id and type."""
        with caplog.at_level(logging.INFO, logger="drfulfillment.adapters.webhook"):
            post(client, event("evt_l", "order.cancelled"))
        assert any(
            "evt_l" in r.getMessage() and "order.cancelled" in r.getMessage()
            for r in caplog.records
        )


class TestConfiguration:
    """``make_app`` refuses mistakes at start."""

    @pytest.mark.parametrize("secrets", [SECRET, SECRET.encode()])
    def test_lone_string_secret(self, inbox: FakeInbox, secrets: str | bytes) -> None:
        """A lone string would be read as one secret per character."""
        with pytest.raises(ValueError, match="not one string"):
            make_app(inbox, secrets=secrets)  # type: ignore[arg-type]

    def test_non_positive_limit(self, inbox: FakeInbox) -> None:
        """The body limit must be positive."""
        with pytest.raises(ValueError, match="max_body_bytes"):
            make_app(inbox, secrets=[SECRET], max_body_bytes=0)

    def test_warns_when_checking_is_off(
        self, inbox: FakeInbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No secrets logs a warning that signatures are not checked."""
        with caplog.at_level(logging.WARNING, logger="drfulfillment.adapters.webhook"):
            make_app(inbox, secrets=[])
        assert any("OFF" in r.getMessage() for r in caplog.records)
