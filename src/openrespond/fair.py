"""Sharing a worker's room between destinations (channels, webhook endpoints) in turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["rotate", "shares"]


def shares(room: int, allowed: Mapping[int, int], order: Sequence[int]) -> dict[int, int]:
    """How many of ``room`` slots each key gets, one slot a key at a time in ``order``,
    none beyond what ``allowed`` gives it: a key with a long queue cannot take the slots of
    the others, and slots no other key can use still go to it."""
    left = {k: max(0, allowed.get(k, 0)) for k in order}
    given = dict.fromkeys(order, 0)
    while room > 0:
        progressed = False
        for k in order:
            if room == 0:
                break
            if left[k] > 0:
                left[k] -= 1
                given[k] += 1
                room -= 1
                progressed = True
        if not progressed:
            break
    return {k: n for k, n in given.items() if n > 0}


def rotate(keys: Sequence[int], after: int | None) -> list[int]:
    """``keys`` (sorted) starting with the first one past ``after``: whose turn is first
    moves on from claim to claim."""
    ordered = list(keys)
    if after is None:
        return ordered
    for i, k in enumerate(ordered):
        if k > after:
            return ordered[i:] + ordered[:i]
    return ordered
