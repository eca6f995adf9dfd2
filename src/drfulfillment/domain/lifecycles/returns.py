"""The third-party return lifecycle (DR Returns API, ``ReturnsResponse.state``).

``created`` by ``POST /returns``, then ``accepted`` once the merchant accepts every
item (``POST /returns/{id}``); DR then creates the refund itself (DR reference §4.2), so
the engine never sends ``POST /refunds`` for such a return.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = ["RETURN", "RETURN_TRANSITIONS", "ReturnStatus"]


class ReturnStatus(enum.Enum):
    """DR's return states (wire values)."""

    CREATED = "created"
    ACCEPTED = "accepted"


RETURN_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {"trigger": "return.accepted", "source": "created", "dest": "accepted"},
)

RETURN: Final = Rulebook(
    "return",
    ReturnStatus,
    RETURN_TRANSITIONS,
    initial=ReturnStatus.CREATED,
    finals=(ReturnStatus.ACCEPTED,),
)
