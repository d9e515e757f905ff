"""Routing: which official receives a new petition (table-driven over the four rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from bot.domain.directory import Directory
from bot.domain.routing import RouteDecision, RoutingRule, route
from storage.models import Official, Role

FALLBACK = "desk"


def official(
    id: str,
    *,
    localities: Sequence[str] = (),
    categories: Sequence[str] = (),
    priority: int = 0,
    active: bool = True,
    role: Role = Role.OFFICIAL,
    fallback: bool = False,
) -> Official:
    return Official(
        id=id,
        name=id,
        title="t",
        unit="u",
        role=role,
        localities=list(localities),
        categories=list(categories),
        priority=priority,
        is_active=active,
        is_fallback=fallback,
    )


OFFICIALS: dict[str, Official] = {
    o.id: o
    for o in (
        # Phường Thành Sen: a commune officer for everything, a land specialist, the chairman.
        official("ts-cb", localities=["18073"]),
        official("ts-land", localities=["18073"], categories=["land"]),
        official("ts-old", localities=["18073"], categories=["land"], priority=9, active=False),
        official("ts-ct", role=Role.SUPERVISOR),
        # Phường Hà Huy Tập: only a land specialist (other categories go to departments / the desk).
        official("hht-land", localities=["18652"], categories=["land"]),
        # Xã Cẩm Trung: two interchangeable commune officers.
        official("ct-a", localities=["18742"]),
        official("ct-b", localities=["18742"]),
        # Xã Thạch Hà: its officer left (inactive).
        official("th-cb", localities=["18562"], active=False),
        # Provincial departments.
        official("nnmt-cv", categories=["environment", "agriculture", "land"]),
        official("nnmt-b", categories=["environment"]),
        official("xd-hi", categories=["construction"], priority=5),
        official("xd-lo", categories=["construction"]),
        official("sup-only", role=Role.SUPERVISOR, priority=100),
        # Ban Tiếp công dân.
        official(FALLBACK, fallback=True),
        official("tcd", role=Role.ADMIN, priority=100),
    )
}

L, LC, C, F = (
    RoutingRule.LOCALITY,
    RoutingRule.LOCALITY_CATEGORY,
    RoutingRule.CATEGORY,
    RoutingRule.FALLBACK,
)

# locality, category, officials (None = all), open load, expected official, expected rule
ROWS = [
    pytest.param("18073", "land", None, {}, "ts-land", LC, id="locality+category beats locality"),
    pytest.param("18073", "health", None, {}, "ts-cb", L, id="locality officer takes other categories"),
    pytest.param("18073", "environment", None, {}, "ts-cb", L, id="locality beats department"),
    pytest.param(
        "18073", "land", ["ts-cb", "ts-old", FALLBACK], {}, "ts-cb", L, id="inactive specialist skipped"
    ),
    pytest.param(
        "18652",
        "environment",
        ["hht-land", "nnmt-cv", FALLBACK],
        {},
        "nnmt-cv",
        C,
        id="specialist not chosen for another category",
    ),
    pytest.param("18652", "health", None, {}, FALLBACK, F, id="specialist only category → fallback"),
    pytest.param("18652", "land", None, {}, "hht-land", LC, id="specialist for own category"),
    pytest.param("18652", "environment", None, {}, "nnmt-b", C, id="category: id tie-break"),
    pytest.param(
        "18652", "environment", None, {"nnmt-b": 3, "nnmt-cv": 1}, "nnmt-cv", C, id="category: least load"
    ),
    pytest.param("18562", "construction", None, {"xd-hi": 50}, "xd-hi", C, id="priority beats load"),
    pytest.param("18742", "other", None, {}, "ct-a", L, id="locality: id tie-break"),
    pytest.param("18742", "other", None, {"ct-a": 2, "ct-b": 1}, "ct-b", L, id="locality: least load"),
    pytest.param("18742", "other", None, {"ct-b": 0, "ct-a": 0}, "ct-a", L, id="equal load: id"),
    pytest.param("18742", "other", None, {"ct-a": 1}, "ct-b", L, id="missing load counts as 0"),
    pytest.param("18562", "health", None, {}, FALLBACK, F, id="inactive officer → fallback"),
    pytest.param("18562", "agriculture", None, {}, "nnmt-cv", C, id="inactive officer → department"),
    pytest.param(
        "18073", "health", ["ts-ct", "sup-only", "tcd", FALLBACK], {}, FALLBACK, F, id="supervisors never"
    ),
    pytest.param("18073", "health", [], {}, FALLBACK, F, id="no officials at all"),
    pytest.param(
        "18073",
        "health",
        ["ts-ct"],
        {},
        FALLBACK,
        F,
        id="fallback returned even when absent from the list",
    ),
]


@pytest.mark.parametrize(("locality", "category", "subset", "load", "expected", "rule"), ROWS)
def test_route(
    locality: str,
    category: str,
    subset: list[str] | None,
    load: Mapping[str, int],
    expected: str,
    rule: RoutingRule,
) -> None:
    officials = list(OFFICIALS.values()) if subset is None else [OFFICIALS[i] for i in subset]
    assert route(locality, category, officials, load, FALLBACK) == RouteDecision(expected, rule)


def test_inactive_fallback_desk_is_still_returned() -> None:
    desk = official(FALLBACK, fallback=True, active=False)
    assert route("18073", "land", [desk], {}, FALLBACK) == RouteDecision(FALLBACK, F)


def test_result_does_not_depend_on_input_order() -> None:
    officials = list(OFFICIALS.values())
    for locality, category in [("18742", "other"), ("18652", "environment"), ("18562", "construction")]:
        forward = route(locality, category, officials, {}, FALLBACK)
        assert route(locality, category, officials[::-1], {}, FALLBACK) == forward


def test_every_locality_and_category_routes_to_an_active_covering_official() -> None:
    directory = Directory.default()
    officials = list(OFFICIALS.values())
    for locality in directory.localities:
        for category in directory.categories:
            decision = route(locality.code, category.key, officials, {}, FALLBACK)
            chosen = OFFICIALS[decision.official_id]
            assert chosen.role is Role.OFFICIAL
            assert chosen.is_active or decision.rule is F
            if decision.rule is not F:
                assert chosen.localities or chosen.categories


def test_rule_values_are_stable() -> None:
    # Stored with each petition (``routed_by``): the values are a persisted contract.
    assert [r.value for r in RoutingRule] == ["locality+category", "locality", "category", "fallback"]
