"""DR's answers as data, for the API client: errors, ``Retry-After``, and whether a
resource DR lists is the one a request created (:mod:`drfulfillment.adapters.drapi`).
"""

from __future__ import annotations

from typing import Any

import attrs

from drfulfillment.domain.commands import UpdateReturn
from drfulfillment.domain.ports import SendResult, SendStatus

__all__ = [
    "METADATA_KEY",
    "Answer",
    "Json",
    "Lookup",
    "accepted",
    "dicts",
    "dr_reason",
    "error_codes",
    "errors",
    "item_lines",
    "matches",
    "reconciled",
    "retry_after",
]

Json = dict[str, Any]

#: The metadata key carrying a command's idempotency key on the resources DR lists.
METADATA_KEY = "drfulfillmentKey"


@attrs.frozen
class Answer:
    """One exchange: DR's status and JSON, or what went wrong on the wire."""

    status: int | None = None
    payload: Json | None = None
    retry_after: float | None = None
    wire_error: str = ""
    sent: bool = True


@attrs.frozen
class Lookup:
    """A reconciliation: whether it could be made, and the resource it found."""

    ok: bool
    found: Json | None = None


def dicts(value: object) -> list[Json]:
    """The objects in ``value`` if it is a list (DR's ``items``, ``errors``, ``data``)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def errors(answer: Answer) -> list[Json]:
    return dicts((answer.payload or {}).get("errors"))


def dr_reason(answer: Answer) -> str:
    """DR's errors as ``code (parameter): message``, or what happened on the wire."""
    if answer.status is None:
        return answer.wire_error
    parts = []
    for e in errors(answer):
        where = f" ({e['parameter']})" if e.get("parameter") else ""
        parts.append(f"{e.get('code')}{where}: {e.get('message')}")
    return "; ".join(parts) or f"HTTP {answer.status}"


def error_codes(answer: Answer) -> set[str]:
    return {str(e.get("code")) for e in errors(answer)}


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (DR sends an integer); ``None`` if unusable."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None


def item_lines(document: Json) -> list[tuple[object, object, object]]:
    found = [
        (i.get("itemId"), i.get("quantity") or 0, i.get("cancelQuantity") or 0)
        for i in dicts(document.get("items"))
    ]
    return sorted(found, key=repr)


def matches(resource: Json, key: str, body: Json, path: str) -> bool:
    """Whether ``resource`` is what ``body`` (sent with ``key``) created."""
    if path == "/fulfillment-orders":
        return bool(resource.get("upstreamId") == body.get("upstreamId"))
    metadata = resource.get("metadata")
    if isinstance(metadata, dict) and metadata:
        return metadata.get(METADATA_KEY) == key
    return (
        path == "/fulfillments"
        and body.get("shipmentId") is not None
        and resource.get("shipmentId") == body["shipmentId"]
        and item_lines(resource) == item_lines(body)
    )


def accepted(resource: Json, command: UpdateReturn) -> bool:
    """Whether the return (or each item the command names) is ``accepted``."""
    if not command.items:
        return resource.get("state") == "accepted"
    states = {i.get("itemId"): i.get("state") for i in dicts(resource.get("items"))}
    return all(states.get(u.item_id) == "accepted" for u in command.items)


def reconciled(resource: Json, attempts: int) -> SendResult:
    return SendResult(
        SendStatus.SENT,
        reason="found at DR after an ambiguous failure",
        response=resource,
        attempts=attempts,
        reconciled=True,
    )
