"""Signing and verifying DR's ``DigitalRiver-Signature`` webhook header (stdlib only).

This module owns the one question "did DR send exactly these bytes, recently?". It
knows nothing of HTTP frameworks: :func:`verify` takes the header value and the raw
body and raises :class:`SignatureError`; :func:`sign` makes a header value, for tests
(ours and integrators').

**Sources.** DR's documentation (``digital-river-signature.md``, S11 in
``dr-reference/README.md`` §7) says only that the header carries a timestamp as replay
protection, that each endpoint has its own signing secret ("token"), and that after a
rotation the old secret stays valid for 12 hours. It gives no algorithm. DR's own
Salesforce Commerce Cloud connector (``sfcc_link_digitalriver``,
``cartridges/int_digitalriver_webhooks/cartridge/scripts/digitalRiver/hooksObserver/
drHooksHelper.js``, ``checkSignature``, commit ``52a5a9d3``) verifies it thus:

* split the header on ``", "`` into ``[timestamp, signature]``;
* HMAC-SHA256, key = the secret, message = ``timestamp + "." + rawBody``;
* Base64-encode the digest and compare it with the signature part.

**What we accept, where DR is silent (UNCONFIRMED).**

* *Grammar.* The connector's form ``<ts>, <sig>`` (the comma with or without spaces),
  and also a key/value form ``t=<ts>,v0=<sig>`` (any ``v<digits>=`` key is a signature;
  other keys are ignored). Either form may carry several signatures (DR says it signs
  with the *active secrets*, plural); one match is enough. The signed message always
  uses the bare timestamp digits: ``<digits>.<body>``.
* *Encoding.* Standard Base64 as in the connector; lower-case hex is also accepted.
* *Timestamp.* Integer Unix time, in seconds or in milliseconds: a value of
  ``10**11`` or more (in seconds: the year 5138) is read as milliseconds.
* *Tolerance.* ``tolerance_seconds`` (default 300 s) either side of ``now``: too old is
  a replay, too far in the future is a forgery or a bad clock.
* *Order of checks.* Missing, then malformed, then the MAC, then the timestamp: a
  "stale" reason therefore always means a genuine delivery (often a skewed clock).

Every comparison of a signature uses :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
from collections.abc import Sequence

__all__ = [
    "MILLISECONDS_THRESHOLD",
    "SIGNATURE_HEADER",
    "SignatureError",
    "SignatureProblem",
    "sign",
    "verify",
]

#: The HTTP header DR puts the signature in (S11).
SIGNATURE_HEADER = "DigitalRiver-Signature"

#: Timestamps at or above this are milliseconds; below it, seconds.
MILLISECONDS_THRESHOLD = 10**11

#: Headers longer than this are refused unparsed (a real one is under 200 characters).
MAX_HEADER_LENGTH = 4096

_DIGITS = re.compile(r"[0-9]{1,20}")
_SIGNATURE_KEY = re.compile(r"v[0-9]+")


class SignatureProblem(enum.StrEnum):
    """Why a delivery's signature was refused."""

    MISSING = "missing"
    MALFORMED = "malformed"
    STALE = "stale"
    MISMATCH = "mismatch"


class SignatureError(ValueError):
    """A delivery's ``DigitalRiver-Signature`` does not prove it came from DR.

    ``reason`` says why, for a person (it never contains a secret or an expected
    signature); ``problem`` says which kind of failure it is, for code.
    """

    def __init__(self, reason: str, *, problem: SignatureProblem) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _digest(secret: str | bytes, timestamp: str, body: bytes) -> bytes:
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(_key(secret), message, hashlib.sha256).digest()


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``DigitalRiver-Signature`` value DR would send: ``"<timestamp>, <base64>"``.

    ``timestamp`` is Unix time in seconds (or milliseconds, see the module notes);
    ``body`` is the exact bytes of the request body.
    """
    if timestamp < 0:
        raise ValueError(f"timestamp must not be negative, got {timestamp}")
    stamp = str(timestamp)
    mac = base64.b64encode(_digest(secret, stamp, body)).decode("ascii")
    return f"{stamp}, {mac}"


def _malformed(why: str) -> SignatureError:
    return SignatureError(
        f"malformed {SIGNATURE_HEADER} header: {why}",
        problem=SignatureProblem.MALFORMED,
    )


def _parse(header: str) -> tuple[str, list[str]]:
    """``(timestamp digits, signatures)`` from either accepted grammar."""
    if len(header) > MAX_HEADER_LENGTH:
        raise _malformed(f"longer than {MAX_HEADER_LENGTH} characters")
    parts = [part.strip() for part in header.split(",")]
    if "=" in parts[0]:
        stamps: list[str] = []
        signatures: list[str] = []
        for part in parts:
            key, equals, value = part.partition("=")
            if not equals:
                raise _malformed(f"expected key=value, got {part[:40]!r}")
            if key == "t":
                stamps.append(value)
            elif _SIGNATURE_KEY.fullmatch(key):
                signatures.append(value)
        if len(stamps) != 1:
            raise _malformed("expected exactly one t=<timestamp>")
        stamp = stamps[0]
    else:
        stamp, signatures = parts[0], parts[1:]
    if not _DIGITS.fullmatch(stamp):
        raise _malformed("the timestamp is not an integer of Unix time")
    if not signatures or any(not s for s in signatures):
        raise _malformed("expected '<timestamp>, <signature>' or 't=<ts>,v0=<sig>'")
    return stamp, signatures


def _seconds(stamp: str) -> float:
    value = int(stamp)
    return value / 1000 if value >= MILLISECONDS_THRESHOLD else float(value)


def _matches(expected: bytes, offered: str) -> bool:
    """Constant-time: ``offered`` is ``expected`` in Base64 or in lower-case hex."""
    data = offered.encode("ascii", errors="replace")
    as_base64 = hmac.compare_digest(data, base64.b64encode(expected))
    as_hex = hmac.compare_digest(data, expected.hex().encode("ascii"))
    return as_base64 | as_hex


def verify(
    header: str | None,
    body: bytes,
    *,
    secrets: Sequence[str | bytes],
    now: float,
    tolerance_seconds: float = 300,
) -> None:
    """Return if ``header`` is a fresh signature of ``body`` by one of ``secrets``.

    ``secrets`` holds every signing secret currently valid for the endpoint (after a
    rotation DR keeps the old one valid for 12 hours: pass both). ``now`` is Unix time
    in seconds. Raises :class:`SignatureError` (missing, malformed, no secret matches,
    stale) otherwise, and :class:`ValueError` for a misuse (no secrets, a lone string
    in place of a sequence, a negative tolerance).
    """
    if isinstance(secrets, str | bytes):
        raise ValueError("secrets must be a sequence of secrets, not one string")
    if not secrets:
        raise ValueError("no signing secrets given")
    if tolerance_seconds < 0:
        raise ValueError(f"tolerance_seconds must be >= 0, got {tolerance_seconds}")
    if header is None or not header.strip():
        raise SignatureError(
            f"missing {SIGNATURE_HEADER} header", problem=SignatureProblem.MISSING
        )
    stamp, offered = _parse(header.strip())
    matched = False
    for secret in secrets:
        expected = _digest(secret, stamp, body)
        for candidate in offered:
            matched |= _matches(expected, candidate)
    if not matched:
        raise SignatureError(
            "signature does not match the body with any signing secret",
            problem=SignatureProblem.MISMATCH,
        )
    age = now - _seconds(stamp)
    if age > tolerance_seconds:
        raise SignatureError(
            f"stale timestamp: {age:.0f} s old, tolerance {tolerance_seconds:g} s",
            problem=SignatureProblem.STALE,
        )
    if -age > tolerance_seconds:
        raise SignatureError(
            f"stale timestamp: {-age:.0f} s in the future, tolerance {tolerance_seconds:g} s",
            problem=SignatureProblem.STALE,
        )
