"""How DR may deliver a history: duplicated, redelivered, reordered; requests in place.

DR delivers each event at least once, concurrently, in no guaranteed order. A merchant
request is the merchant's own synchronous act, so it stays after what it needs (its
order, its fulfillment order, the shipments it returns, the return it accepts, other
requests) and before what it causes (the cancellation and return events that answer
it). Constraints chain: a request that needs what another request causes comes after
both.
"""

from __future__ import annotations

from hypothesis import strategies as st

from drfulfillment.testing.events import Json
from drfulfillment.testing.truth import History, doc_id

__all__ = ["deliveries"]


def _respecting(history: History, shuffled: list[Json]) -> list[Json]:
    """The shuffled documents in the nearest order that keeps every request in place.

    A topological order of the constraints, each step taking the earliest document of
    ``shuffled`` that may come now: a request once one copy of each document it needs
    has come, a document a request causes once a copy of that request has come.
    """
    after = {rid: set(ids) for rid, ids in history.after}
    caused_by: dict[str, set[str]] = {}
    for rid, ids in history.before:
        for cause in ids:
            caused_by.setdefault(cause, set()).add(rid)
    came: set[str] = set()
    left = list(shuffled)
    out: list[Json] = []
    while left:
        k = next(
            (
                k
                for k, d in enumerate(left)
                if after.get(doc_id(d), set()) <= came
                and caused_by.get(doc_id(d), set()) <= came
            ),
            None,
        )
        assert k is not None, "the history's delivery rules form a cycle"
        doc = left.pop(k)
        came.add(doc_id(doc))
        out.append(doc)
    return out


@st.composite
def deliveries(draw: st.DrawFn, history: History, *, max_copies: int = 3) -> list[Json]:
    """Every input at least once, some up to ``max_copies`` times, in any allowed order."""
    out: list[Json] = []
    for doc in (*history.events, *history.aliases):
        out += [doc] * draw(st.integers(1, max_copies))
    shuffled: list[Json] = draw(st.permutations(out))
    return _respecting(history, shuffled)
