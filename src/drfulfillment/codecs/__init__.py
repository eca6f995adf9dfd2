"""DR JSON in and out: events and requests to inputs, commands to requests, state to JSON."""

from drfulfillment.codecs.events import ORDER_EVENT_TYPES, parse_input
from drfulfillment.codecs.json import make_converter
from drfulfillment.codecs.requests import (
    command_json,
    render_request,
    render_request_json,
)
from drfulfillment.codecs.state import (
    SCHEMA_VERSION,
    dump_state,
    load_state,
    state_from_json,
    state_to_json,
)

__all__ = [
    "ORDER_EVENT_TYPES",
    "SCHEMA_VERSION",
    "command_json",
    "dump_state",
    "load_state",
    "make_converter",
    "parse_input",
    "render_request",
    "render_request_json",
    "state_from_json",
    "state_to_json",
]
