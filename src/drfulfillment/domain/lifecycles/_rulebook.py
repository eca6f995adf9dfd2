"""The shared rulebook: one ``transitions.Machine`` per lifecycle, compiled to tables.

Theory of operation (h11 style): a lifecycle is declared once as an ``enum.Enum`` of DR's
state names plus a tuple of transition dicts (trigger = the DR event or merchant request
that causes it). ``Rulebook`` builds exactly one ``transitions.Machine`` for it, with no
model (records are never added to it), checks that every state a transition names
exists (``transitions`` does not), and compiles two tables from the machine:

* ``(source, trigger) -> destinations``, used by :meth:`Rulebook.step`;
* the reflexive-transitive closure of the graph, used by :meth:`Rulebook.can_reach`
  for states the engine *derives* from quantities, where several DR events may have
  been folded into one change.

The diagrams (:mod:`drfulfillment.diagrams`) are drawn from the same machine's
transitions (:meth:`Rulebook.edges`). Records stay ``attrs.frozen``; nothing here holds per-record state.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from transitions import Machine

from drfulfillment.domain.errors import IllegalTransition

__all__ = ["Rulebook", "TransitionSpec"]

S = TypeVar("S", bound=enum.Enum)

#: ``{"trigger": str, "source": str | list[str], "dest": str}``, as ``transitions`` takes.
TransitionSpec = Mapping[str, "str | Sequence[str]"]


class Rulebook(Generic[S]):
    """A lifecycle's declaration and the tables compiled once from it."""

    def __init__(
        self,
        name: str,
        states: type[S],
        transitions: Sequence[TransitionSpec],
        *,
        initial: S,
        finals: Iterable[S],
    ) -> None:
        self.name = name
        self.states = states
        self.transitions = tuple(transitions)
        self.initial = initial
        self.finals = frozenset(finals)
        by_value = {str(s.value): s for s in states}
        for spec in self.transitions:
            sources = spec["source"]
            names = [sources] if isinstance(sources, str) else list(sources)
            for state_name in [*names, str(spec["dest"])]:
                if state_name not in by_value:
                    msg = f"{name}: transition {spec['trigger']!r} names unknown state"
                    raise ValueError(f"{msg} {state_name!r}")
        self.machine = Machine(
            model=None,
            states=list(by_value),
            transitions=[dict(t) for t in self.transitions],
            initial=None,
            auto_transitions=False,
        )
        steps: dict[tuple[S, str], set[S]] = {}
        edges: dict[S, set[S]] = {s: set() for s in states}
        declared: list[tuple[S, str, S]] = []
        for trigger, event in self.machine.events.items():
            for source_name, found in event.transitions.items():
                for transition in found:
                    dest_name = transition.dest or source_name
                    src, dst = by_value[source_name], by_value[dest_name]
                    steps.setdefault((src, trigger), set()).add(dst)
                    edges[src].add(dst)
                    declared.append((src, trigger, dst))
        self._edges = tuple(declared)
        self._steps = {k: frozenset(v) for k, v in steps.items()}
        self._reach = {s: _closure(s, edges) for s in states}

    def edges(self) -> tuple[tuple[S, str, S], ...]:
        """Every ``(source, trigger, destination)`` the machine holds, as declared.

        The diagrams (``drfulfillment.diagrams``) are drawn from exactly these.
        """
        return self._edges

    def triggers(self, state: S) -> frozenset[str]:
        """The triggers allowed from ``state``."""
        return frozenset(t for (s, t) in self._steps if s == state)

    def step(self, state: S, trigger: str, *, subject: str, input_id: str | None) -> S:
        """The single destination of ``trigger`` from ``state``, or a refusal.

        A trigger declared with several destinations from one state (DR's
        ``order.dispute.resolved``, which "reverts to the pre-dispute state") has no
        single step; such changes are checked with :meth:`check` instead.
        """
        dests = self._steps.get((state, trigger), frozenset())
        if len(dests) != 1:
            raise IllegalTransition(
                input_id,
                None,
                f"{self.name} {subject}: {trigger!r} is not allowed in state "
                f"{state.value!r}",
            )
        return next(iter(dests))

    def can_reach(self, source: S, dest: S) -> bool:
        """Whether ``dest`` follows ``source`` by zero or more declared transitions."""
        return dest is source or dest in self._reach[source]

    def merge(
        self,
        known: S,
        new: S,
        *,
        newer: bool,
        subject: str,
        input_id: str | None,
        field: str | None = None,
    ) -> S:
        """The state a record is in once a report of ``new`` meets the ``known`` one.

        Reports arrive in any order: a state that follows the known one advances it, a
        state that can only precede it is stale and changes nothing, and within a cycle
        (each reaches the other) the newer report wins. A state that neither follows
        nor precedes the known one contradicts it and is refused.
        """
        ahead, behind = self.can_reach(known, new), self.can_reach(new, known)
        if ahead and behind:
            return new if newer else known
        if ahead:
            return new
        if behind:
            return known
        raise IllegalTransition(
            input_id,
            field,
            f"{self.name} {subject} is {known.value!r}; it cannot become {new.value!r}",
        )

    def check(
        self,
        source: S,
        dest: S,
        *,
        subject: str,
        input_id: str | None,
        field: str | None = None,
    ) -> None:
        """Refuse a change ``source -> dest`` that the lifecycle cannot make."""
        if not self.can_reach(source, dest):
            raise IllegalTransition(
                input_id,
                field,
                f"{self.name} {subject} cannot go from {source.value!r} to "
                f"{dest.value!r}",
            )


def _closure(start: S, edges: Mapping[S, set[S]]) -> frozenset[S]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)
