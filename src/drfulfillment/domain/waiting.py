"""Waiting: what an input waits for, and when the order's closing events wait.

An input that depends on something not yet known raises :class:`Wait`; ``decide`` keeps
it in ``OrderState.waiting`` and applies it as soon as it can. ``order.fulfilled``,
``order.complete``, ``order.refunded`` (state ``returned``) and (after acceptance)
``order.cancelled`` are *closing* events: DR reaches them only once every line was
reported, so they wait until the engine has reported every line (:func:`is_closing`), and while one waits the engine reports what
it owes even if the status it last applied would hold it (:func:`catching_up`).
"""

from __future__ import annotations

from drfulfillment.domain.inputs import OrderObserved
from drfulfillment.domain.lifecycles import ORDER, OrderStatus
from drfulfillment.domain.state import OrderState

__all__ = ["Wait", "catching_up", "is_closing"]

#: Order states DR reaches only after every line was reported (or, for ``cancelled``
#: after acceptance, cancelled; ``returned`` follows ``fulfilled``): such an event waits
#: until the engine has reported it all.
_CLOSING = frozenset(
    {OrderStatus.FULFILLED, OrderStatus.COMPLETE, OrderStatus.RETURNED}
)


def is_closing(inp: OrderObserved) -> bool:
    """Whether DR reaches this order state only once every line was reported."""
    new = inp.order.state
    return new in _CLOSING or (
        new is OrderStatus.CANCELLED
        and OrderStatus.ACCEPTED.value in inp.order.state_transitions
    )


def catching_up(state: OrderState) -> bool:
    """A waiting closing event is newer than the order's status: DR is ahead of us.

    DR says the order is fulfilled (or complete, or cancelled after acceptance) and the
    engine has not reported every line yet: it reports what it still owes even though
    the status it last applied (``dispute``, say, or none yet) would hold it, so that
    the closing event can apply. DR refuses (409) anything it already has.
    """
    for w in state.waiting:
        inp = w.input
        if isinstance(inp, OrderObserved) and is_closing(inp):
            stamp = (inp.meta.created_time, inp.meta.id)
            newer = state.status_stamp is None or stamp > state.status_stamp
            # Only a closing state the order can still reach (never out of blocked).
            reachable = (
                state.status is None
                or inp.order.state is None
                or ORDER.can_reach(state.status, inp.order.state)
            )
            if newer and reachable:
                return True
    return False


class Wait(Exception):  # noqa: N818 - a signal, not an error
    """The input depends on something not yet known; keep it and retry later."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
