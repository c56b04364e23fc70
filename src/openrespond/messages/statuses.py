"""The status machine every channel's reports go through.

An outgoing message moves one way: ``pending`` → ``sent`` → ``delivered`` → ``read``, or to
``failed`` from anything short of ``read``; nothing follows ``failed``. Channels report steps
late, twice, out of order, or not at all (WhatsApp sends no ``delivered`` for a message read at
once; Twilio sends no callback for its first status): a report that does not move the message
forward changes nothing, and a skipped step is implied by the later one, never written with a
made-up time.
"""

from __future__ import annotations

from openrespond.errors import Conflict

__all__ = ["RANK", "check", "moves_forward"]

RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


def moves_forward(current: str | None, new: str) -> bool:
    """Whether ``new`` follows a message now ``current``."""
    if current == "failed":
        return False
    rank = RANK.get(current or "pending", 0)
    if new == "failed":
        return rank < RANK["read"]
    return RANK[new] > rank


def check(message_id: int, current: str | None, new: str) -> None:
    """409 naming the rule unless ``new`` follows ``current`` (a status set by hand)."""
    if moves_forward(current, new):
        return
    if current == "failed":
        raise Conflict(f"message {message_id} failed; its status cannot change any more")
    if new == "failed":
        raise Conflict(f"message {message_id} was read; it cannot fail any more")
    raise Conflict(
        f"message {message_id} is {current}; statuses only move forward"
        " (sent → delivered → read), so it cannot become " + new
    )
