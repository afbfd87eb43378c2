"""The map page at ``/``: what a negotiator sees and does, checked against the API's own answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser.conftest import OpenPage, Service
from tests.browser.figures import probability

ALEPPO = "aleppo-2016-12"
NBSP = "\u00a0"


def percent(p: float) -> str:
    """The page's figure for a probability (two decimals, as geo.js writes it)."""
    return f"{p * 100:.2f}{NBSP}%"


def routes(service: Service, body: dict[str, Any]) -> Any:
    response = service.api("POST", f"/v1/scenarios/{ALEPPO}/routes", body)
    assert response.status_code == 200, response.text
    return response.json()


def open_aleppo(open_page: OpenPage, service: Service, **size: int) -> Any:
    page, watch = open_page(f"/?scenario={ALEPPO}#token={service.token}", **size)
    page.wait_for_selector('[data-node="as-sukkari"]')
    page.locator("#status", has_text="loaded").wait_for()
    return page, watch


def test_two_clicks_on_districts_show_the_safest_route_and_its_survival(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    page, watch = open_aleppo(open_page, service)
    # The token left the address bar and lives in the tab's session storage only.
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('safe-passage.token')") == service.token
    located = page.locator(".leaflet-marker-pane [data-node]").count()
    assert located == 136  # every node of the Aleppo scenario has coordinates
    legend = page.inner_text("#legend")
    for words in ("Government forces and allies", "Armed opposition groups", "blocked"):
        assert words in legend
    assert "Columbia University" in page.inner_text(".credits")

    page.click('[data-node="as-sukkari"]')
    assert page.input_value("#from") == "as-sukkari"
    page.click('[data-node="bustan-al-qaser"]')
    page.wait_for_selector("#pair-summary")

    expected = routes(service, {"from": "as-sukkari", "to": "bustan-al-qaser", "alternatives": 3})
    pair = routes(service, {"from": "as-sukkari", "to": "bustan-al-qaser", "disjoint": True})
    safest = expected["routes"][0]
    cards = page.locator(".route-card")
    assert cards.count() == len(expected["routes"]) + 2
    first = cards.nth(0)
    assert "Safest route" in first.inner_text()
    survival = probability(safest["survival_probability"], safest["survival_range"])
    assert first.locator(".survival").inner_text() == survival
    status = page.inner_text("#status")
    assert f"probability of arriving unharmed and free {survival}" in status
    for i, route in enumerate(expected["routes"]):
        shown = cards.nth(i).locator(".survival").inner_text()
        assert shown == probability(route["survival_probability"], route["survival_range"])
    a, b = pair["routes"][0], pair["routes"][1]
    joint = a["survival_probability"] * b["survival_probability"]
    ends = [a["survival_range"][0] * b["survival_range"][0],
            a["survival_range"][1] * b["survival_range"][1]]  # fmt: skip
    assert probability(joint, ends) in page.inner_text("#pair-summary")

    # The step table: one row per road, ending at the route's survival probability.
    rows = page.locator("#steps-table tbody tr")
    assert rows.count() == len(safest["edges"])
    assert rows.last.locator("td").last.inner_text() == probability(safest["survival_probability"])
    headers = page.locator("#steps-table thead th").all_inner_texts()
    assert headers == [
        "#",
        "Road (from → to)",
        "Controlled by",
        "Time",
        "Harm (range)",
        "Detention",
        "Risk estimate",
        "Unharmed and free so far",
    ]

    # Drawn on the map: a line per route plus its white casing, and a label per route.
    assert page.locator(".leaflet-routes-pane path.leaflet-interactive").count() == cards.count()
    page.mouse.move(0, 0)  # no hover tooltip in the picture
    page.screenshot(path=str(artifacts / "map-aleppo-route.png"))
    assert watch.outside_requests() == []
    assert watch.console_errors == []
    assert watch.page_errors == []


def test_safe_zone_route_names_the_road_every_corridor_shares(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    page, watch = open_aleppo(open_page, service)
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="al-rashideen"]')
    page.wait_for_selector(".route-card")
    page.wait_for_selector(".results .note")
    expected = routes(service, {"from": "as-sukkari", "to": "al-rashideen", "alternatives": 3})
    safest = expected["routes"][0]
    assert page.locator(".route-card .survival").first.inner_text() == probability(
        safest["survival_probability"], safest["survival_range"]
    )
    notes = " ".join(page.locator(".results .note").all_inner_texts())
    assert "No disjoint pair" in notes
    assert "al-rashideen--ramouseh-crossing" in notes
    # Parties to agree: the opposition has not consented (consents_needed).
    card = page.locator(".route-card").first.inner_text()
    assert "Armed opposition groups (consent pending)" in card
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-aleppo-safe-zone.png"))
    assert watch.outside_requests() == []
    assert watch.page_errors == []


def test_keyboard_only_route_from_the_lists(open_page: OpenPage, service: Service) -> None:
    page, watch = open_aleppo(open_page, service)
    options = page.locator("#from option:not([value=''])")
    assert options.count() == 136
    page.focus("#from")
    page.select_option("#from", "al-ansari")
    page.select_option("#to", "sayf-ad-dauleh")
    page.select_option("#alternatives", "1")
    page.uncheck("#disjoint")
    page.focus("#find-routes")
    page.keyboard.press("Enter")
    page.wait_for_selector(".route-card")
    expected = routes(service, {"from": "al-ansari", "to": "sayf-ad-dauleh"})["routes"][0]
    assert page.locator(".route-card").count() == 1
    assert page.locator(".route-card .survival").inner_text() == probability(
        expected["survival_probability"], expected["survival_range"]
    )
    # The status region is announced to screen readers.
    assert page.get_attribute("#status", "aria-live") == "polite"
    # Places that matter (people to evacuate, safe zones) are keyboard stops on the map too.
    page.click("#clear")
    page.focus('[data-node="as-sukkari"]')
    page.keyboard.press("Enter")
    assert page.input_value("#from") == "as-sukkari"
    assert watch.console_errors == []


def test_avoiding_a_party_shows_what_cuts_the_places_off(
    open_page: OpenPage, service: Service
) -> None:
    page, _ = open_aleppo(open_page, service)
    page.check("#avoid-parties input[value='gov']")
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="al-rashideen"]')
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    text = problem.inner_text()
    assert "No route" in text
    assert "al-rashideen--ramouseh-crossing" in text
    assert "controlled by avoided party 'gov'" in text
    assert page.locator(".route-card").count() == 0
    # The separating roads are outlined on the map.
    assert page.locator(".leaflet-overlay-pane path").count() > 0


def test_a_place_held_by_an_avoided_party_is_named_first(
    open_page: OpenPage, service: Service
) -> None:
    page, _ = open_aleppo(open_page, service)
    page.check("#avoid-parties input[value='opposition']")
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="al-rashideen"]')
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    text = problem.inner_text()
    assert "origin 'as-sukkari' is held by 'opposition', which is avoided." in text
    assert page.locator(".route-card").count() == 0


def test_risk_limit_says_how_safe_the_best_route_is(open_page: OpenPage, service: Service) -> None:
    page, _ = open_aleppo(open_page, service)
    page.fill("#max-risk", "1")
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="al-rashideen"]')
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    best = service.api(
        "POST",
        f"/v1/scenarios/{ALEPPO}/routes",
        {"from": "as-sukkari", "to": "al-rashideen", "max_risk": 0.01},
    ).json()["best_risk"]
    assert f"risk {percent(best)}" in problem.inner_text()


def test_geojson_export_is_a_feature_collection_of_the_routes(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    page, _ = open_aleppo(open_page, service)
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="bustan-al-qaser"]')
    page.wait_for_selector("#pair-summary")
    with page.expect_download() as info:
        page.click("#export-routes")
    download = info.value
    assert download.suggested_filename.endswith(".geojson")
    target = artifacts / download.suggested_filename
    download.save_as(target)
    collection = json.loads(target.read_text())
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection  # RFC 7946: WGS 84 longitude, latitude only
    expected = routes(service, {"from": "as-sukkari", "to": "bustan-al-qaser", "alternatives": 3})
    features = collection["features"]
    assert len(features) == len(expected["routes"]) + 2
    for feature, route in zip(features, expected["routes"], strict=False):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "LineString"
        assert feature["properties"]["survival_probability"] == route["survival_probability"]
        assert feature["geometry"]["coordinates"] == [
            [round(x, 7), round(y, 7)] for x, y in route["geometry"]["coordinates"]
        ]
    assert [f["properties"]["kind"] for f in features[-2:]] == ["pair", "pair"]
    assert any("Columbia" in c for c in collection["properties"]["credits"])


def test_viewer_token_reads_the_map_but_cannot_compute(
    open_page: OpenPage, service: Service
) -> None:
    viewer = service.create_token("viewer")
    page, watch = open_page(f"/?scenario={ALEPPO}#token={viewer}")
    page.wait_for_selector('[data-node="as-sukkari"]')
    page.click('[data-node="as-sukkari"]')
    page.click('[data-node="al-rashideen"]')
    note = page.locator("#readonly-note")
    note.wait_for(state="visible")
    assert "planner" in note.inner_text()
    assert page.is_disabled("#find-routes")
    assert page.is_disabled("#make-plan")
    assert page.locator(".route-card").count() == 0
    assert watch.outside_requests() == []


def test_page_asks_for_a_token_once_and_keeps_it_for_the_tab(
    open_page: OpenPage, service: Service
) -> None:
    page, _ = open_page("/")
    page.locator("#token-panel").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "token-input"
    page.fill("#token-input", "sp_not-a-token")
    page.click("#token-form button[type=submit]")
    page.locator("#token-message", has_text="did not accept").wait_for()
    page.fill("#token-input", service.token)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector('[data-node="as-sukkari"]')
    assert page.locator("#token-panel").is_hidden()
    page.reload()
    page.wait_for_selector('[data-node="as-sukkari"]')
    assert page.locator("#token-panel").is_hidden()


def test_plan_shows_movements_and_bottlenecks_or_says_plans_are_missing(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    page, _ = open_aleppo(open_page, service)
    window = "pause-2016-12-15-3h"
    page.select_option("#window", window)
    page.select_option("#method", "fast")
    page.click("#make-plan")
    answer = service.api(
        "POST", f"/v1/scenarios/{ALEPPO}/plans", {"window": window, "method": "fast"}
    )
    if answer.status_code in (404, 405):
        page.locator("#problem").wait_for(state="visible")
        assert "Plans not available" in page.inner_text("#problem")
        return
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    document = service.api("GET", f"/v1/scenarios/{ALEPPO}").json()
    names = {n["id"]: n.get("name") or n["id"] for n in document["nodes"]}
    page.wait_for_selector("#corridors-table")
    summary = page.inner_text(".plan-summary")
    assert f"{plan['evacuated']:,} of {plan['total_population']:,}" in summary
    # The fast plan of the pause meets its bounds (4,960 out by minute 180): it is optimal.
    assert plan["optimal"] is True and plan["egress_time_min"] == plan["lower_bound_min"]
    assert "fast, optimal (meets its bounds)" in summary
    rows = page.locator("#movements-table tbody tr").count()
    assert rows == min(len(plan["movements"]), 500)
    # Corridors: movements grouped by path, people added up.
    people: dict[tuple[str, ...], int] = {}
    for m in plan["movements"]:
        key = tuple(m["nodes"])
        people[key] = people.get(key, 0) + m["count"]
    shown = page.locator("#corridors-table tbody tr")
    assert shown.count() == len(people)
    for i in range(shown.count()):
        path_text, count_text = shown.nth(i).locator("th, td").all_inner_texts()[:2]
        key = next(k for k in people if " → ".join(names[n] for n in k) == path_text)
        assert count_text == f"{people[key]:,}"
    if plan["bottlenecks"]:
        assert page.locator("#bottlenecks-table tbody tr").count() == len(plan["bottlenecks"])
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-aleppo-plan-window.png"))


def test_scenario_without_coordinates_still_answers_from_the_lists(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_page(f"/?scenario=teaching#token={service.token}")
    page.locator("#status", has_text="loaded").wait_for()
    assert "no coordinates" in page.inner_text("#map-note")
    places = page.locator("#from option:not([value=''])").all_inner_texts()
    document = service.api("GET", "/v1/scenarios/teaching").json()
    assert len(places) == len(document["nodes"])
    first, last = document["nodes"][0]["id"], document["nodes"][-1]["id"]
    page.select_option("#from", first)
    page.select_option("#to", last)
    page.uncheck("#disjoint")
    page.click("#find-routes")
    page.wait_for_selector(".route-card")
    expected = service.api(
        "POST",
        "/v1/scenarios/teaching/routes",
        {"from": first, "to": last, "alternatives": 3},
    ).json()["routes"][0]
    assert page.locator(".route-card .survival").first.inner_text() == probability(
        expected["survival_probability"], expected["survival_range"]
    )
    assert watch.page_errors == []


SPEC_PLAN = {
    "egress_time_min": 181,
    "total_population": 30000,
    "evacuated": 26000,
    "stranded": 4000,
    "method": "fast",
    "movements": [
        {
            "from": "as-sukkari",
            "to": "al-rashideen",
            "count": 16000,
            "depart_min": 0,
            "arrive_min": 150,
            "nodes": ["as-sukkari", "ramouseh-crossing", "al-rashideen"],
        },
        {
            "from": "al-amiriyeh",
            "to": "al-rashideen",
            "count": 10000,
            "depart_min": 5,
            "arrive_min": 181,
            "nodes": ["al-amiriyeh", "ramouseh-crossing", "al-rashideen"],
        },
    ],
    "bottlenecks": [{"edge": "al-rashideen--ramouseh-crossing", "saturated_minutes": 120}],
    "consents_needed": ["opposition"],
}


def test_plan_movements_and_bottlenecks_are_listed_drawn_and_exported(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    """The page's reading of a PLAN (SPEC §3), whatever the planner behind it computes."""
    page, watch = open_aleppo(open_page, service)
    sent: list[Any] = []

    def answer(route: Any) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(SPEC_PLAN))

    page.route("**/v1/scenarios/*/plans", answer)
    page.select_option("#window", "pause-2016-12-15-48h")
    page.select_option("#method", "fast")
    page.click("#make-plan")
    page.wait_for_selector("#movements-table")
    # The plan is asked with the profile chosen in the route form (default general).
    assert sent == [{"window": "pause-2016-12-15-48h", "method": "fast", "profile": "general"}]
    summary = page.inner_text(".plan-summary")
    assert "26,000 of 30,000" in summary
    assert "fast, not proven optimal" in summary  # SPEC's PLAN has no `optimal`
    assert "181 min" in summary
    assert "Armed opposition groups" in summary
    corridors = page.locator("#corridors-table tbody tr")
    assert corridors.count() == 2
    assert corridors.nth(0).locator("th, td").all_inner_texts() == [
        "as-Sukkari → ar-Ramouseh crossing → al-Rashideen (Rashidin)",
        "16,000",
        "0",
        "150",
    ]
    movements = page.locator("#movements-table tbody tr")
    assert movements.count() == 2
    assert movements.nth(0).inner_text().split("\t")[:4] == [
        "as-Sukkari → al-Rashideen (Rashidin)",
        "16,000",
        "0",
        "150",
    ]
    bottleneck = page.inner_text("#bottlenecks-table tbody")
    assert "al-rashideen--ramouseh-crossing" in bottleneck
    assert "120" in bottleneck
    assert "26,000 of 30,000 people" in page.inner_text("#status")
    with page.expect_download() as info:
        page.click("#export-plan")
    collection = json.loads(Path(info.value.path()).read_text())
    kinds = [f["properties"]["kind"] for f in collection["features"]]
    assert kinds == ["movement", "movement", "bottleneck"]
    assert collection["features"][0]["properties"]["count"] == 16000
    assert collection["features"][2]["geometry"]["type"] == "LineString"
    assert collection["properties"]["evacuated"] == 26000
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-aleppo-plan.png"))
    assert watch.page_errors == []


TOWN = {
    "schema": "safe-passage/scenario@1",
    "name": "Map page town",
    "as_of": "2024-03-01T12:00:00+00:00",
    "parties": [
        {"id": "north", "name": "Northern militia", "consent": "granted"},
        {"id": "south", "name": "Southern army", "consent": "refused"},
    ],
    "nodes": [
        {"id": "old-town", "name": "Old Town", "kind": "district", "lat": 10.0, "lon": 20.0,
         "population": 500, "controlled_by": "north"},
        {"id": "harbour", "name": "Harbour", "kind": "district", "lat": 10.0, "lon": 20.01,
         "controlled_by": "south"},
        {"id": "camp", "name": "Camp", "kind": "safe_zone", "lat": 10.01, "lon": 20.005},
    ],
    "edges": [
        {"id": "old-town-harbour", "from": "old-town", "to": "harbour", "length_m": 1100,
         "risk": 0.004, "status": "blocked"},
        {"id": "old-town-camp", "from": "old-town", "to": "camp", "length_m": 1300,
         "risk": 0.003, "controlled_by": "north", "checkpoint": "north"},
        {"id": "harbour-camp", "from": "harbour", "to": "camp", "length_m": 1300, "risk": 0.03},
    ],
    "incidents": [
        {"id": "i1", "kind": "shelling", "lat": 10.005, "lon": 20.0075, "radius_m": 200,
         "severity": 0.1, "confidence": 0.5, "observed_at": "2024-03-01T07:00:00+00:00",
         "half_life_h": 12, "source": "field report"},
    ],
}  # fmt: skip


def test_symbols_read_without_colour_blocked_checkpoint_incident_age(
    open_page: OpenPage, service: Service
) -> None:
    created = service.api("POST", "/v1/scenarios", TOWN)
    assert created.status_code == 201, created.text
    scenario = created.json()["id"]
    page, watch = open_page(f"/?scenario={scenario}#token={service.token}")
    page.locator("#status", has_text="loaded").wait_for()
    # District areas: one shaded cell per district, filled with its party's texture.
    cells = page.locator(".leaflet-cells-pane path")
    assert cells.count() == 2
    fills = sorted(cells.nth(i).get_attribute("fill") or "" for i in range(2))
    assert fills == ["url(#party-0)", "url(#party-1)"]
    # Roads: blocked is dashed whatever the colour; the open roads are solid.
    dashes = page.eval_on_selector_all(
        ".leaflet-overlay-pane path.road",
        "paths => paths.map(p => p.getAttribute('stroke-dasharray'))",
    )
    assert sorted(d or "" for d in dashes) == ["", "", "7 6"]
    assert page.get_attribute("path.road-blocked", "stroke-dasharray") == "7 6"
    # The checkpoint is a labelled symbol on its road; the incident says how old it is.
    assert page.locator("#map .checkpoint-icon").inner_text() == "CP"
    assert "Northern militia" in (page.get_attribute("#map .checkpoint-icon", "title") or "")
    assert page.locator("#map .incident-icon").inner_text() == "⚠ shelling · 5 h ago"
    assert "Seen 5 h ago" in (page.get_attribute("#map .incident-icon", "title") or "")
    safe_zone = page.locator('[data-node="camp"]')
    assert safe_zone.inner_text() == "SZ"
    assert page.get_attribute('[data-node="camp"]', "title") == "Camp (safe zone)"
    assert watch.console_errors == []
