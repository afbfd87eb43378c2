"""What the map page shows of routes and plans (issue 16): the plan asked with the options
chosen on the page, harm and detention apart, survival with its range, the part of an answer
with no risk estimate, the assumed figures, the people left behind and the concessions ranked.
Every figure is checked against the API's own answer to the same question."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OpenPage, Service
from tests.browser.figures import NBSP, duration, expected, fixed, percent, probability

ALEPPO = "aleppo-2016-12"
WINDOW = "pause-2016-12-15-3h"
GIVEN_BY = {"request": "chosen on this page", "scenario": "the scenario's setting",
            "default": "the service's default"}  # fmt: skip


def ask(service: Service, what: str, body: dict[str, Any]) -> Any:
    response = service.api("POST", f"/v1/scenarios/{ALEPPO}/{what}", body)
    assert response.status_code == 200, response.text
    return response.json()


def open_aleppo(open_page: OpenPage, service: Service) -> Any:
    page, watch = open_page(f"/?scenario={ALEPPO}#token={service.token}")
    page.wait_for_selector('[data-node="as-sukkari"]')
    page.locator("#status", has_text="loaded").wait_for()
    return page, watch


def sent_to(page: Any, suffix: str) -> list[Any]:
    """The bodies the page posts to URLs ending in ``suffix``, as they go."""
    bodies: list[Any] = []
    page.on(
        "request",
        lambda r: bodies.append(r.post_data_json) if r.url.endswith(suffix) else None,
    )
    return bodies


def policy_text(policy: dict[str, Any]) -> str:
    rule = (
        "the highest estimate of any road"
        if policy["rule"] == "highest"
        else f"set at {percent(policy['rule'])}"
    )
    given = GIVEN_BY[policy["given_by"]]
    return f"{percent(policy['assumed'])} per passage assumed ({rule}; {given})"


def figure(page: Any, key: str) -> str:
    text: str = page.inner_text(f'.plan-summary dd[data-key="{key}"]')
    return text


def test_plan_is_asked_for_the_profile_chosen_and_shows_harm_detention_and_who_is_left(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    posted = sent_to(page, "/plans")
    page.select_option("#profile", "convoy")
    page.select_option("#window", WINDOW)
    page.select_option("#method", "optimal")
    assert "Bus convoy" in page.inner_text("#plan-uses")
    page.click("#make-plan")
    page.wait_for_selector("#stranded-table")

    asked = {"window": WINDOW, "method": "optimal", "profile": "convoy"}
    assert posted == [asked]
    plan = ask(service, "plans", asked)
    general = ask(service, "plans", {"window": WINDOW, "method": "optimal"})
    # The convoy plan is not the general one: a page that dropped the profile would show that.
    assert plan["evacuated"] != general["evacuated"]
    assert figure(page, "evacuated") == f"{plan['evacuated']:,} of {plan['total_population']:,}"
    assert figure(page, "stranded") == f"{plan['stranded']:,}"
    assert figure(page, "expected_harm") == (
        expected(plan["expected_harm"], plan["expected_harm_range"]) + " people"
    )
    assert figure(page, "expected_detained") == expected(plan["expected_detained"]) + " people"
    assert "Bus convoy" in figure(page, "profile")
    unknown = plan["unknown_risk"]
    assert figure(page, "unknown_risk") == (
        f"{unknown['roads']} of {unknown['of_roads']} roads used; "
        f"{unknown['people_on_unknown_roads']:,} people travel on them; "
        + policy_text(unknown["policy"])
    )
    assert "people" in page.inner_text("#status")
    assert f"{plan['evacuated']:,} of {plan['total_population']:,}" in page.inner_text("#status")

    # Stranded, place by place, most first, in a table and as circles on the map.
    left = sorted(plan["stranded_at"], key=lambda x: -x["count"])
    assert sum(x["count"] for x in left) == plan["stranded"]
    rows = page.locator("#stranded-table tbody tr")
    assert [rows.nth(i).get_attribute("data-node") for i in range(rows.count())] == [
        x["node"] for x in left
    ]
    assert [rows.nth(i).locator("td").inner_text() for i in range(rows.count())] == [
        f"{x['count']:,}" for x in left
    ]
    assert page.locator("path.stranded-marker").count() == sum(1 for x in left if x["count"])

    # Every assumed figure, each with its source.
    items = page.locator("#plan-assumptions li")
    assert items.count() == len(plan["assumptions"])
    for i, a in enumerate(plan["assumptions"]):
        text = items.nth(i).inner_text()
        assert a["quantity"] in text
        assert a["source"] in text
    assert page.locator("#openings-table").count() == 0  # not asked for
    assert watch.page_errors == []
    assert watch.outside_requests() == []


def test_plan_sends_parties_consent_and_unknown_risk_and_ranks_concessions(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    posted = sent_to(page, "/plans")
    page.check("#avoid-parties input[value='ypg']")
    page.check("#consenting-only")
    page.select_option("#unknown-mode", "value")
    page.fill("#unknown-value", "5")
    page.select_option("#window", WINDOW)
    page.select_option("#method", "fast")
    page.check("#rank-openings")
    page.click("#make-plan")
    page.wait_for_selector("#openings-table", state="attached")

    asked = {
        "method": "fast",
        "window": WINDOW,
        "profile": "general",
        "avoid_parties": ["ypg"],
        "consenting_only": True,
        "unknown_risk": 0.05,
        "rank_openings": True,
    }
    assert posted == [asked]
    plan = ask(service, "plans", asked)
    assert figure(page, "evacuated") == f"{plan['evacuated']:,} of {plan['total_population']:,}"
    assert plan["unknown_risk"]["policy"]["given_by"] == "request"
    assert policy_text(plan["unknown_risk"]["policy"]) in figure(page, "unknown_risk")

    # The concessions, in the service's order, with their figures and sentences.
    concessions = plan["concessions"]
    assert concessions["rows"]
    rows = page.locator("#openings-table tbody tr")
    assert rows.count() == len(concessions["rows"])
    for i, o in enumerate(concessions["rows"]):
        row = rows.nth(i)
        assert row.get_attribute("data-kind") == o["kind"]
        assert row.get_attribute("data-id") == o["what"]
        assert row.locator(".gained").get_attribute("data-value") == str(o["people_gained"])
        for key, cell in (("harm_change", ".harm-change"), ("detained_change", ".detained-change")):
            value = float(row.locator(cell).get_attribute("data-value") or "nan")
            assert value == pytest.approx(o[key])
        assert o["sentence"] in row.locator(".why").text_content()
    parties = [o["what"] for o in concessions["rows"] if o["kind"] == "party"]
    assert "opposition" in parties  # consent pending: excluded by consenting-only
    assert watch.page_errors == []


def test_route_card_shows_survival_range_harm_detention_and_what_has_no_estimate(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    posted = sent_to(page, "/routes")
    # A road with no risk estimate, assumed safe: the route takes it, and says so.
    page.select_option("#unknown-mode", "value")
    page.fill("#unknown-value", "0")
    page.select_option("#alternatives", "1")
    page.uncheck("#disjoint")
    page.select_option("#from", "al-feid")
    page.select_option("#to", "al-jamiliyeh")
    page.click("#find-routes")
    page.wait_for_selector(".route-card")
    asked = {"from": "al-feid", "to": "al-jamiliyeh", "profile": "general", "unknown_risk": 0}
    assert posted == [asked]
    route = ask(service, "routes", asked)["routes"][0]
    unknown = route["unknown_risk"]
    assert unknown["roads"] == 1  # the scenario has no estimate for al-feid--al-jamiliyeh
    card = page.locator(".route-card").first
    assert card.locator(".survival").inner_text() == probability(
        route["survival_probability"], route["survival_range"]
    )
    assert card.locator(".harm").inner_text() == probability(
        route["harm_probability"], route["harm_range"]
    )
    assert card.locator(".detention").inner_text() == probability(route["detention_probability"])
    assert card.locator(".unknown").inner_text() == (
        f"No risk estimate: {unknown['roads']} of {unknown['of_roads']} road, "
        f"{duration(unknown['travel_time_min'])} "
        f"({fixed(unknown['share_of_time'] * 100, 0)}{NBSP}% of the travel time); "
        + policy_text(unknown["policy"])
        + "."
    )
    items = card.locator("#route-assumptions li")
    assert items.count() == len(route["assumptions"])
    for i, a in enumerate(route["assumptions"]):
        assert a["source"] in items.nth(i).inner_text()
    steps = page.locator("#steps-table tbody tr")
    assert steps.count() == len(route["steps"])
    for i, step in enumerate(route["steps"]):
        cells = steps.nth(i).locator("td")
        assert cells.nth(3).inner_text() == probability(step["harm"], step["harm_range"])
        assert cells.nth(4).inner_text() == probability(step["detention"])
        unknown_step = step["risk_inputs"]["base_unknown"]
        assert cells.nth(5).inner_text() == ("none: assumed" if unknown_step else "yes")
    assert page.locator("#steps-table tbody tr.unknown-step").count() == 1
    assert probability(route["survival_probability"], route["survival_range"]) in page.inner_text(
        "#status"
    )
    assert watch.page_errors == []


CHECKPOINT_TOWN = {
    "schema": "safe-passage/scenario@1",
    "name": "Checkpoint town",
    "as_of": "2024-03-01T12:00:00+00:00",
    "parties": [{"id": "army", "name": "Army", "consent": "granted", "detention_record": True}],
    "nodes": [
        {"id": "old-town", "name": "Old Town", "kind": "district", "lat": 10.0, "lon": 20.0,
         "population": 500},
        {"id": "hill", "name": "Hill", "kind": "district", "lat": 10.006, "lon": 19.998},
        {"id": "camp", "name": "Camp", "kind": "safe_zone", "lat": 10.01, "lon": 20.0},
    ],
    "edges": [
        # Short and shelled little, through the army's checkpoint (men of military age are
        # detained there); or round by the hill, more harm on the way and no checkpoint.
        {"id": "old-town-camp", "from": "old-town", "to": "camp", "length_m": 1100,
         "risk": 0.001, "controlled_by": "army", "checkpoint": "army"},
        {"id": "old-town-hill", "from": "old-town", "to": "hill", "length_m": 700, "risk": 0.05},
        {"id": "hill-camp", "from": "hill", "to": "camp", "length_m": 600, "risk": 0.05},
    ],
}  # fmt: skip


def test_objective_harm_takes_the_checkpoint_and_the_card_shows_the_detention(
    open_page: OpenPage, service: Service
) -> None:
    created = service.api("POST", "/v1/scenarios", CHECKPOINT_TOWN)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    page, _ = open_page(f"/?scenario={sid}#token={service.token}")
    page.locator("#status", has_text="loaded").wait_for()
    posted = sent_to(page, "/routes")
    page.select_option("#profile", "military_age_men")
    page.select_option("#objective", "harm")
    page.select_option("#alternatives", "1")
    page.uncheck("#disjoint")
    page.select_option("#from", "old-town")
    page.select_option("#to", "camp")
    page.click("#find-routes")
    page.wait_for_selector(".route-card")
    asked = {"from": "old-town", "to": "camp", "profile": "military_age_men", "objective": "harm"}
    assert posted == [asked]

    def safest(body: dict[str, Any]) -> Any:
        response = service.api("POST", f"/v1/scenarios/{sid}/routes", body)
        assert response.status_code == 200, response.text
        return response.json()["routes"][0]

    route = safest(asked)
    survival = safest({**asked, "objective": "survival"})
    # Least harm is the checkpoint road, where detention is what is risked.
    assert route["harm_probability"] < survival["harm_probability"]
    assert route["detention_probability"] > survival["detention_probability"] == 0
    card = page.locator(".route-card").first
    assert card.locator(".harm").inner_text() == probability(
        route["harm_probability"], route["harm_range"]
    )
    assert card.locator(".detention").inner_text() == probability(route["detention_probability"])
    assert card.locator(".survival").inner_text() == probability(
        route["survival_probability"], route["survival_range"]
    )
    assert "harm on the way" in page.inner_text("#routes-objective")
    detention = [a for a in route["assumptions"] if "detention" in a["quantity"]]
    assert detention  # the rate at the checkpoint is an assumption, with its source
    assert detention[0]["source"] in card.locator("#route-assumptions").inner_text()


def test_roads_with_no_risk_estimate_are_drawn_apart_and_named_in_the_legend(
    open_page: OpenPage, service: Service
) -> None:
    page, _ = open_aleppo(open_page, service)
    response = service.api("GET", f"/v1/scenarios/{ALEPPO}/map.geojson?profile=general")
    roads = [f["properties"] for f in response.json()["features"]
             if f["properties"]["layer"] == "road"]  # fmt: skip
    unknown = {
        r["id"]
        for r in roads
        if r["base_risk"] is None and r["status"] != "blocked" and r["usable"]
    }
    assert unknown
    drawn = page.eval_on_selector_all(
        "path.road-unknown",
        "ps => ps.map(p => [p.getAttribute('data-road'), p.getAttribute('stroke-dasharray')])",
    )
    assert {road for road, _ in drawn} == unknown
    assert {dash for _, dash in drawn} == {"10 4 2 4"}
    assert "no risk estimate" in page.inner_text("#legend")
