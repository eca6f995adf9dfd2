"""Commands to and from JSON text, for outboxes that keep them between processes.

``dump_command`` writes ``{"type": "CreateFulfillment", ...fields}`` (the converter's
camelCase spelling); ``load_command`` reads it back to the same frozen command. The round
trip is exact: a unit test runs every command the example histories produce through it.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import cattrs

from drfulfillment.codecs.json import make_converter
from drfulfillment.domain.commands import Command
from drfulfillment.domain.errors import MalformedInput

__all__ = ["COMMAND_TYPES", "dump_command", "load_command"]

_CONVERTER = make_converter()

#: Command class name -> class.
COMMAND_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Command)}


def dump_command(command: Command) -> str:
    """``command`` as compact, key-sorted JSON text with its ``type``."""
    data = _CONVERTER.unstructure(command)
    return json.dumps(
        {"type": type(command).__name__, **data},
        sort_keys=True,
        separators=(",", ":"),
    )


def load_command(text: str | bytes) -> Command:
    """The inverse of :func:`dump_command`; :class:`MalformedInput` if it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MalformedInput(None, None, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedInput(None, None, "expected a JSON object")
    cls = COMMAND_TYPES.get(str(data.pop("type", "")))
    if cls is None:
        raise MalformedInput(None, "type", "not a command type")
    try:
        command: Command = _CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise MalformedInput(None, None, f"not a {cls.__name__}: {exc}") from None
    return command
