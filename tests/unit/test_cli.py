"""The ``drfulfillment replay`` contract: stdout, stderr and exit status.

stdout: one JSON object per emitted command; stderr: ``line N: ID: reason`` per refused
line and ``waiting: ID: reason`` per input still waiting; exit 0 (nothing refused),
1 (something refused) or 2 (usage error).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from builders import Json, fo_line, fulfillment_order, order_event, request, shipped
from conftest import load_payload
from drfulfillment.cli.main import main, replay
from drfulfillment.domain import IntegrationModel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "distributed.jsonl"
BAD_EXAMPLE = ROOT / "examples" / "bad-input.jsonl"
GOLDEN = ROOT / "tests" / "fixtures" / "replay" / "distributed.expected.jsonl"

ORDER = "204440790336"
LINE = "127911830336"
SKU = "ed7b06bd-7b2e-4525-9156-cd6fcbe7fe42"
FO = "5774321009"
FO_LINE = "650398674428"

BAD_INPUT_STDERR = [
    "line 5: evt_bad_json: type: required field missing or not a string",
    "line 6: -: not valid JSON: Expecting property name enclosed in double quotes: "
    "line 2 column 1 (char 67)",
    f"line 7: evt_overship: fulfillment order {FO} line {FO_LINE}: 5 shipped + 0 "
    "cancelled exceed its quantity 2",
    "line 8: evt_unknown_line: data.object.items[0].fulfillmentOrderItemId: "
    f"fulfillment order {FO} has no line nope",
    "waiting: evt_waits_for_fo: fulfillment order 123456",
]


def jsonl(*docs: Json | str) -> str:
    """A JSON Lines text; strings are written as they are (blank or broken lines)."""
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs)


def write(tmp_path: Path, *docs: Json | str, name: str = "in.jsonl") -> Path:
    """Write a JSON Lines file under ``tmp_path``."""
    path = tmp_path / name
    path.write_text(jsonl(*docs), encoding="utf-8")
    return path


def commands(out: str) -> list[tuple[str, str]]:
    """``(command, idempotencyKey)`` of each stdout line."""
    return [
        (line["command"], line["idempotencyKey"])
        for line in map(json.loads, out.splitlines())
    ]


def run_main(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, list[str]]:
    """``main(argv)``: exit status, stdout, stderr lines."""
    status = main(["replay", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.splitlines()


class TestReplayDistributedExample:
    """The demo, ``examples/distributed.jsonl``, and its golden output."""

    def test_stdout_is_the_golden_file(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 0, exactly the golden stdout, nothing on stderr."""
        status, out, err = run_main(capsys, str(EXAMPLE))
        assert status == 0
        assert out == GOLDEN.read_text(encoding="utf-8")
        assert err == []

    def test_golden_file_follows_the_rules(self) -> None:
        """One FO, one capture of the one shipment, one notice per change, one cancel."""
        lines = [json.loads(x) for x in GOLDEN.read_text(encoding="utf-8").splitlines()]
        assert commands(GOLDEN.read_text(encoding="utf-8")) == [
            ("CreateFulfillmentOrder", f"fulfillment-order:{ORDER}"),
            ("NotifyCustomerOfShipment", "notify:shipment:29016544906"),
            ("CreateFulfillment", "fulfillment:shipment:29016544906"),
            ("NotifyCustomerOfBackorder", f"notify:backorder:{FO}:{FO_LINE}:1"),
            (
                "CreateFulfillmentCancellation",
                f"fulfillment-cancellation:req-cancel-1:{FO}",
            ),
            ("NotifyCustomerOfCancellation", f"notify:cancellation:{FO}:{FO_LINE}:1"),
            ("CreateFulfillment", f"fulfillment:cancel:{ORDER}:{LINE}:0+1"),
        ]
        assert lines[0]["body"]["items"] == [
            {
                "upstreamId": LINE,
                "inventoryItemId": SKU,
                "quantity": 2,
                "total": 20.0,
                "tax": {"amount": 1.61},
            }
        ]
        assert lines[2]["body"] == {
            "orderId": ORDER,
            "shipmentId": "29016544906",
            "items": [{"itemId": LINE, "quantity": 1, "shipmentItemId": "8760948870"}],
            "trackingCompany": "Fedex",
            "trackingNumber": "Z10100002632653",
            "trackingUrl": "http://www.fedex.com/Tracking?tracknumbers=Z10100002632653",
        }
        assert lines[4]["body"] == {
            "fulfillmentOrderId": FO,
            "upstreamId": ORDER,
            "reason": "requested_by_customer",
            "items": [
                {
                    "fulfillmentOrderItemId": FO_LINE,
                    "fulfillmentOrderItemUpstreamId": LINE,
                    "quantity": 1,
                }
            ],
        }
        assert lines[6]["body"] == {
            "orderId": ORDER,
            "items": [{"itemId": LINE, "cancelQuantity": 1}],
        }

    def test_stdin_is_read_for_dash(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``-`` reads stdin: the same output as the file."""
        stdin = io.TextIOWrapper(io.BytesIO(EXAMPLE.read_bytes()), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", stdin)
        status, out, err = run_main(capsys, "-")
        assert (status, err) == (0, [])
        assert out == GOLDEN.read_text(encoding="utf-8")

    def test_orchestrated_model(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--model orchestrated``: notifications and the cancellation request only."""
        status, out, err = run_main(capsys, "--model", "orchestrated", str(EXAMPLE))
        assert (status, err) == (0, [])
        assert commands(out) == [
            ("NotifyCustomerOfShipment", "notify:shipment:29016544906"),
            ("NotifyCustomerOfBackorder", f"notify:backorder:{FO}:{FO_LINE}:1"),
            (
                "CreateFulfillmentCancellation",
                f"fulfillment-cancellation:req-cancel-1:{FO}",
            ),
            ("NotifyCustomerOfCancellation", f"notify:cancellation:{FO}:{FO_LINE}:1"),
        ]


class TestReplayRefusals:
    """Refused and waiting inputs on stderr, and the exit status."""

    def test_bad_input_example(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 1, one ``line N: ID: reason`` per refused line, the waiting input last."""
        status, out, err = run_main(capsys, str(BAD_EXAMPLE))
        assert status == 1
        assert err == BAD_INPUT_STDERR
        assert commands(out) == [
            ("CreateFulfillmentOrder", f"fulfillment-order:{ORDER}"),
            (
                "CreateFulfillmentCancellation",
                f"fulfillment-cancellation:req-cancel-1:{FO}",
            ),
            (
                "CreateFulfillmentCancellation",
                f"fulfillment-cancellation:req-cancel-2:{FO}",
            ),
        ]

    def test_waiting_inputs_are_listed_and_do_not_fail(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Inputs still waiting at the end: ``waiting: ID: reason`` lines, sorted, exit 0."""
        unrouted = shipped("s1", "sh1", "777", ORDER, [("i1", FO_LINE, LINE, 1)])
        del unrouted["data"]["object"]["fulfillmentOrderUpstreamId"]
        path = write(
            tmp_path,
            order_event("evt-accepted", "accepted", "2021-11-01T18:23:06Z"),
            shipped("s2", "sh2", FO, ORDER, [("i2", FO_LINE, LINE, 1)]),
            unrouted,
        )
        status, out, err = run_main(capsys, str(path))
        assert status == 0
        assert commands(out) == [
            ("CreateFulfillmentOrder", f"fulfillment-order:{ORDER}")
        ]
        assert err == [
            "waiting: s1: fulfillment order 777",
            f"waiting: s2: fulfillment order {FO}",
        ]

    def test_dropped_waiting_input_names_its_own_line(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A waiting input refused once released is reported at the line it came on."""
        path = write(
            tmp_path,
            order_event("evt-accepted", "accepted", "2021-11-01T18:23:06Z"),
            shipped("s-over", "sh1", FO, ORDER, [("i1", FO_LINE, LINE, 3)]),
            fulfillment_order(
                "evt-fo",
                "fulfillment_order.pending",
                FO,
                ORDER,
                [fo_line(FO_LINE, LINE, 2)],
            ),
        )
        status, _, err = run_main(capsys, str(path))
        assert status == 1
        assert err == [
            f"line 2: s-over: fulfillment order {FO} line {FO_LINE}: 3 shipped + 0 "
            "cancelled exceed its quantity 2"
        ]

    def test_blank_lines_are_skipped_but_counted(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Blank and whitespace-only lines are skipped; line numbers stay physical."""
        path = write(
            tmp_path,
            "",
            load_payload("event-order.accepted.json"),
            "   ",
            "\t",
            request("report_shipment", "rep-1", ORDER, [(LINE, 1)]),
        )
        status, out, err = run_main(capsys, str(path))
        assert status == 1
        assert commands(out) == [
            ("CreateFulfillmentOrder", f"fulfillment-order:{ORDER}")
        ]
        assert err == [
            f"line 5: rep-1: items[0].itemId: line {LINE} is physical: in the "
            "distributed model its fulfillment order's events drive POST /fulfillments "
            "(use request_cancellation to cancel it)"
        ]


class TestReplayModelsAndCatalog:
    """``--model`` and ``--catalog``."""

    def test_third_party_model(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """``--model third-party``: merchant reports become POST /fulfillments."""
        path = write(
            tmp_path,
            load_payload("event-order.accepted.json"),
            request(
                "report_shipment",
                "ship-1",
                ORDER,
                [(LINE, 1)],
                trackingCompany="UPS",
                trackingNumber="1Z9",
            ),
            request("report_cancellation", "cancel-1", ORDER, [(LINE, 1)]),
            request("request_cancellation", "r-1", ORDER, [(LINE, 1)]),
        )
        status, out, err = run_main(capsys, "--model", "third-party", str(path))
        assert status == 1
        assert [json.loads(x) for x in out.splitlines()] == [
            {
                "command": "CreateFulfillment",
                "method": "POST",
                "path": "/fulfillments",
                "idempotencyKey": "fulfillment:request:ship-1",
                "body": {
                    "orderId": ORDER,
                    "items": [{"itemId": LINE, "quantity": 1}],
                    "trackingCompany": "UPS",
                    "trackingNumber": "1Z9",
                },
            },
            {
                "command": "CreateFulfillment",
                "method": "POST",
                "path": "/fulfillments",
                "idempotencyKey": "fulfillment:request:cancel-1",
                "body": {
                    "orderId": ORDER,
                    "items": [{"itemId": LINE, "cancelQuantity": 1}],
                },
            },
        ]
        assert err == [
            "line 4: r-1: the third-party model has no fulfillment orders; use "
            "report_cancellation"
        ]

    @pytest.mark.parametrize(
        ("physical", "expected"),
        [
            (False, []),
            (True, [("CreateFulfillmentOrder", f"fulfillment-order:{ORDER}")]),
        ],
    )
    def test_catalog_decides_physical(
        self,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        physical: bool,
        expected: list[tuple[str, str]],
    ) -> None:
        """``--catalog`` marks the real order's SKU digital or physical."""
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({SKU: physical}), encoding="utf-8")
        path = write(tmp_path, load_payload("event-order.accepted.json"))
        status, out, err = run_main(capsys, "--catalog", str(catalog), str(path))
        assert (status, err) == (0, [])
        assert commands(out) == expected

    @pytest.mark.parametrize(
        "content", ['["not", "an", "object"]', '{"sku": "yes"}', "{not json"]
    )
    def test_bad_catalog_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
    ) -> None:
        """A catalog that is not ``{sku: bool}`` JSON: exit 2, nothing replayed."""
        catalog = tmp_path / "catalog.json"
        catalog.write_text(content, encoding="utf-8")
        status, out, err = run_main(capsys, "--catalog", str(catalog), str(EXAMPLE))
        assert status == 2
        assert out == ""
        assert len(err) == 1
        assert err[0].startswith("drfulfillment: ")

    def test_wrong_catalog_shape_message(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """The message names the catalog file and the expected shape."""
        catalog = tmp_path / "catalog.json"
        catalog.write_text("[]", encoding="utf-8")
        status, _, err = run_main(capsys, "--catalog", str(catalog), str(EXAMPLE))
        assert status == 2
        assert err == [
            f"drfulfillment: {catalog}: expected a JSON object of SKU id -> "
            "true/false (physical)"
        ]


class TestUsageErrors:
    """Exit 2 for what is not a replay at all."""

    def test_missing_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A file that does not exist: exit 2 and one message."""
        missing = tmp_path / "nope.jsonl"
        status, out, err = run_main(capsys, str(missing))
        assert (status, out) == (2, "")
        assert err == [
            f"drfulfillment: cannot read {missing}: No such file or directory"
        ]

    def test_missing_catalog(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A catalog that does not exist: exit 2."""
        status, out, err = run_main(
            capsys, "--catalog", str(tmp_path / "none.json"), str(EXAMPLE)
        )
        assert (status, out) == (2, "")
        assert len(err) == 1

    def test_bad_model(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown ``--model``: argparse exits 2 and names the choices."""
        with pytest.raises(SystemExit) as info:
            main(["replay", "--model", "bogus", str(EXAMPLE)])
        assert info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "argument --model: invalid choice: 'bogus'" in captured.err
        assert "'distributed', 'orchestrated', 'third-party'" in captured.err

    def test_no_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No subcommand: exit 2."""
        with pytest.raises(SystemExit) as info:
            main([])
        assert info.value.code == 2
        assert capsys.readouterr().out == ""


class TestProgress:
    """Progress goes to stderr only when it is a terminal."""

    class _Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    @staticmethod
    def _stream() -> io.BytesIO:
        event = {"id": "evt", "type": "order.invoice.created", "data": {}}
        return io.BytesIO((json.dumps(event) + "\n").encode() * 10_000)

    def test_no_progress_when_stderr_is_not_a_terminal(self) -> None:
        """10,000 lines into a non-terminal stderr: stderr stays empty."""
        out, err = io.StringIO(), io.StringIO()
        status = replay(
            self._stream(),
            model=IntegrationModel.DISTRIBUTED,
            catalog={},
            out=out,
            err=err,
        )
        assert (status, out.getvalue(), err.getvalue()) == (0, "", "")

    def test_progress_when_stderr_is_a_terminal(self) -> None:
        """The same run into a terminal shows the count (the control for the above)."""
        out, err = io.StringIO(), self._Tty()
        status = replay(
            self._stream(),
            model=IntegrationModel.DISTRIBUTED,
            catalog={},
            out=out,
            err=err,
        )
        assert (status, out.getvalue()) == (0, "")
        assert err.getvalue() == "\r10,000 lines\r10,000 lines\n"

    def test_progress_flag_forces_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``--progress`` shows the count on a non-terminal stderr (a benchmark log)."""
        path = tmp_path / "many.jsonl"
        path.write_bytes(self._stream().getvalue())
        assert main(["replay", "--progress", str(path)]) == 0
        assert capsys.readouterr().err == "\r10,000 lines\r10,000 lines\n"


class TestPythonDashM:
    """``python -m drfulfillment replay`` with the venv's interpreter."""

    @pytest.mark.parametrize("module", ["drfulfillment", "drfulfillment.cli"])
    def test_module_entry_point(self, module: str) -> None:
        """``python -m`` runs the same CLI: golden stdout, exit 0."""
        result = subprocess.run(
            [sys.executable, "-m", module, "replay", str(EXAMPLE)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout == GOLDEN.read_text(encoding="utf-8")

    def test_stdin_and_exit_status_1(self) -> None:
        """``-`` from a pipe; the bad example exits 1 with the same stderr lines."""
        result = subprocess.run(
            [sys.executable, "-m", "drfulfillment", "replay", "-"],
            input=BAD_EXAMPLE.read_bytes(),
            capture_output=True,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 1
        assert result.stderr.decode().splitlines() == BAD_INPUT_STDERR

    def test_bad_model_exits_2(self) -> None:
        """An unknown model: exit status 2 from the process."""
        result = subprocess.run(
            [sys.executable, "-m", "drfulfillment", "replay", "--model", "x", "-"],
            input=b"",
            capture_output=True,
            check=False,
            cwd=ROOT,
        )
        assert (result.returncode, result.stdout) == (2, b"")


def test_closed_stdout_stops_quietly() -> None:
    """Piping into ``head`` ends the replay quietly, with no traceback."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        f"{sys.executable} -m drfulfillment replay examples/distributed.jsonl | head -c 10",
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout == '{"command"'
    assert "Traceback" not in proc.stderr


class TestReconciliationReport:
    """``--report FILE``: each order's reconciliation as JSON Lines."""

    def test_report_of_the_example(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """One line per order: units reported, the capture DR made, no difference."""
        target = tmp_path / "report.jsonl"
        status, out, err = run_main(capsys, "--report", str(target), str(EXAMPLE))
        assert (status, err) == (0, [])
        assert out == GOLDEN.read_text(encoding="utf-8")
        (line,) = target.read_text(encoding="utf-8").splitlines()
        report = json.loads(line)
        assert report["orderId"] == "204440790336"
        assert report["lines"] == [
            {
                "itemId": "127911830336",
                "quantity": 2,
                "reportedFulfilled": 1,
                "reportedCancelled": 1,
                "drFulfilled": None,
                "drCancelled": None,
                "returned": 0,
                "refundRequested": 0,
                "refunded": 0,
            }
        ]
        (charge,) = report["charges"]
        assert (charge["amount"], charge["captured"], charge["settled"]) == (
            27.01,
            13.51,
            False,
        )
        assert (report["differences"], report["balanced"]) == ([], True)

    def test_report_shows_a_failed_capture(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A failed capture is a difference, and the order is not balanced."""
        events = tmp_path / "events.jsonl"
        failed = load_payload(
            "event-order.charge.capture.failed.with-fulfillmentId.partial.json"
        )
        events.write_text(json.dumps(failed) + "\n", encoding="utf-8")
        target = tmp_path / "report.jsonl"
        status, out, _ = run_main(capsys, "--report", str(target), str(events))
        assert status == 0
        assert json.loads(out)["command"] == "HandleCaptureFailure"
        report = json.loads(target.read_text(encoding="utf-8"))
        assert report["balanced"] is False
        assert report["differences"] == [
            "charge 3b4ef391-e8ae-412a-994b-df3e447aafa0: capture "
            "7542f424-7615-4748-8af6-9c04001ce2e8 failed"
        ]

    def test_unwritable_report_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A report path that cannot be written: exit 2, named on stderr."""
        target = tmp_path / "missing" / "report.jsonl"
        status, out, err = run_main(capsys, "--report", str(target), str(EXAMPLE))
        assert (status, out) == (2, "")
        assert len(err) == 1
        assert err[0].startswith(f"drfulfillment: cannot write {target}:")


class TestReplayReturnsExample:
    """``examples/returns.jsonl``: a shipment, its capture, a return and its refund."""

    def test_stdout_and_report_are_the_golden_files(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Exactly the golden calls (one refund despite a redelivery) and report."""
        fixtures = ROOT / "tests" / "fixtures" / "replay"
        target = tmp_path / "report.jsonl"
        status, out, err = run_main(
            capsys, "--report", str(target), str(ROOT / "examples" / "returns.jsonl")
        )
        assert (status, err) == (0, [])
        assert out == (fixtures / "returns.expected.jsonl").read_text(encoding="utf-8")
        assert [json.loads(line)["command"] for line in out.splitlines()].count(
            "CreateRefund"
        ) == 1
        assert target.read_text(encoding="utf-8") == (
            fixtures / "returns.report.jsonl"
        ).read_text(encoding="utf-8")
        report = json.loads(target.read_text(encoding="utf-8"))
        assert (report["balanced"], report["refunded"]) == (True, 13.5)
