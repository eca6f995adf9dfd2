"""``drfulfillment ingest``, ``show``, ``dispatch`` and ``serve`` on a SQLite store."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from drfulfillment.adapters.signature import sign
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.cli.main import main
from drfulfillment.domain.ports import InboxStatus, OutboxStatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "distributed.jsonl"
BAD = ROOT / "examples" / "bad-input.jsonl"
ORDER = "204440790336"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` with its exit status, stdout and stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


class TestIngest:
    def test_example_is_received_applied_and_counted(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """13 lines, one duplicate id: 12 received, all applied, 7 commands pending."""
        db = tmp_path / "s.sqlite3"
        status, out, err = run(capsys, "ingest", "--store", str(db), str(EXAMPLE))
        assert (status, out) == (0, "")
        assert "received 12, duplicates 1, unreadable 0" in err
        assert "applied 12: applied 10, waiting 2" in err
        store = SqliteStore(db)
        assert {e.status for e in store.inbox()} == {InboxStatus.APPLIED}
        assert [e.status for e in store.outbox()] == [OutboxStatus.PENDING] * 7
        store.close()

    def test_ingesting_twice_changes_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A second ingest of the same file only finds duplicates."""
        db = str(tmp_path / "s.sqlite3")
        run(capsys, "ingest", "--store", db, str(EXAMPLE))
        status, _, err = run(capsys, "ingest", "--store", db, str(EXAMPLE))
        assert status == 0
        assert "received 0, duplicates 13, unreadable 0" in err
        store = SqliteStore(db)
        assert len(store.outbox()) == 7
        store.close()

    def test_bad_lines_are_reported_and_the_rest_applied(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Unreadable lines are named by number; refusals make the status 1."""
        db = str(tmp_path / "s.sqlite3")
        status, _, err = run(capsys, "ingest", "--store", db, str(BAD))
        assert status == 1
        assert "line 6: not a DR event or request" in err
        assert "applied 7: applied 4, parked 1, refused 2" in err
        assert "line 5: not a DR event or request" in err

    def test_missing_file_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Exit 2 naming the file."""
        status, _, err = run(
            capsys, "ingest", "--store", str(tmp_path / "s"), str(tmp_path / "nope")
        )
        assert status == 2
        assert "cannot read" in err


class TestShow:
    def test_person_readable(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """State, lines, FO buckets, inputs and commands."""
        db = str(tmp_path / "s.sqlite3")
        run(capsys, "ingest", "--store", db, str(EXAMPLE))
        status, out, _ = run(capsys, "show", "--store", db, ORDER)
        assert status == 0
        assert out.startswith(f"order {ORDER}  (distributed, complete, version 12)")
        assert "quantity 2  captured 1  cancelled 1  unreported 0" in out
        assert "shipped 1  cancelled 1  returned 0" in out
        assert "pending    CreateFulfillment  fulfillment:shipment:29016544906" in out

    def test_json(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """``--json``: state document, reconciliation, inbox and outbox."""
        db = str(tmp_path / "s.sqlite3")
        run(capsys, "ingest", "--store", db, str(EXAMPLE))
        status, out, _ = run(capsys, "show", "--store", db, ORDER, "--json")
        doc = json.loads(out)
        assert status == 0
        assert doc["state"]["schemaVersion"] == 1
        assert len(doc["inbox"]) == 12
        assert [c["status"] for c in doc["outbox"]] == ["pending"] * 7
        assert "balanced" in doc["reconciliation"]

    def test_unknown_order(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Exit 1, saying so."""
        status, out, _ = run(capsys, "show", "--store", str(tmp_path / "s"), "nope")
        assert (status, out) == (1, "drfulfillment: no order nope in the store\n")


def test_dispatch_without_a_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ``DR_SECRET_KEY``: exit 2, nothing sent, the outbox untouched."""
    monkeypatch.delenv("DR_SECRET_KEY", raising=False)
    db = str(tmp_path / "s.sqlite3")
    run(capsys, "ingest", "--store", db, str(EXAMPLE))
    status, _, err = run(capsys, "dispatch", "--store", db)
    assert status == 2
    assert "DR_SECRET_KEY" in err
    store = SqliteStore(db)
    assert {e.status for e in store.outbox()} == {OutboxStatus.PENDING}
    store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_receives_applies_and_shows(tmp_path: Path) -> None:
    """``drfulfillment serve`` (a real process, SQLite, no other set-up): a signed
    delivery is answered 202, a forged one 401, and the worker applies the event."""
    port = _free_port()
    db = tmp_path / "served.sqlite3"
    env = {**os.environ, "DR_WEBHOOK_SECRETS": "whsec_test"}
    env.pop("DR_SECRET_KEY", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drfulfillment",
            "serve",
            "--store",
            str(db),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        body = EXAMPLE.read_bytes().splitlines()[0]
        stamp = int(time.time())
        signed = {"DigitalRiver-Signature": sign("whsec_test", stamp, body)}
        answer = httpx.post(
            f"{url}/webhooks/digitalriver", content=body, headers=signed
        )
        assert answer.status_code == 202
        forged = {"DigitalRiver-Signature": sign("other", stamp, body)}
        assert (
            httpx.post(
                f"{url}/webhooks/digitalriver", content=body, headers=forged
            ).status_code
            == 401
        )
        store = SqliteStore(db)
        deadline = time.monotonic() + 20
        while store.load(ORDER) is None:
            assert time.monotonic() < deadline, "the worker did not apply the event"
            time.sleep(0.1)
        assert [e.kind for e in store.outbox()] == ["CreateFulfillmentOrder"]
        store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_work_until_idle_sends_each_command_once(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ingest --no-apply`` then ``work --until-idle`` against the local fake DR:
    everything applied, every API command sent once, notifications settled; a second
    ``work`` finds nothing to do."""
    from fakedr import FakeDr

    db = str(tmp_path / "s.sqlite3")
    with FakeDr(secret="sk_test_cli") as dr:
        dr.add_order(ORDER, {"127911830336": 2})
        monkeypatch.setenv("DR_SECRET_KEY", "sk_test_cli")
        monkeypatch.setenv("DR_BASE_URL", dr.url)
        run(capsys, "ingest", "--no-apply", "--store", db, str(EXAMPLE))
        status, _, err = run(capsys, "work", "--until-idle", "--store", db)
        assert (status, err) == (0, "")
        store = SqliteStore(db)
        assert {e.status for e in store.inbox()} == {InboxStatus.APPLIED}
        assert {e.status for e in store.outbox()} == {OutboxStatus.SENT}
        keys = [c.headers["upstream-id"] for c in dr.calls if c.method == "POST"]
        assert sorted(keys) == sorted(
            e.key for e in store.outbox() if e.kind.startswith("Create")
        )
        assert run(capsys, "work", "--until-idle", "--store", db)[0] == 0
        assert len([c for c in dr.calls if c.method == "POST"]) == len(keys)
        store.close()
