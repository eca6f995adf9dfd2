"""The ``drfulfillment`` command line: the composition root.

``drfulfillment replay [--model distributed|orchestrated|third-party] [--catalog FILE]
[--report FILE] FILE`` replays a JSON Lines file of DR events and merchant requests
(``-`` for stdin) through the engine and prints one JSON object per emitted command on
stdout. Refused lines go to stderr as ``line N: ID: reason``; inputs still waiting at
the end as ``waiting: ID: what it waits for``. ``--report`` writes each order's
reconciliation (units reported and recorded, money captured, cancelled and refunded,
differences) as JSON Lines. Exit status: 0 all applied, 1 any refused, 2 usage error.

``serve``, ``ingest``, ``dispatch`` and ``show`` work on a durable store
(:mod:`drfulfillment.cli.service`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TextIO

from drfulfillment.cli import service
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.codecs.report import reconciliation_json
from drfulfillment.domain import (
    Engine,
    InputRefused,
    IntegrationModel,
    input_id,
    reconciliation,
)

__all__ = ["main"]

_PROGRESS_EVERY = 10_000
#: Lines between two freezes of the garbage collector's objects (see ``_frozen_gc``).
_FREEZE_EVERY = 10_000


def _one_line(text: str) -> str:
    """Control characters escaped, so that every report stays on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _reason(exc: InputRefused) -> str:
    reason = f"{exc.field}: {exc.reason}" if exc.field else exc.reason
    return _one_line(reason)


def _id(value: str | None) -> str:
    return _one_line(value) if value else "-"


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        if raw and not raw.isspace():  # as ``raw.strip()``, without the copy
            yield number, raw


@contextlib.contextmanager
def _frozen_gc() -> Iterator[Callable[[], None]]:
    """A replay's objects kept out of the cyclic collector's walks as they age.

    A replay keeps every order's state: millions of long-lived objects that each
    collection of the older generations walks again, more of them with every order.
    The function yielded, called every few thousand lines, freezes what is alive
    (:func:`gc.freeze`): later collections walk only what was made since, so cycles
    among new objects are still collected. Unfrozen when the replay ends.
    """
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def _load_catalog(path: str | None) -> dict[str, bool]:
    if path is None:
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not all(
        isinstance(v, bool) for v in data.values()
    ):
        msg = f"{path}: expected a JSON object of SKU id -> true/false (physical)"
        raise ValueError(msg)
    return {str(k): v for k, v in data.items()}


def replay(
    stream: IO[bytes],
    *,
    model: IntegrationModel,
    catalog: dict[str, bool],
    out: TextIO,
    err: TextIO,
    report: TextIO | None = None,
    progress: bool | None = None,
) -> int:
    """Replay ``stream``; return the exit status (0 or 1).

    ``progress``: a line count on ``err`` every 10,000 lines (default: when ``err`` is
    a terminal).
    """
    engine = Engine(model, catalog=catalog)
    #: The line of each input waiting, to name it if it is dropped later.
    line_of: dict[str, int] = {}
    refused = False
    progress = err.isatty() if progress is None else progress
    count = 0
    write = out.write
    with _frozen_gc() as freeze:
        for count, (number, raw) in enumerate(_lines(stream), start=1):
            try:
                inp = parse_input(raw)
                outcome = engine.handle(inp)
            except InputRefused as exc:
                refused = True
                print(f"line {number}: {_id(exc.input_id)}: {_reason(exc)}", file=err)
                continue
            if outcome.outcome == "waiting":
                line_of.setdefault(input_id(inp), number)
            for command in outcome.commands:
                write(json.dumps(command_json(command)) + "\n")
            for released in outcome.released:
                line_of.pop(released, None)
            for dropped in outcome.dropped:
                refused = True
                where = line_of.pop(dropped.input_id or "", number)
                print(
                    f"line {where}: {_id(dropped.input_id)}: {_reason(dropped)}",
                    file=err,
                )
            if count % _FREEZE_EVERY == 0:
                freeze()
            if progress and count % _PROGRESS_EVERY == 0:
                err.write(f"\r{count:,} lines")
                err.flush()
    if progress and count >= _PROGRESS_EVERY:
        err.write(f"\r{count:,} lines\n")
    for waiting in engine.waiting():
        print(
            f"waiting: {_id(waiting.input_id)}: {_one_line(waiting.reason)}", file=err
        )
    if report is not None:
        for order_id in sorted(engine.orders):
            rec = reconciliation(engine.orders[order_id])
            report.write(json.dumps(reconciliation_json(rec)) + "\n")
    return 1 if refused else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drfulfillment",
        description="The rules engine for Digital River fulfillment integrations.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser(
        "replay",
        help="replay a JSON Lines file of DR events and merchant requests",
        description="Print, as JSON Lines, the DR calls and notifications the events call for.",
    )
    rp.add_argument(
        "--model",
        choices=[m.value for m in IntegrationModel],
        default=IntegrationModel.DISTRIBUTED.value,
        help="the integration model (default: distributed)",
    )
    rp.add_argument(
        "--catalog",
        metavar="FILE",
        help="JSON object of SKU id -> physical (true/false) for events that do not say",
    )
    rp.add_argument(
        "--report",
        metavar="FILE",
        help="write each order's reconciliation (units and money) as JSON Lines",
    )
    rp.add_argument(
        "--progress",
        action="store_true",
        help="count lines on stderr even when it is not a terminal",
    )
    rp.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    service.add_parsers(sub)
    dg = sub.add_parser(
        "diagrams",
        help="draw every lifecycle from the engine's own declarations",
        description="Write the lifecycle diagrams (Mermaid, DOT, SVG via Graphviz's dot).",
    )
    dg.add_argument(
        "--format",
        choices=["mermaid", "dot", "svg", "all"],
        default="all",
        help="which files to write (default: all)",
    )
    dg.add_argument(
        "--out", metavar="DIR", default="diagrams", help="directory (default: diagrams)"
    )
    return parser


def diagrams(fmt: str, out: str) -> int:
    """Write the diagrams; return the exit status."""
    from drfulfillment.diagrams import FORMATS, GraphvizMissingError, render

    try:
        files = render(FORMATS if fmt == "all" else (fmt,))
    except GraphvizMissingError as exc:
        print(f"drfulfillment: {exc}", file=sys.stderr)
        return 2
    root = Path(out)
    for relative, content in sorted(files.items()):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
    print(f"{len(files)} files in {root}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drfulfillment`` command."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # stdout closed early (``| head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "diagrams":
        return diagrams(args.format, args.out)
    if service.handles(args.command):
        return service.run(args)
    try:
        catalog = _load_catalog(args.catalog)
    except (OSError, ValueError) as exc:
        print(f"drfulfillment: {exc}", file=sys.stderr)
        return 2
    model = IntegrationModel(args.model)
    with contextlib.ExitStack() as stack:
        try:
            stream = (
                sys.stdin.buffer
                if args.file == "-"
                else stack.enter_context(open(args.file, "rb"))
            )
        except OSError as exc:
            print(
                f"drfulfillment: cannot read {args.file}: {exc.strerror}",
                file=sys.stderr,
            )
            return 2
        try:
            report = (
                stack.enter_context(open(args.report, "w", encoding="utf-8"))
                if args.report
                else None
            )
        except OSError as exc:
            print(
                f"drfulfillment: cannot write {args.report}: {exc.strerror}",
                file=sys.stderr,
            )
            return 2
        return replay(
            stream,
            model=model,
            catalog=catalog,
            out=sys.stdout,
            err=sys.stderr,
            report=report,
            progress=True if args.progress else None,
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
