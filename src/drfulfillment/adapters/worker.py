"""The worker: applies stored inputs with the engine, and carries out the outbox.

:meth:`Worker.apply_pending` takes inputs from the store's inbox in arrival order,
routes each to its order (by the order id it names, or by the fulfillment order it
names), decides with :func:`drfulfillment.decide`, and commits the new state, the input's
status and the commands in one transaction (:meth:`Store.commit`).

Workers share the load by orders: a worker decides for an order only while it holds it
(:meth:`Store.hold`, never waiting in a pass), so no two workers decide for one order at
once. A pass holds each order from its first input in the pass to the pass's end; an
order another worker holds is left alone for the rest of the pass, every later input of
it included, so an order's inputs are applied in arrival order whoever applies them.
Once it holds an order, the worker checks its inputs are still to apply (another
worker may have applied them since the batch was read), in the same read as the
order's state (:meth:`Store.load` with the input's id), until it finds one that is:
the later ones are too, as workers apply an order's inputs in arrival order. The version check of
:meth:`Store.commit` and ``AlreadySettled`` remain the guard: a worker that does not see
another's holds (SQLite workers in two processes) decides again after a conflict, which
turns the input into a duplicate if the other worker applied it. An input for a
fulfillment order no stored order owns yet is parked in the inbox and goes back to
apply in the same transaction that makes the fulfillment order known.

:meth:`Worker.dispatch_due` claims due commands under a lease and sends each through the
:class:`~drfulfillment.domain.ports.DrApi` port; notifications go to ``notify``. A claim
that follows an earlier claim of the same command (a worker died, or the answer was
lost) asks the client to look for the earlier call's effect at DR first, so a command
reaches DR once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import get_args

from drfulfillment.codecs.commands import dump_command, load_command
from drfulfillment.codecs.events import parse_input
from drfulfillment.codecs.state import dump_state, load_state
from drfulfillment.domain.commands import ApiCommand, Command
from drfulfillment.domain.decide import decide, input_id, is_skipped
from drfulfillment.domain.engine import route
from drfulfillment.domain.errors import InputRefused, MalformedInput
from drfulfillment.domain.inputs import Input
from drfulfillment.domain.ports import (
    AlreadySettled,
    Change,
    DrApi,
    InboxEntry,
    InboxStatus,
    OutboxEntry,
    OutboxStatus,
    SendStatus,
    StaleVersion,
    Store,
)
from drfulfillment.domain.state import IntegrationModel, OrderState

__all__ = ["Worker"]

_LOG = logging.getLogger("drfulfillment.adapters.worker")
#: The outcome of an input left for a later pass: another worker holds its order.
_BUSY = "busy"
#: Fulfillment orders whose owner a worker remembers (forgotten all at once beyond).
_OWNERS_KEPT = 65_536
_API = get_args(ApiCommand)
_STATUS = {
    SendStatus.SENT: OutboxStatus.SENT,
    SendStatus.MOOT: OutboxStatus.MOOT,
    SendStatus.FAILED: OutboxStatus.FAILED,
    SendStatus.RETRY: OutboxStatus.PENDING,
}


def _log_notification(command: Command) -> None:
    _LOG.info("notify %s %s", type(command).__name__, command.key)


class Worker:
    """Applies inputs and dispatches commands for one store."""

    def __init__(
        self,
        store: Store,
        *,
        model: IntegrationModel = IntegrationModel.DISTRIBUTED,
        catalog: Mapping[str, bool] | None = None,
        api: DrApi | None = None,
        notify: Callable[[Command], None] = _log_notification,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = 60.0,
        retry_seconds: float = 5.0,
        max_conflicts: int = 50,
    ) -> None:
        budget = float(getattr(api, "send_budget", 0.0))
        if api is not None and lease_seconds <= budget:
            msg = (
                f"the lease ({lease_seconds} s) must outlast the longest send "
                f"({budget} s): a command whose lease ran out is sent again"
            )
            raise ValueError(msg)
        self.store = store
        self.model = model
        self.catalog = dict(catalog or {})
        self.api = api
        self.notify = notify
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.retry_seconds = retry_seconds
        self.max_conflicts = max_conflicts
        #: How often :meth:`apply` asks again for an order another worker holds.
        self.hold_poll_seconds = 0.01
        self._owners: dict[str, str] = {}

    # -- applying --------------------------------------------------------------------

    def apply_pending(self, limit: int = 100) -> int:
        """Apply up to ``limit`` received inputs, oldest first; how many were dealt
        with (applied, parked, refused, found settled), not left because another
        worker holds their order."""
        entries = self.store.next_inputs(limit)
        held: dict[str, None] = {}  # in the order taken
        blocked: set[str] = set()

        def enter(order_id: str) -> str | None:
            if order_id in held:
                return None
            if order_id in blocked or not self.store.hold(order_id):
                blocked.add(order_id)
                return _BUSY
            held[order_id] = None
            return None

        done = 0
        checked: set[str] = set()
        try:
            for entry in entries:
                if self._apply(entry, enter, checked) != _BUSY:
                    done += 1
        finally:
            if held:
                self.store.release(*held)
        return done

    def apply(self, entry: InboxEntry) -> str:
        """Apply one stored input, waiting while another worker holds its order; its
        outcome (``applied``, ``parked``, ``refused``, ``duplicate``...)."""
        held: list[str] = []

        def enter(order_id: str) -> str | None:
            if order_id not in held:
                while not self.store.hold(order_id):
                    time.sleep(self.hold_poll_seconds)
                held.append(order_id)
            return None

        try:
            return self._apply(entry, enter, set())
        finally:
            if held:
                self.store.release(*held)

    def _apply(
        self,
        entry: InboxEntry,
        enter: Callable[[str], str | None],
        checked: set[str],
    ) -> str:
        """Apply ``entry``; ``enter(order)`` is called before deciding for the order
        and answers ``None`` (go ahead, the order is held) or the outcome. Deciding
        checks the input is still waiting unless an earlier input of the order was
        found waiting while held in this pass (``checked``, which it adds to)."""
        try:
            inp = parse_input(entry.body)
        except InputRefused as exc:
            return self._refuse(entry, exc)
        if is_skipped(inp):
            self.store.settle(entry.event_id, InboxStatus.APPLIED, "skipped")
            return "skipped"
        if input_id(inp) != entry.event_id:
            return self._refuse(
                entry,
                MalformedInput(
                    entry.event_id, "id", "differs from the id it was received under"
                ),
            )
        for _ in range(self.max_conflicts):
            try:
                order_id, fo_id = route(inp, self._owner_of)
            except InputRefused as exc:
                return self._refuse(entry, exc)
            if order_id is None:
                assert fo_id is not None  # route refuses an input naming neither
                if self.store.park(entry.event_id, fo_id):
                    return "parked"
                continue  # owned meanwhile: route again
            refused = enter(order_id)
            if refused is not None:
                return refused
            outcome = self._decide(entry, order_id, inp, checked)
            if outcome is not None:
                return outcome
        _LOG.warning(
            "input %s: gave up after %d conflicts", entry.event_id, self.max_conflicts
        )
        return "conflict"

    def _owner_of(self, fulfillment_order_id: str) -> str | None:
        """The store's :meth:`~Store.owner_of`, remembered once known (a fulfillment
        order's owner never changes)."""
        owner = self._owners.get(fulfillment_order_id)
        if owner is None:
            owner = self.store.owner_of(fulfillment_order_id)
            if owner is not None:
                if len(self._owners) >= _OWNERS_KEPT:
                    self._owners.clear()
                self._owners[fulfillment_order_id] = owner
        return owner

    def _decide(
        self, entry: InboxEntry, order_id: str, inp: Input, checked: set[str]
    ) -> str | None:
        if order_id in checked:
            row = self.store.load(order_id)
        else:
            try:
                row = self.store.load(order_id, entry.event_id)
            except AlreadySettled:
                return "duplicate"  # applied meanwhile: check the order's next one
            checked.add(order_id)
        state = (
            load_state(row.state)
            if row is not None
            else OrderState(order_id=order_id, model=self.model)
        )
        try:
            decision = decide(state, inp, catalog=self.catalog)
        except InputRefused as exc:
            return self._refuse(entry, exc)
        change = Change(
            order_id=order_id,
            expected_version=0 if row is None else row.version,
            state=dump_state(decision.state),
            fulfillment_orders=tuple(fo.id for fo in decision.state.fulfillment_orders),
            event_id=entry.event_id,
            detail=decision.outcome,
            commands=tuple(
                (c.key, type(c).__name__, dump_command(c)) for c in decision.commands
            ),
            released=decision.released,
            dropped=tuple((d.input_id or "", str(d)) for d in decision.dropped),
        )
        try:
            self.store.commit(change)
        except StaleVersion:
            return None
        except AlreadySettled:
            return "duplicate"
        return decision.outcome

    def _refuse(self, entry: InboxEntry, exc: InputRefused) -> str:
        _LOG.warning("refused %s: %s", entry.event_id, exc)
        self.store.settle(entry.event_id, InboxStatus.REFUSED, str(exc))
        return "refused"

    # -- dispatching -----------------------------------------------------------------

    def dispatch_due(self, limit: int = 50) -> int:
        """Send up to ``limit`` due commands, claiming one at a time (a worker that
        dies holds at most one command in flight); how many were claimed."""
        claimed: list[OutboxEntry] = []
        while len(claimed) < limit:
            taken = self.store.claim(self.clock(), 1, self.lease_seconds)
            if not taken:
                break
            entry = taken[0]
            claimed.append(entry)
            command = load_command(entry.command)
            if not isinstance(command, _API):
                self.notify(command)
                self.store.record(
                    entry.key, entry.attempts, OutboxStatus.SENT, detail="notified"
                )
                continue
            if self.api is None:
                msg = "no DR API client configured: cannot dispatch API commands"
                raise RuntimeError(msg)
            result = self.api.send(command, reconcile_first=entry.attempts > 1)
            status = _STATUS[result.status]
            wait = (
                result.retry_after
                if result.retry_after is not None
                else self.retry_seconds
            )
            self.store.record(
                entry.key,
                entry.attempts,
                status,
                next_attempt_at=self.clock() + wait
                if status is OutboxStatus.PENDING
                else 0.0,
                detail=result.reason,
                response=None
                if result.response is None
                else json.dumps(result.response),
            )
        return len(claimed)

    # -- running ---------------------------------------------------------------------

    def run(self, stop: threading.Event, *, poll_seconds: float = 0.2) -> None:
        """Apply and dispatch until ``stop`` is set, sleeping when there is nothing to do."""
        while not stop.is_set():
            busy = self.apply_pending()
            if self.api is not None:
                busy += self.dispatch_due()
            if not busy:
                stop.wait(poll_seconds)
