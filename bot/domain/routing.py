"""Who receives a new petition: the routing rules over the officials directory.

Contract:
* ``route`` picks exactly one official for a (locality, category) pair. Rules, the first that has a
  match wins, among **active** officials only:

  1. ``locality+category`` — the official covers that locality *and* lists that category;
  2. ``locality`` — the official covers that locality and lists no category (every category there);
  3. ``category`` — the official covers no locality (province-wide) and lists that category
     (a provincial department);
  4. ``fallback`` — the fallback desk, returned even when inactive: the directory import guarantees
     it exists and is active.

  Several matches within a rule: highest ``priority`` first, then the fewest open petitions
  (``open_load``, missing = 0), then ``id`` alphabetically, so the choice is deterministic.
* An official with neither localities nor categories (a supervisor, an admin) is never chosen.
* Pure: no Telegram, no Redis, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from storage.models import Official

__all__ = ["RouteDecision", "RoutingRule", "route"]


class RoutingRule(StrEnum):
    """Which rule chose the official (stored with the petition as ``routed_by``)."""

    LOCALITY_CATEGORY = "locality+category"
    LOCALITY = "locality"
    CATEGORY = "category"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The official a petition goes to, and why."""

    official_id: str
    rule: RoutingRule


_Matcher = Callable[[Official, str, str], bool]

_RULES: tuple[tuple[RoutingRule, _Matcher], ...] = (
    (
        RoutingRule.LOCALITY_CATEGORY,
        lambda o, loc, cat: loc in o.localities and cat in o.categories,
    ),
    (
        RoutingRule.LOCALITY,
        lambda o, loc, cat: loc in o.localities and not o.categories,
    ),
    (
        RoutingRule.CATEGORY,
        lambda o, loc, cat: not o.localities and cat in o.categories,
    ),
)


def route(
    locality_code: str,
    category: str,
    officials: Sequence[Official],
    open_load: Mapping[str, int],
    fallback_official_id: str,
) -> RouteDecision:
    """The official who receives a petition about ``category`` in ``locality_code``."""
    active = [o for o in officials if o.is_active]
    for rule, matches in _RULES:
        candidates = [o for o in active if matches(o, locality_code, category)]
        if candidates:
            best = min(candidates, key=lambda o: (-o.priority, open_load.get(o.id, 0), o.id))
            return RouteDecision(best.id, rule)
    return RouteDecision(fallback_official_id, RoutingRule.FALLBACK)
