"""``InputRefused``: what a refusal says when printed."""

from __future__ import annotations

from drfulfillment.domain import InputRefused, QuantityExceeded


class TestInputRefused:
    """The text of a refusal names the input, the field and the reason."""

    def test_text_with_field(self) -> None:
        """``ID at FIELD: REASON``."""
        exc = QuantityExceeded("evt-1", "items[0].quantity", "3 exceed 2")
        assert str(exc) == "evt-1 at items[0].quantity: 3 exceed 2"
        assert (exc.input_id, exc.field, exc.reason) == (
            "evt-1",
            "items[0].quantity",
            "3 exceed 2",
        )

    def test_text_without_field_or_id(self) -> None:
        """``-: REASON`` when neither is known."""
        exc = InputRefused(None, None, "not valid JSON")
        assert str(exc) == "-: not valid JSON"
