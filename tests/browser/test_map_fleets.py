"""Fleet plans on the map page (issue 17): fleets chosen with their counts and sizing, the
trips drawn pickup to safe zone, the queue at the checkpoints, people by group (wounded
first), the bottleneck, the sizing answers and the assumptions with their sources. Every
figure is checked against the API's own answer to the same question."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import OpenPage, Service
from tests.browser.figures import NBSP, duration, expected
from tests.browser.test_map_figures import ALEPPO, WINDOW, ask, figure, open_aleppo, sent_to
from tests.browser.test_map_loop import fresh_copy, open_scenario


def clock(start: str, minutes: int) -> str:
    """The clock time ``minutes`` after ``start``, in the window's own offset (same day)."""
    return (datetime.fromisoformat(start) + timedelta(minutes=minutes)).strftime("%H:%M")


def test_a_fleet_plan_with_counts_and_sizing_shows_what_the_api_answers(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    posted = sent_to(page, "/plans")
    scenario = service.api("GET", f"/v1/scenarios/{ALEPPO}").json()
    names = {f["id"]: f["name"] for f in scenario["fleets"]}
    page.select_option("#window", WINDOW)
    page.check(".fleet-pick[value='buses']")
    page.check(".fleet-pick[value='ambulances']")
    page.fill(".fleet-count[data-fleet='buses']", "12")
    page.check("#fleet-sizing")
    assert page.inner_text("#plan-uses").startswith(
        f"Fleet plan with 12 × {names['buses']}; 10 × {names['ambulances']}"
    )
    page.click("#make-plan")
    page.wait_for_selector("#sizing")

    asked = {"method": "optimal", "window": WINDOW, "fleet": ["buses", "ambulances"],
             "vehicles": {"buses": 12}, "sizing": True}  # fmt: skip
    assert posted == [asked]
    plan = ask(service, "plans", asked)
    assert plan["vehicles"] == {"buses": 12, "ambulances": 10}

    # Totals, in the plan's words and the window's clock time.
    assert figure(page, "vehicles") == f"12 × {names['buses']}; 10 × {names['ambulances']}"
    assert figure(page, "evacuated") == f"{plan['evacuated']:,} of {plan['total_population']:,}"
    assert figure(page, "stranded") == f"{plan['stranded']:,}"
    start = plan["window"]["start"]
    egress = plan["egress_time_min"]
    assert figure(page, "egress_time_min") == f"{egress}{NBSP}min ({clock(start, egress)})"
    assert figure(page, "upper_bound_evacuated") == f"{plan['upper_bound_evacuated']:,}"
    assert figure(page, "trips") == str(len(plan["trips"]))
    assert figure(page, "expected_harm") == expected(plan["expected_harm"]) + " people"
    b = plan["bottleneck"]
    assert page.inner_text("#fleet-bottleneck") == f"Bottleneck ({b['kind']}): {b['explanation']}."

    # People by group in priority order: the wounded first.
    rows = page.locator("#groups-table tbody tr")
    groups = [rows.nth(i).get_attribute("data-group") for i in range(rows.count())]
    assert groups == [g["group"] for g in plan["by_group"]] and groups[0] == "wounded"
    for i, g in enumerate(plan["by_group"]):
        cells = rows.nth(i).locator("td")
        assert rows.nth(i).locator("th").inner_text() == g["name"]
        assert [cells.nth(k).inner_text() for k in range(2, 4)] == [
            f"{g['evacuated']:,}",
            f"{g['stranded']:,}",
        ]

    # The queue at each checkpoint: a row and a circle on the map.
    queue = page.locator("#queue-table tbody tr")
    assert [queue.nth(i).get_attribute("data-edge") for i in range(queue.count())] == [
        c["edge"] for c in plan["checkpoints"]
    ]
    for i, c in enumerate(plan["checkpoints"]):
        cells = queue.nth(i).locator("td")
        assert [cells.nth(k).inner_text() for k in range(5)] == [
            f"{c['vehicles']:,}",
            f"{c['people']:,}",
            f"{c['screening_min']:,}",
            f"{c['waiting_min']:,}",
            duration(c["longest_wait_min"]),
        ]
    assert page.locator("path.queue-marker").count() == len(plan["checkpoints"])
    labels = page.locator(".queue-icon span")
    assert sorted(labels.nth(i).inner_text() for i in range(labels.count())) == sorted(
        f"wait ≤ {duration(c['longest_wait_min'])}" for c in plan["checkpoints"]
    )

    # The trips: one line per pickup → safe zone path that carried people.
    paths = {tuple(t["nodes"]) for t in plan["trips"]}
    assert page.locator("path.fleet-path").count() == len(paths)
    assert page.locator("#trips-table tbody tr").count() == min(500, len(plan["trips"]))

    # Sizing: one more vehicle of each fleet, and the fewest vehicles that clear everyone.
    s = plan["sizing"]
    for fleet, row in s["one_more_vehicle"].items():
        sign = "+" if row["gained"] >= 0 else "−"
        text = page.inner_text(f"#sizing li[data-key='one_more_vehicle'][data-fleet='{fleet}']")
        assert text == (
            f"One more of {names[fleet]}: {row['evacuated']:,} evacuated "
            f"({sign}{abs(row['gained']):,})"
        )
    hour = s["one_more_hour"]
    assert f"{hour['evacuated']:,} evacuated" in page.inner_text(
        "#sizing li[data-key='one_more_hour']"
    )

    # Every assumption, with its source (the fleets' figures among them).
    items = page.locator("#plan-assumptions li")
    assert items.count() == len(plan["assumptions"])
    for i, a in enumerate(plan["assumptions"]):
        assert a["quantity"] in items.nth(i).inner_text()
        assert a["source"] in items.nth(i).inner_text()
    assert any(a["quantity"].startswith("fleet 'buses'") for a in plan["assumptions"])

    # The export: a LineString per trip and per checkpoint queue, counts as the API's.
    with page.expect_download() as info:
        page.click("#export-plan")
    collection = json.loads(Path(info.value.path()).read_text())
    trips = [f for f in collection["features"] if f["properties"]["kind"] == "trip"]
    queues = [f for f in collection["features"] if f["properties"]["kind"] == "checkpoint_queue"]
    assert [f["properties"]["count"] for f in trips] == [t["count"] for t in plan["trips"]]
    assert all(f["geometry"]["type"] == "LineString" for f in trips + queues)
    assert [(f["properties"]["edge"], f["properties"]["longest_wait_min"]) for f in queues] == [
        (c["edge"], c["longest_wait_min"]) for c in plan["checkpoints"]
    ]
    assert collection["properties"]["evacuated"] == plan["evacuated"]
    assert watch.page_errors == []
    assert watch.outside_requests() == []


def test_a_fleet_question_the_service_refuses_shows_its_problem(
    open_page: OpenPage, service: Service
) -> None:
    page, watch = open_aleppo(open_page, service)
    page.select_option("#window", WINDOW)
    page.check(".fleet-pick[value='ambulances']")
    page.check("#rank-openings")  # concessions are priced for plans on foot
    page.click("#make-plan")
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    asked: dict[str, Any] = {"method": "optimal", "window": WINDOW, "fleet": ["ambulances"],
                             "rank_openings": True}  # fmt: skip
    refused = service.api("POST", f"/v1/scenarios/{ALEPPO}/plans", asked)
    assert refused.status_code == 422
    for e in refused.json()["errors"]:
        assert e["detail"] in problem.inner_text()
    assert page.locator("#groups-table").count() == 0
    # Unticked again: a plan on foot, as before.
    page.uncheck(".fleet-pick[value='ambulances']")
    page.uncheck("#rank-openings")
    page.click("#make-plan")
    page.wait_for_selector("#movements-table", state="attached")
    assert page.locator("path.fleet-path").count() == 0
    assert watch.page_errors == []


def test_one_fleet_on_two_versions_compared_on_the_map_group_by_group(
    open_page: OpenPage, service: Service
) -> None:
    sid = fresh_copy(service)
    lanes = [{"op": "set_road", "road": "al-amiriyeh--ramouseh-crossing", "screening_lanes": 4}]
    edited = service.api("POST", f"/v1/scenarios/{sid}/edits", {"reason": "Two more lanes",
                         "edits": lanes}, headers={"If-Match": '"1"'})  # fmt: skip
    assert edited.status_code == 200, edited.text
    page, watch = open_scenario(open_page, service, sid)
    page.locator("#cmp-b-version option").first.wait_for(state="attached")
    page.select_option("#cmp-a-scenario", sid)
    page.locator("#cmp-a-version option", has_text="Two more lanes").wait_for(state="attached")
    page.select_option("#cmp-a-version", "1")
    page.select_option("#cmp-kind", "plan")
    page.select_option("#window", WINDOW)
    page.select_option("#method", "fast")
    page.check(".fleet-pick[value='buses']")
    page.check(".fleet-pick[value='ambulances']")
    page.click("#compare-run")
    page.wait_for_selector("#compare-table tr[data-key='vehicles']")

    question = {"kind": "plan", "method": "fast", "window": WINDOW,
                "fleet": ["buses", "ambulances"]}  # fmt: skip
    body = {"a": {"scenario": sid, "version": 1}, "b": {"scenario": sid, "version": 2}}
    answer = service.api("POST", "/v1/compare", {**body, "question": question}).json()
    diff = answer["difference"]

    def value(key: str, side: str) -> Any:
        cell = page.locator(f'#compare-table tr[data-key="{key}"] td[data-side="{side}"]')
        return json.loads(cell.get_attribute("data-value") or "null")

    for key in ("evacuated", "egress_time_min", "expected_harm"):
        assert [value(key, s) for s in ("a", "b")] == [answer["a"][key], answer["b"][key]]
        assert value(key, "diff") == diff[key]
    groups = [g["group"] for g in answer["a"]["by_group"]]
    assert list(diff["evacuated_by_group"]) == groups
    for g in groups:
        by_side = [{x["group"]: x["evacuated"] for x in answer[s]["by_group"]}[g] for s in "ab"]
        assert [value(f"evacuated_by_group.{g}", s) for s in ("a", "b")] == by_side
        assert value(f"evacuated_by_group.{g}", "diff") == by_side[1] - by_side[0]
    # Both fleet plans drawn, each in its own style.
    assert page.locator(".leaflet-routes-pane path.compare-a").count() >= 1
    assert page.locator(".leaflet-routes-pane path.compare-b").count() >= 1
    assert watch.page_errors == []
