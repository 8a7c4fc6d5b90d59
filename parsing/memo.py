"""Bounded process-wide answers of pure functions: the one mechanism behind parsing's caches.

Place in the flow: none of its own; ``trimmer`` (line kinds, wrapped-header spans),
``reference`` (token scans, Message-ID tokens, candidates), ``parse`` (joined keyword windows)
and ``authresults`` (clauses) keep answers here because replies quote our own mail, so the same
inputs recur. Each cache is a plain dict, emptied when it holds ``size`` answers (a bound, not an
LRU: a few MB at most whatever arrives); callers pass only short inputs, so no one answer is
large. Pure functions only: an answer must depend on the key alone.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remembered(cache: dict[K, V], key: K, size: int,
               compute: Callable[..., V], *args: object) -> V:
    """``cache[key]``, or ``compute(*args)`` kept there (None answers too)."""
    try:
        return cache[key]
    except KeyError:
        pass
    answer = compute(*args)
    keep(cache, key, answer, size)
    return answer


def keep(cache: dict[K, V], key: K, answer: V, size: int) -> None:
    """Store ``answer`` under ``key``, emptying ``cache`` first when it holds ``size`` answers."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = answer
