"""How DR may deliver a history: duplicated, redelivered, reordered; requests in place.

DR delivers each event at least once, concurrently, in no guaranteed order. A merchant
request is the merchant's own synchronous act, so it stays after what it needs (its
order, its fulfillment order) and before what it causes (the cancellation events that
answer it).
"""

from __future__ import annotations

from hypothesis import strategies as st

from drfulfillment.testing.events import Json
from drfulfillment.testing.truth import History, doc_id

__all__ = ["deliveries"]


def _respecting(history: History, shuffled: list[Json]) -> list[Json]:
    """Move each merchant request after what it needs and before what it causes."""
    after, before = dict(history.after), dict(history.before)
    requests = [d for d in shuffled if "request" in d]
    out = [d for d in shuffled if "request" not in d]
    for req in requests:
        rid = doc_id(req)
        needs = set(after.get(rid, ()))
        causes = set(before.get(rid, ()))
        first_needed = max(
            (next(k for k, d in enumerate(out) if doc_id(d) == n) for n in needs),
            default=-1,
        )
        moved = [d for d in out[: first_needed + 1] if doc_id(d) in causes]
        rest = [d for d in out[: first_needed + 1] if doc_id(d) not in causes]
        out = [*rest, req, *moved, *out[first_needed + 1 :]]
    return out


@st.composite
def deliveries(draw: st.DrawFn, history: History, *, max_copies: int = 3) -> list[Json]:
    """Every input at least once, some up to ``max_copies`` times, in any allowed order."""
    out: list[Json] = []
    for doc in (*history.events, *history.aliases):
        out += [doc] * draw(st.integers(1, max_copies))
    shuffled: list[Json] = draw(st.permutations(out))
    return _respecting(history, shuffled)
