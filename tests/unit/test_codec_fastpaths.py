"""The edges' fast paths give exactly what the plain paths give, errors included.

Four fast paths (issue 7): ``orjson`` parsing of bytes with :mod:`json` deciding every
text ``orjson`` refuses or could read differently (:mod:`drfulfillment.codecs.fastjson`);
cattrs structuring without detailed validation, rerun with it only to word an error;
money from JSON numbers well inside the bounds; and ``POST /fulfillments`` bodies built
without their absent fields instead of pruned afterwards. Each is compared here with the
plain path on the same input: same input out, or the same refusal (id, field, reason).
``replay``'s freezing of the garbage collector changes none of its output.
"""

from __future__ import annotations

import gc
import io
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from builders import fo_line, fulfillment_order, order_event
from conftest import DR_PAYLOADS
from drfulfillment.cli import main as cli_main
from drfulfillment.codecs import fastjson, parse_input, render_request
from drfulfillment.codecs import json as codec_json
from drfulfillment.codecs.fastjson import FALLBACK
from drfulfillment.codecs.requests import _prune
from drfulfillment.domain import IntegrationModel, MalformedInput
from drfulfillment.domain.commands import CreateFulfillment
from drfulfillment.domain.inputs import Input
from strategies import create_fulfillments, json_values

ORDER_ID = "240123450336"
FO_ID = "1234567"


def _outcome(document: bytes | str | dict[str, Any]) -> Input | tuple[Any, ...]:
    """What ``parse_input`` gives: the input, or the refusal's (id, field, reason)."""
    try:
        return parse_input(document)
    except MalformedInput as exc:
        return ("refused", exc.input_id, exc.field, exc.reason)


def _plain_outcome(
    document: bytes, monkeypatch: pytest.MonkeyPatch
) -> Input | tuple[Any, ...]:
    """The same, with ``orjson`` out of the way (every text parsed by :mod:`json`)."""
    with monkeypatch.context() as patch:
        patch.setattr(fastjson, "orjson", None)
        return _outcome(document)


def _ascii(text: str) -> bytes:
    return text.encode()


#: Texts where ``orjson`` and :mod:`json` differ or may differ, each as an event.
_EVENT = '{{"id": {id}, "type": "fulfillment_order.pending", "createdTime": "2021-11-01T18:30:00Z", "data": {{"object": {{"id": {fo}, "upstreamId": "1", "items": [{{"id": "9", "quantity": {q}}}]}}}}}}'
EDGE_CASES = {
    "20-digit numeric id": _EVENT.format(id="12345678901234567890", fo=7, q=1),
    "30-digit numeric FO id": _EVENT.format(id='"e1"', fo="1" * 30, q=1),
    "19-digit quantity": _EVENT.format(id='"e1"', fo=7, q="9" * 19),
    "u64 max quantity": _EVENT.format(id='"e1"', fo=7, q=2**64 - 1),
    "below i64 min quantity": _EVENT.format(id='"e1"', fo=7, q=-(2**63) - 1),
    "NaN quantity": _EVENT.format(id='"e1"', fo=7, q="NaN"),
    "1e400 quantity": _EVENT.format(id='"e1"', fo=7, q="1e400"),
    "-Infinity quantity": _EVENT.format(id='"e1"', fo=7, q="-Infinity"),
    "lone surrogate id": _EVENT.format(id='"\\ud800"', fo=7, q=1),
    "plain event": _EVENT.format(id='"e1"', fo=7, q=2),
    "not JSON": "{nope",
    "array": "[1, 2]",
    "string": '"x"',
    "empty": "",
    "deep": "[" * 100_000 + "]" * 100_000,
}


class TestOrjsonParsing:
    """``parse_input`` on bytes gives what it gives with :mod:`json` alone."""

    @pytest.mark.parametrize("text", EDGE_CASES.values(), ids=EDGE_CASES.keys())
    def test_edge_cases(self, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Long integers, non-finite numbers, bad JSON: the plain path's outcome."""
        document = text.encode("utf-8", "surrogatepass")
        assert _outcome(document) == _plain_outcome(document, monkeypatch)

    def test_long_ids_stay_exact(self) -> None:
        """A numeric id beyond 64 bits is the exact digits, not a float."""
        parsed = parse_input(_ascii(EDGE_CASES["20-digit numeric id"]))
        assert parsed.meta.id == "12345678901234567890"  # type: ignore[union-attr]
        fo = parse_input(_ascii(EDGE_CASES["30-digit numeric FO id"]))
        assert fo.fulfillment_order.id == "1" * 30  # type: ignore[union-attr]

    @pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
    def test_other_encodings(
        self, encoding: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A byte-order mark or UTF-16/32 bytes: :mod:`json` reads them, as before."""
        document = EDGE_CASES["plain event"].encode(encoding)
        assert fastjson.loads(document) is FALLBACK
        assert _outcome(document) == _plain_outcome(document, monkeypatch)
        assert not isinstance(_outcome(document), tuple)

    @pytest.mark.parametrize(
        "path", sorted(DR_PAYLOADS.glob("event-*.json")), ids=lambda p: p.name
    )
    def test_dr_payloads(self, path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every DR payload parses to the same input (or refusal) both ways."""
        document = path.read_bytes()
        assert _outcome(document) == _plain_outcome(document, monkeypatch)

    def test_builders(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Builder-made events, compact and spaced, parse the same both ways."""
        events = [
            order_event(
                "e1",
                "accepted",
                "2021-11-01T18:30:00Z",
                order_id=ORDER_ID,
                items=[("1", 2, True), ("2", 1, False)],
            ),
            fulfillment_order(
                "e2",
                "fulfillment_order.pending",
                FO_ID,
                ORDER_ID,
                [fo_line("7", "1", 2)],
            ),
        ]
        for event in events:
            for text in (json.dumps(event), json.dumps(event, separators=(",", ":"))):
                document = text.encode()
                assert fastjson.loads(document) is not FALLBACK
                assert _outcome(document) == _plain_outcome(document, monkeypatch)

    def test_text_goes_to_json(self) -> None:
        """``str`` documents are left to :mod:`json` (only bytes are handed to orjson)."""
        assert fastjson.loads('{"a": 1}') is FALLBACK
        assert fastjson.loads(b'{"a": 1}') == {"a": 1}
        assert fastjson.loads(bytearray(b'{"a": 1}')) == {"a": 1}

    def test_without_orjson(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without orjson every document is left to :mod:`json`."""
        monkeypatch.setattr(fastjson, "orjson", None)
        assert fastjson.loads(b'{"a": 1}') is FALLBACK

    @given(json_values())
    @example(2**64)
    @example(-(2**63) - 1)
    @example(10**18)
    @example({"a": 1e-7, "b": -0.0, "c": 5e-324})
    def test_same_values_as_json(self, value: Any) -> None:
        """Where orjson answers, it answers exactly what :mod:`json` does."""
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
            document = text.encode("utf-8", "surrogatepass")
            fast = fastjson.loads(document)
            if fast is not FALLBACK:
                plain = json.loads(document)
                assert repr(fast) == repr(plain)
                assert _types(fast) == _types(plain)


class TestDumps:
    """``fastjson.dumps``: compact UTF-8 JSON, the same values with or without orjson."""

    @given(json_values())
    @example(2**64)
    @example({"é": "ü", "a": [1.5, -0.0, 1e16, 5e-324]})
    def test_same_values_either_way(self, value: Any) -> None:
        fast = fastjson.dumps(value)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        assert repr(json.loads(fast)) == repr(json.loads(plain)) == repr(value)

    def test_without_orjson(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(fastjson, "orjson", None)
        assert (
            fastjson.dumps({"a": [1, "é"], "b": None})
            == '{"a":[1,"é"],"b":null}'.encode()
        )

    def test_beyond_64_bits_is_written_by_json(self) -> None:
        assert fastjson.dumps([2**70]) == b"[1180591620717411303424]"


def _types(value: Any) -> Any:
    """``value``'s shape with every scalar's type (``1`` and ``1.0`` compare equal)."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


# --- money --------------------------------------------------------------------------


def _money_as_before(value: Any) -> Decimal:
    """The money rule as it was before its fast paths (same messages)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise TypeError(f"expected a number, got {value!r}"[:120]) from None
    if not result.is_finite() or abs(result) > codec_json.MONEY_MAX:
        raise TypeError(
            f"amount out of range (at most {codec_json.MONEY_MAX:,} in size)"
        )
    if result and result.adjusted() < -codec_json.MONEY_DIGITS:
        raise TypeError(
            f"amount too precise (more than {codec_json.MONEY_DIGITS} decimal places)"
        )
    return result


def _money_outcome(rule: Any, value: Any) -> tuple[Any, ...] | str:
    """The Decimal's digits and exponent, or the refusal's message."""
    try:
        return rule(value, Decimal).as_tuple()  # type: ignore[no-any-return]
    except TypeError as exc:
        return str(exc)


class TestMoneyFastPath:
    """Money from JSON numbers: the same Decimal, and the same refusals, as before."""

    @given(
        st.floats()
        | st.integers()
        | st.sampled_from([1e-5, 1e14, 1e15, 1e-6, 10**14, 10**15, True, "1.5"])
    )
    @example(-0.0)
    @example(9.999999999999999e-07)
    @example(9.99999e-06)
    @example(1e15 + 1)
    @example(10**15 + 1)
    @example(-(10**15))
    @example(float("nan"))
    def test_same_as_before(self, value: Any) -> None:
        """Same digits and exponent (``20.0`` stays ``20.0``), or the same refusal."""
        before = _money_outcome(lambda v, _: _money_as_before(v), value)
        assert _money_outcome(codec_json._decimal, value) == before


# --- replay ---------------------------------------------------------------------------


class TestReplayFreezes:
    """``replay`` freezes the collector's objects as it goes, and unfreezes at the end."""

    def test_same_output_and_unfrozen_after(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Freezing after every line changes no output, and nothing stays frozen."""
        lines = [
            order_event(
                "e1",
                "accepted",
                "2021-11-01T18:30:00Z",
                order_id=ORDER_ID,
                items=[("1", 2, True)],
            ),
            fulfillment_order(
                "e2",
                "fulfillment_order.pending",
                FO_ID,
                ORDER_ID,
                [fo_line("7", "1", 2)],
            ),
        ]
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()

        def run() -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            status = cli_main.replay(
                io.BytesIO(data),
                model=IntegrationModel.DISTRIBUTED,
                catalog={},
                out=out,
                err=err,
            )
            return status, out.getvalue(), err.getvalue()

        plain = run()
        frozen: list[int] = []
        monkeypatch.setattr(cli_main, "_FREEZE_EVERY", 1)
        real_freeze = gc.freeze

        def counted_freeze() -> None:
            frozen.append(1)
            real_freeze()

        monkeypatch.setattr(gc, "freeze", counted_freeze)
        assert run() == plain
        assert len(frozen) == len(lines)
        assert gc.get_freeze_count() == 0
        assert '"command": "CreateFulfillmentOrder"' in plain[1]


@given(create_fulfillments())
def test_fulfillment_bodies_are_the_pruned_full_bodies(
    command: CreateFulfillment,
) -> None:
    """``POST /fulfillments`` bodies, built directly, equal the full body pruned (the
    way every other request is rendered): same keys, same order, same values."""
    full = {
        "orderId": command.order_id,
        "shipmentId": command.shipment_id,
        "items": [
            {
                "itemId": i.item_id,
                "quantity": i.quantity,
                "cancelQuantity": i.cancel_quantity,
                "shipmentItemId": i.shipment_item_id,
            }
            for i in command.items
        ],
        "trackingCompany": command.tracking.company,
        "trackingNumber": command.tracking.number,
        "trackingUrl": command.tracking.url,
    }
    method, path, body = render_request(command)
    assert (method, path) == ("POST", "/fulfillments")
    assert json.dumps(body) == json.dumps(_prune(full))
