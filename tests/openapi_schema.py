"""DR's OpenAPI (2021-12-13) request-body schemas, translated to JSON Schema.

Shared by the contract tests (every body the engine emits is valid) and the fake DR
server in :mod:`fakedr` (every body it receives is validated like DR would). The
request-body schema of each ``(method, path)`` is looked up in the document's ``paths``
(``requestBody -> content -> application/json -> schema``) and translated from
OpenAPI 3.0 to JSON Schema 2020-12 for ``jsonschema``:

* ``$ref`` is resolved inline;
* ``nullable: true`` adds ``"null"`` to the type (and to an ``enum``);
* a ``readOnly`` property must not be sent in a request: it becomes ``{"not": {}}``
  (which nothing satisfies) and leaves ``required``;
* ``format`` is checked (``date-time`` as RFC 3339, ``email``, ``double``/``float``,
  ``int32``/``int64``);
* objects that declare ``properties`` and no ``additionalProperties`` are closed, so a
  field DR's schema does not know is a mapping error, not silently sent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

__all__ = [
    "FORMATS",
    "SPEC_FILE",
    "component",
    "has_request_body",
    "request_schema",
    "schema_errors",
    "spec_path",
    "to_json_schema",
    "violations",
]

Json = dict[str, Any]

#: DR's published OpenAPI document (a copy of ``2021-12-13.json``).
SPEC_FILE = Path(__file__).parent / "fixtures" / "openapi-2021-12-13.json"

_SPEC: Json = json.loads(SPEC_FILE.read_text(encoding="utf-8"))

#: OpenAPI 3.0 keywords with no JSON Schema meaning (handled or irrelevant here).
_OPENAPI_ONLY = frozenset(
    {
        "nullable",
        "readOnly",
        "writeOnly",
        "example",
        "discriminator",
        "xml",
        "externalDocs",
        "deprecated",
    }
)

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


# --- OpenAPI 3.0 -> JSON Schema -------------------------------------------------------


def _pointer(ref: str) -> Json:
    """The node ``ref`` (``#/components/schemas/X``) names in the document."""
    assert ref.startswith("#/"), ref
    node: Any = _SPEC
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(node, dict)
    return node


def _deref(node: Json) -> Json:
    return _pointer(node["$ref"]) if "$ref" in node else node


def _read_only(node: Json) -> bool:
    return _deref(node).get("readOnly") is True


def to_json_schema(node: Json, refs: tuple[str, ...] = ()) -> Json:
    """The JSON Schema 2020-12 equivalent of an OpenAPI 3.0 request schema."""
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in refs, f"recursive schema {ref}"
        return to_json_schema(_pointer(ref), (*refs, ref))
    out: Json = {}
    props: Json = node.get("properties", {})
    for key, value in node.items():
        if key in _OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {
                name: {"not": {}} if _read_only(sub) else to_json_schema(sub, refs)
                for name, sub in value.items()
            }
        elif key == "required":
            out[key] = [n for n in value if not _read_only(props.get(n, {}))]
        elif key in ("items", "not") or (
            key == "additionalProperties" and isinstance(value, dict)
        ):
            out[key] = to_json_schema(value, refs)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(v, refs) for v in value]
        else:
            out[key] = value
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


def _finite(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _int_range(bits: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return not isinstance(value, int) or -(2 ** (bits - 1)) <= value < 2 ** (
            bits - 1
        )

    return check


FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_date_time)
FORMATS.checks("double")(_finite)
FORMATS.checks("float")(_finite)
FORMATS.checks("int32")(_int_range(32))
FORMATS.checks("int64")(_int_range(64))


def spec_path(path: str) -> str:
    """The spec's path template a concrete path matches (``/returns/{id}``)."""
    if path in _SPEC["paths"]:
        return path
    for template in _SPEC["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return str(template)
    raise KeyError(path)


@cache
def request_schema(method: str, path: str) -> Json:
    """DR's request-body schema for ``method path``, as JSON Schema."""
    operation = _SPEC["paths"][spec_path(path)][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert isinstance(schema, dict)
    translated = to_json_schema(schema)
    jsonschema.Draft202012Validator.check_schema(translated)
    return translated


def schema_errors(method: str, path: str, body: object) -> list[tuple[str, str, str]]:
    """``(JSON path, failed keyword, message)`` of every way ``body`` breaks DR's schema.

    Sorted by path and message; ``body`` goes through a JSON round trip first, so it
    is judged exactly as DR would receive it.
    """
    validator = jsonschema.Draft202012Validator(
        request_schema(method, path), format_checker=FORMATS
    )
    wire = json.loads(json.dumps(body))
    found = [(e.json_path, e.validator, e.message) for e in validator.iter_errors(wire)]
    return sorted(found, key=lambda f: (f[0], f[2]))


def violations(method: str, path: str, body: Json) -> list[tuple[str, str]]:
    """``(JSON path, message)`` of every way ``body`` breaks DR's schema, sorted."""
    return [(where, message) for where, _, message in schema_errors(method, path, body)]


def has_request_body(method: str, path: str) -> bool:
    """Whether DR's spec declares a JSON request body for ``method path``."""
    try:
        operation = _SPEC["paths"][spec_path(path)][method.lower()]
    except KeyError:
        return False
    content = operation.get("requestBody", {}).get("content", {})
    return "application/json" in content


def component(name: str) -> Json:
    """The raw OpenAPI schema ``#/components/schemas/<name>`` (not translated)."""
    return _pointer(f"#/components/schemas/{name}")
