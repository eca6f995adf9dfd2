"""Signing and verifying ``DigitalRiver-Signature`` (drfulfillment.adapters.signature)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drfulfillment.adapters.signature import (
    MILLISECONDS_THRESHOLD,
    SignatureError,
    SignatureProblem,
    sign,
    verify,
)

SECRET = "whsec_test_secret"
OLD_SECRET = "whsec_old_secret"
NOW = 1_700_000_000
BODY = b'{"id":"evt_1","type":"order.accepted","data":{"object":{}}}'


def connector_signature(secret: str, stamp: str, body: bytes) -> str:
    """The SFCC connector's computation, written out independently of the module."""
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def problem_of(header: str | None, body: bytes = BODY, **kwargs: object) -> str:
    """The problem ``verify`` reports (fails the test if it accepts)."""
    options: dict[str, object] = {"secrets": [SECRET], "now": NOW, **kwargs}
    with pytest.raises(SignatureError) as caught:
        verify(header, body, **options)  # type: ignore[arg-type]
    assert caught.value.reason == str(caught.value)
    return caught.value.problem


class TestSign:
    """``sign`` makes the header value DR's connector checks."""

    def test_matches_the_connector_computation(self) -> None:
        """``"<ts>, <base64 HMAC-SHA256(secret, ts.body)>"``."""
        header = sign(SECRET, NOW, BODY)
        assert header == f"{NOW}, {connector_signature(SECRET, str(NOW), BODY)}"

    def test_bytes_and_str_secret_agree(self) -> None:
        """A ``str`` secret is its UTF-8 bytes."""
        assert sign("sécret", NOW, BODY) == sign("sécret".encode(), NOW, BODY)

    def test_negative_timestamp_refused(self) -> None:
        """A negative timestamp is a misuse."""
        with pytest.raises(ValueError, match="negative"):
            sign(SECRET, -1, BODY)


class TestVerifyAccepts:
    """Headers that prove the body came from DR recently."""

    def test_own_signature(self) -> None:
        """What ``sign`` makes, ``verify`` accepts."""
        verify(sign(SECRET, NOW, BODY), BODY, secrets=[SECRET], now=NOW)

    @pytest.mark.parametrize("separator", [", ", ",", " , ", ",  "])
    def test_comma_with_or_without_spaces(self, separator: str) -> None:
        """The connector splits on ``", "``; a bare comma is accepted too."""
        sig = connector_signature(SECRET, str(NOW), BODY)
        verify(f"{NOW}{separator}{sig}", BODY, secrets=[SECRET], now=NOW)

    @pytest.mark.parametrize("separator", [",", ", "])
    def test_key_value_form(self, separator: str) -> None:
        """``t=<ts>,v0=<sig>`` signs ``<ts>.<body>`` with the bare timestamp."""
        sig = connector_signature(SECRET, str(NOW), BODY)
        header = f"t={NOW}{separator}v0={sig}"
        verify(header, BODY, secrets=[SECRET], now=NOW)

    def test_key_value_form_ignores_unknown_keys(self) -> None:
        """Other keys are skipped; any ``v<n>`` may carry the match."""
        sig = connector_signature(SECRET, str(NOW), BODY)
        header = f"t={NOW},x=1,v0=AAAA,v1={sig}"
        verify(header, BODY, secrets=[SECRET], now=NOW)

    def test_hex_encoding_accepted(self) -> None:
        """A lower-case hex digest is accepted as well as Base64."""
        mac = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256)
        verify(f"{NOW}, {mac.hexdigest()}", BODY, secrets=[SECRET], now=NOW)

    def test_old_secret_during_rotation(self) -> None:
        """Either of two valid secrets may have signed."""
        verify(sign(OLD_SECRET, NOW, BODY), BODY, secrets=[SECRET, OLD_SECRET], now=NOW)

    def test_several_signatures_one_matching(self) -> None:
        """With signatures for several secrets, one match is enough."""
        other = connector_signature("unknown", str(NOW), BODY)
        mine = connector_signature(SECRET, str(NOW), BODY)
        verify(f"{NOW}, {other}, {mine}", BODY, secrets=[SECRET], now=NOW)

    def test_milliseconds_timestamp(self) -> None:
        """A timestamp in milliseconds is read as such."""
        millis = NOW * 1000 + 250
        verify(sign(SECRET, millis, BODY), BODY, secrets=[SECRET], now=NOW)

    @pytest.mark.parametrize("offset", [-300, 300, 0])
    def test_edges_of_tolerance(self, offset: int) -> None:
        """Exactly ``tolerance_seconds`` old or ahead is still accepted."""
        header = sign(SECRET, NOW + offset, BODY)
        verify(header, BODY, secrets=[SECRET], now=NOW, tolerance_seconds=300)

    def test_surrounding_whitespace(self) -> None:
        """Whitespace around the header value is ignored."""
        verify(f"  {sign(SECRET, NOW, BODY)}\t", BODY, secrets=[SECRET], now=NOW)


class TestVerifyRefuses:
    """Each failure is a :class:`SignatureError` with the right problem."""

    @pytest.mark.parametrize("header", [None, "", "   "])
    def test_missing(self, header: str | None) -> None:
        """No header, or an empty one."""
        assert problem_of(header) == SignatureProblem.MISSING

    @pytest.mark.parametrize(
        "header",
        [
            "garbage",
            f"{NOW}",
            f"{NOW}, ",
            f"{NOW},,sig",
            "abc, c2ln",
            f"{NOW}.5, c2ln",
            f"-{NOW}, c2ln",
            f"+{NOW}, c2ln",
            "1_700_000_000, c2ln",
            "١٢٣, c2ln",
            "t=abc,v0=c2ln",
            f"t={NOW}",
            f"t={NOW},x=1",
            f"v0=c2ln,t={NOW},t={NOW}",
            f"t={NOW},v0=",
            f"t={NOW},v0",
            f"{NOW}, {'A' * 5000}",
        ],
    )
    def test_malformed(self, header: str) -> None:
        """Unparseable headers say so."""
        assert problem_of(header) == SignatureProblem.MALFORMED

    def test_malformed_reason_names_the_header(self) -> None:
        """The reason tells a person which header is wrong."""
        with pytest.raises(SignatureError, match="malformed DigitalRiver-Signature"):
            verify("nonsense", BODY, secrets=[SECRET], now=NOW)

    def test_wrong_secret(self) -> None:
        """A signature by another secret is a mismatch."""
        assert problem_of(sign("not-ours", NOW, BODY)) == SignatureProblem.MISMATCH

    def test_other_body(self) -> None:
        """A signature of other bytes is a mismatch."""
        assert problem_of(sign(SECRET, NOW, BODY + b" ")) == SignatureProblem.MISMATCH

    def test_timestamp_swapped(self) -> None:
        """The timestamp is signed: changing it breaks the signature."""
        sig = sign(SECRET, NOW, BODY).split(", ")[1]
        assert problem_of(f"{NOW + 1}, {sig}") == SignatureProblem.MISMATCH

    def test_uppercase_hex_and_non_ascii_refused(self) -> None:
        """Only exact Base64 or lower-case hex match."""
        mac = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256)
        upper = f"{NOW}, {mac.hexdigest().upper()}"
        assert problem_of(upper) == SignatureProblem.MISMATCH
        assert problem_of(f"{NOW}, sïg") == SignatureProblem.MISMATCH

    @pytest.mark.parametrize(
        ("stamp", "word"),
        [(NOW - 301, "old"), (NOW + 301, "future"), ((NOW - 301) * 1000, "old")],
    )
    def test_stale(self, stamp: int, word: str) -> None:
        """Beyond the tolerance either way is stale; the reason says which way."""
        with pytest.raises(SignatureError, match=word) as caught:
            verify(sign(SECRET, stamp, BODY), BODY, secrets=[SECRET], now=NOW)
        assert caught.value.problem == SignatureProblem.STALE

    def test_tolerance_is_configurable(self) -> None:
        """A tighter tolerance refuses what the default accepts."""
        header = sign(SECRET, NOW - 10, BODY)
        verify(header, BODY, secrets=[SECRET], now=NOW)
        assert problem_of(header, tolerance_seconds=5) == SignatureProblem.STALE

    def test_forged_and_stale_is_a_mismatch(self) -> None:
        """The MAC is checked first: "stale" only ever describes a genuine delivery."""
        assert problem_of(sign("x", NOW - 10_000, BODY)) == SignatureProblem.MISMATCH

    def test_milliseconds_threshold(self) -> None:
        """Just below the threshold is seconds (far future), at it milliseconds."""
        below = sign(SECRET, MILLISECONDS_THRESHOLD - 1, BODY)
        assert problem_of(below) == SignatureProblem.STALE
        at = sign(SECRET, MILLISECONDS_THRESHOLD, BODY)
        verify(at, BODY, secrets=[SECRET], now=MILLISECONDS_THRESHOLD / 1000)


class TestMisuse:
    """Configuration mistakes are ``ValueError``, never a silent accept."""

    def test_no_secrets(self) -> None:
        """Verifying against no secret is a misuse."""
        with pytest.raises(ValueError, match="no signing secrets"):
            verify(sign(SECRET, NOW, BODY), BODY, secrets=[], now=NOW)

    @pytest.mark.parametrize("secrets", [SECRET, SECRET.encode()])
    def test_lone_string(self, secrets: str | bytes) -> None:
        """A string is not a sequence of secrets (it would be one per character)."""
        with pytest.raises(ValueError, match="not one string"):
            verify(sign(SECRET, NOW, BODY), BODY, secrets=secrets, now=NOW)  # type: ignore[arg-type]

    def test_negative_tolerance(self) -> None:
        """A negative tolerance is refused."""
        with pytest.raises(ValueError, match="tolerance"):
            verify(
                sign(SECRET, NOW, BODY),
                BODY,
                secrets=[SECRET],
                now=NOW,
                tolerance_seconds=-1,
            )


class TestProperties:
    """Round trip and tamper evidence, for any body."""

    @given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=40))
    def test_sign_then_verify_round_trips(self, body: bytes, secret: str) -> None:
        """Whatever the body and secret, a fresh signature verifies."""
        verify(sign(secret, NOW, body), body, secrets=[secret], now=NOW)

    @given(body=st.binary(min_size=1, max_size=2048), data=st.data())
    def test_any_single_byte_change_fails(
        self, body: bytes, data: st.DataObject
    ) -> None:
        """Changing any one byte of the body breaks the signature."""
        header = sign(SECRET, NOW, body)
        index = data.draw(st.integers(0, len(body) - 1), label="index")
        new = data.draw(
            st.integers(0, 255).filter(lambda b: b != body[index]), label="byte"
        )
        tampered = body[:index] + bytes([new]) + body[index + 1 :]
        assert problem_of(header, tampered) == SignatureProblem.MISMATCH

    @given(body=st.binary(max_size=512), extra=st.binary(min_size=1, max_size=8))
    def test_appending_or_truncating_fails(self, body: bytes, extra: bytes) -> None:
        """Bytes added to the end, or cut from it, break the signature."""
        header = sign(SECRET, NOW, body + extra)
        assert problem_of(header, body) == SignatureProblem.MISMATCH
        assert problem_of(header, body + extra + extra) == SignatureProblem.MISMATCH
