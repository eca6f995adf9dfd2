"""JSON at the edges through ``orjson`` when it is installed: parsing, and request bodies.

``orjson`` (the ``fast`` extra) parses several times faster than :mod:`json`. It changes
nothing that is accepted or refused: :func:`loads` answers ``orjson``'s parse only where
both parsers give the same values, and :data:`FALLBACK` otherwise; the caller then
parses with :mod:`json`, which decides. ``FALLBACK`` is answered:

* where ``orjson`` is not installed, or for text (``str``): only bytes are handed to it;
* where ``orjson`` refuses the bytes, which :mod:`json` may take (``NaN``, ``1e400``,
  UTF-16, a byte-order mark, lone surrogates) or refuses in its own words;
* where the bytes hold a run of 19 or more digits: ``orjson`` reads an integer beyond
  64 bits as a float, :mod:`json` as an exact ``int``.

:func:`dumps` writes compact JSON as UTF-8 bytes, through ``orjson`` where it is installed
and takes the value, else through :mod:`json` with the same separators and no ASCII
escaping. The two write the same values (a test parses both back): the text of a
float may differ (``1e+16`` or ``1e16``), never the number. Neither is given a
non-finite float: the codecs refuse non-finite amounts, so no request body holds one.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["FALLBACK", "HAVE_ORJSON", "dumps", "loads"]

try:
    import orjson
except ImportError:  # pragma: no cover - the test extra installs it
    orjson = None  # type: ignore[assignment]

HAVE_ORJSON: Final = orjson is not None

#: What :func:`loads` answers where only :mod:`json` may decide.
FALLBACK: Final = object()

#: Digits to ``0``, everything else to a space: long digit runs become runs of ``0``.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
#: Integers of up to 18 digits fit 64 bits whatever their sign.
_LONG_DIGITS = b"0" * 19


def loads(document: bytes | bytearray | str) -> Any:
    """``document`` parsed, or :data:`FALLBACK`: parse it with :mod:`json`, which decides."""
    if orjson is None or isinstance(document, str):
        return FALLBACK
    data = bytes(document)
    if _LONG_DIGITS in data.translate(_DIGITS_ONLY):
        return FALLBACK
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return FALLBACK


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8 (see the module docstring)."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
