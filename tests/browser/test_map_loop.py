"""The negotiation loop on the map page (SPEC §5): a planner changes roads, places and
consents with a reason, saves a version or a what-if, compares two variants and reads the
history; a viewer sees none of the editing controls. Each flow is checked against the API."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.browser.conftest import OpenPage, Service
from tests.browser.figures import probability

ALEPPO = "aleppo-2016-12"
FROM, TO = "as-sukkari", "bustan-al-qaser"
NBSP = "\u00a0"


def percent(p: float) -> str:
    return f"{p * 100:.2f}{NBSP}%"


def fresh_copy(service: Service) -> str:
    """A what-if of the Aleppo scenario of this test's own, so that edits touch nothing else."""
    made = service.api(
        "POST", f"/v1/scenarios/{ALEPPO}/forks", {"name": f"loop {uuid.uuid4().hex[:10]}"}
    )
    assert made.status_code == 201, made.text
    sid: str = made.json()["id"]
    return sid


def safest(service: Service, sid: str, version: int | None = None) -> dict[str, Any]:
    query = f"?version={version}" if version else ""
    answer = service.api("POST", f"/v1/scenarios/{sid}/routes{query}", {"from": FROM, "to": TO})
    assert answer.status_code == 200, answer.text
    route: dict[str, Any] = answer.json()["routes"][0]
    return route


def road_of(service: Service, sid: str, road: str) -> dict[str, Any]:
    doc = service.api("GET", f"/v1/scenarios/{sid}").json()
    found: dict[str, Any] = next(e for e in doc["edges"] if e["id"] == road)
    return found


def versions(service: Service, sid: str) -> list[dict[str, Any]]:
    answer = service.api("GET", f"/v1/scenarios/{sid}/versions")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["versions"]
    return found


def open_scenario(open_page: OpenPage, service: Service, sid: str, token: str | None = None) -> Any:
    page, watch = open_page(f"/?scenario={sid}#token={token or service.token}")
    page.wait_for_selector(f'[data-node="{FROM}"]')
    page.locator("#status", has_text="loaded").wait_for()
    page.locator("#history-table tbody tr").first.wait_for()
    return page, watch


def click_road(page: Any, road: str) -> None:
    """A real mouse click on the middle of the drawn road (not the middle of its box), once
    the map has settled and nothing else is drawn over that point."""
    point = None
    for _ in range(50):
        point = page.eval_on_selector(
            f'path[data-road="{road}"]',
            """p => { const at = p.getPointAtLength(p.getTotalLength() / 2);
                      const m = p.getScreenCTM();
                      const x = at.x * m.a + at.y * m.c + m.e, y = at.x * m.b + at.y * m.d + m.f;
                      return document.elementFromPoint(x, y) === p ? [x, y] : null; }""",
        )
        if point:
            break
        page.wait_for_timeout(100)
    assert point, f"road {road} is covered on the map"
    page.mouse.click(point[0], point[1])
    page.locator("#edit-target h3", has_text=road).wait_for()


def test_a_road_closed_with_a_reason_is_a_new_version_and_the_route_avoids_it(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    before = safest(service, sid)
    road = before["edges"][len(before["edges"]) // 2]
    page, watch = open_scenario(open_page, service, sid)
    assert page.is_visible("#edit-form")

    # Close the road.
    click_road(page, road)
    page.select_option("#road-status", "blocked")
    page.click("#road-add")
    # Report an incident at a place, and a party's consent.
    page.check("#place-mode")
    page.click('[data-node="al-ansari"]')
    page.locator("#edit-target h3", has_text="Place:").wait_for()
    page.fill("#inc-kind", "sniper fire")
    page.fill("#inc-severity", "30")
    page.fill("#inc-radius", "250")
    page.click("#incident-add")
    page.uncheck("#place-mode")
    page.select_option("#consent-party", "opposition")
    page.select_option("#consent-value", "granted")
    page.click("#consent-add")
    assert page.locator("#pending-list li").count() == 3
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-loop-edit-pending.png"))

    # Without a reason nothing is sent.
    page.click("#save-version")
    assert "Say why" in page.inner_text("#edit-problem")
    assert len(versions(service, sid)) == 1
    reason = "Road shelled 09:10, field team report; opposition agrees to the pause"
    page.fill("#edit-reason", reason)
    page.click("#save-version")
    page.locator("#status", has_text="Saved as version 2").wait_for()

    listed = versions(service, sid)
    assert [v["version"] for v in listed] == [1, 2]
    made = listed[1]
    me = service.api("GET", "/v1/whoami").json()["name"]
    assert (made["kind"], made["author"], made["reason"]) == ("edited", me, reason)
    assert [e["op"] for e in made["edits"]] == ["set_road", "add_incident", "set_party"]
    assert made["edits"][0] == {"op": "set_road", "road": road, "status": "blocked"}
    incident = made["edits"][1]["incident"]
    assert (incident["kind"], incident["severity"], incident["radius_m"]) == (
        "sniper fire",
        0.3,
        250,
    )
    assert road_of(service, sid, road)["status"] == "blocked"

    # The history on the page says who, when and why.
    newest = page.locator("#history-table tbody tr").first
    assert newest.get_attribute("data-version") == "2"
    assert newest.locator(".who-col").inner_text() == me
    assert newest.locator(".why-col").inner_text() == reason
    assert road in newest.locator(".what-col").inner_text()
    # The map draws the road closed, and the nothing-pending list is empty again.
    assert "road-blocked" in (page.get_attribute(f'path[data-road="{road}"]', "class") or "")
    assert page.locator("#pending-list li").count() == 0

    # The route now avoids the closed road, on the page as in the API.
    page.click(f'[data-node="{FROM}"]')
    page.click(f'[data-node="{TO}"]')
    page.wait_for_selector(".route-card")
    after = safest(service, sid)
    assert road not in after["edges"]
    assert page.locator(".route-card .survival").first.inner_text() == probability(
        after["survival_probability"], after["survival_range"]
    )
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-loop-edited-route.png"))
    assert watch.outside_requests() == []
    assert watch.page_errors == []


def test_a_stale_edit_is_not_saved_and_the_page_shows_what_changed_meanwhile(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    route = safest(service, sid)
    mine, theirs = route["edges"][0], route["edges"][-1]
    page, watch = open_scenario(open_page, service, sid)

    # Another planner edits version 1 through the API while this page holds version 1.
    other = service.create_token("planner", name="field desk")
    meanwhile = service.api(
        "POST",
        f"/v1/scenarios/{sid}/edits",
        {"reason": "Checkpoint reported at dawn", "edits": [
            {"op": "set_road", "road": theirs, "checkpoint": "ypg"}]},
        token=other,
        headers={"If-Match": '"1"'},
    )  # fmt: skip
    assert meanwhile.status_code == 200, meanwhile.text

    click_road(page, mine)
    page.fill("#road-risk", "4")
    page.click("#road-add")
    page.fill("#edit-reason", "Sniper seen on the road")
    page.click("#save-version")
    conflict = page.locator("#conflict")
    conflict.wait_for(state="visible")
    text = conflict.inner_text()
    assert "You were editing version 1; version 2 is now the current one" in text
    assert "field desk" in text and "Checkpoint reported at dawn" in text
    item = page.locator(f'#conflict-changes li[data-id="{theirs}"]').inner_text()
    assert item.startswith("road ") and item.endswith(": checkpoint — → ypg")
    expected = service.api("GET", f"/v1/scenarios/{sid}/diff?from=1&to=2").json()["changes"]
    assert page.locator("#conflict-changes li").count() == len(expected)
    # Nothing of this page was saved; its change is kept; the page now holds version 2.
    assert len(versions(service, sid)) == 2
    assert page.locator("#pending-list li").count() == 1
    page.locator("#status", has_text="version 2 was saved while you edited version 1").wait_for()
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-loop-conflict.png"))

    # Saving again applies it on top of the other planner's version.
    page.fill("#edit-reason", "Sniper seen on the road")
    page.click("#save-version")
    page.locator("#status", has_text="Saved as version 3").wait_for()
    assert conflict.is_hidden()
    assert road_of(service, sid, mine)["risk"] == 0.04
    assert road_of(service, sid, theirs)["checkpoint"] == "ypg"
    assert watch.page_errors == []


def test_a_what_if_fork_takes_the_changes_and_leaves_its_parent_unchanged(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    road = safest(service, sid)["edges"][0]
    before = road_of(service, sid, road)
    page, watch = open_scenario(open_page, service, sid)
    click_road(page, road)
    page.select_option("#road-status", "blocked")
    page.fill("#road-capacity", "15")
    page.select_option("#road-controller", "opposition")
    page.click("#road-add")
    page.fill("#edit-reason", "What if the opposition takes and closes this road?")
    page.fill("#fork-name", f"{sid} opposition closes")
    page.click("#save-fork")
    page.locator("#status", has_text="What-if made").wait_for()

    forks = service.api("GET", f"/v1/scenarios/{sid}/forks").json()["forks"]
    assert len(forks) == 1
    fork = forks[0]["id"]
    assert f"scenario={fork}" in page.url
    assert page.input_value("#scenario") == fork
    # The parent: one version, the road as it was.
    assert len(versions(service, sid)) == 1
    assert road_of(service, sid, road) == before
    # The fork: forked, then edited with the reason; the road changed.
    listed = versions(service, fork)
    assert [v["kind"] for v in listed] == ["forked", "edited"]
    assert listed[1]["reason"] == "What if the opposition takes and closes this road?"
    changed = road_of(service, fork, road)
    assert (changed["status"], changed["capacity_per_min"], changed["controlled_by"]) == (
        "blocked", 15, "opposition"
    )  # fmt: skip
    # The page shows the fork's history and offers parent against what-if to compare.
    assert page.locator("#history-table tbody tr").count() == 2
    assert page.input_value("#cmp-a-scenario") == sid
    page.locator("#cmp-a-version option").first.wait_for(state="attached")
    assert page.input_value("#cmp-b-scenario") == fork
    assert page.input_value("#cmp-b-version") == "2"
    assert watch.page_errors == []


def test_two_versions_compared_on_the_map_with_the_difference_of_the_api(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    road = safest(service, sid)["edges"][1]
    closed = service.api(
        "POST",
        f"/v1/scenarios/{sid}/edits",
        {"reason": "Bridge down", "edits": [{"op": "set_road", "road": road, "status": "blocked"}]},
        headers={"If-Match": '"1"'},
    )
    assert closed.status_code == 200, closed.text
    page, watch = open_scenario(open_page, service, sid)
    page.select_option("#from", FROM)
    page.select_option("#to", TO)
    # This scenario is itself a what-if of Aleppo: A starts as the parent; choose version 1 of
    # this one instead, against its version 2.
    page.locator("#cmp-b-version option").first.wait_for(state="attached")
    assert page.input_value("#cmp-a-scenario") == ALEPPO
    assert (page.input_value("#cmp-b-scenario"), page.input_value("#cmp-b-version")) == (sid, "2")
    page.select_option("#cmp-a-scenario", sid)
    page.locator("#cmp-a-version option", has_text="Bridge down").wait_for(state="attached")
    page.select_option("#cmp-a-version", "1")
    page.click("#compare-run")
    page.wait_for_selector("#compare-table")
    heading = page.inner_text("#compare-table thead")
    assert f"{sid}, version 1" in heading and f"{sid}, version 2" in heading

    question = {"kind": "route", "from": FROM, "to": TO, "profile": page.input_value("#profile")}
    body = {"a": {"scenario": sid, "version": 1}, "b": {"scenario": sid, "version": 2}}
    expected = service.api("POST", "/v1/compare", {**body, "question": question}).json()
    diff = expected["difference"]
    assert road in diff["roads_only_in_a"]

    def cell(key: str, side: str) -> Any:
        return page.locator(f'#compare-table tr[data-key="{key}"] td[data-side="{side}"]')

    for side in ("a", "b"):
        first = expected[side]["routes"][0]
        shown = cell("survival_probability", side)
        assert shown.inner_text() == percent(first["survival_probability"])
        assert json.loads(shown.get_attribute("data-value")) == first["survival_probability"]
        value = cell("travel_time_min", side).get_attribute("data-value")
        assert json.loads(value) == first["travel_time_min"]
    for key in ("survival_probability", "travel_time_min"):
        assert json.loads(cell(key, "diff").get_attribute("data-value")) == diff[key]
    points = diff["survival_probability"] * 100
    assert cell("survival_probability", "diff").inner_text() == (
        f"{'+' if points > 0 else '−'}{abs(points):.2f}{NBSP}points"
    )
    only_a = json.loads(cell("roads_only", "a").get_attribute("data-value"))
    only_b = json.loads(cell("roads_only", "b").get_attribute("data-value"))
    assert (only_a, only_b) == (diff["roads_only_in_a"], diff["roads_only_in_b"])
    # Both routes drawn, in two colours, each with its letter.
    a_line = page.locator(".leaflet-routes-pane path.compare-a")
    b_line = page.locator(".leaflet-routes-pane path.compare-b")
    assert (a_line.count(), b_line.count()) == (1, 1)
    assert a_line.get_attribute("stroke") != b_line.get_attribute("stroke")
    assert b_line.get_attribute("stroke-dasharray") == "12 8"
    assert page.locator(".compare-pin").all_inner_texts() == ["A", "B"]

    # The diff of the two versions, from the history.
    page.select_option("#diff-from", "1")
    page.select_option("#diff-to", "2")
    page.click("#diff-run")
    row = page.locator(f'#diff-table tr[data-id="{road}"]')
    row.wait_for()
    assert row.locator("td").all_inner_texts() == ["changed", "status", "open", "blocked"]
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-loop-compare.png"))
    assert watch.outside_requests() == []
    assert watch.page_errors == []


def test_two_plans_compared_on_the_map_with_the_difference_of_the_api(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    # Close every road out of al-Amiriyeh, where most of the people who get out leave from.
    out_of = [e["id"] for e in service.api("GET", f"/v1/scenarios/{sid}").json()["edges"]
              if "al-amiriyeh" in e["id"].split("--")]  # fmt: skip
    edits = [{"op": "set_road", "road": r, "status": "blocked"} for r in out_of]
    closed = service.api("POST", f"/v1/scenarios/{sid}/edits", {"reason": "Amiriyeh cut off",
                         "edits": edits}, headers={"If-Match": '"1"'})  # fmt: skip
    assert closed.status_code == 200, closed.text
    page, _ = open_scenario(open_page, service, sid)
    page.locator("#cmp-b-version option").first.wait_for(state="attached")
    page.select_option("#cmp-a-scenario", sid)
    page.locator("#cmp-a-version option", has_text="Amiriyeh cut off").wait_for(state="attached")
    page.select_option("#cmp-a-version", "1")
    page.select_option("#cmp-kind", "plan")
    page.select_option("#window", "pause-2016-12-15-3h")
    page.select_option("#method", "fast")
    page.click("#compare-run")
    page.wait_for_selector("#compare-table")
    assert "Evacuation plan" in page.inner_text("#compare-table caption")

    question = {"kind": "plan", "method": "fast", "window": "pause-2016-12-15-3h"}
    body = {"a": {"scenario": sid, "version": 1}, "b": {"scenario": sid, "version": 2}}
    expected = service.api("POST", "/v1/compare", {**body, "question": question}).json()
    diff = expected["difference"]
    assert diff["evacuated"] < 0  # the cut-off variant gets fewer people out

    def cell(key: str, side: str) -> Any:
        return page.locator(f'#compare-table tr[data-key="{key}"] td[data-side="{side}"]')

    for key in ("evacuated", "egress_time_min", "expected_harm"):
        for side in ("a", "b"):
            assert json.loads(cell(key, side).get_attribute("data-value")) == expected[side][key]
        assert json.loads(cell(key, "diff").get_attribute("data-value")) == diff[key]
    # Both plans drawn, each in its own colour.
    a_lines = page.locator(".leaflet-routes-pane path.compare-a")
    b_lines = page.locator(".leaflet-routes-pane path.compare-b")
    assert a_lines.count() >= 1 and b_lines.count() >= 1
    assert a_lines.first.get_attribute("stroke") != b_lines.first.get_attribute("stroke")
    page.screenshot(path=str(artifacts / "map-loop-compare-plans.png"))


def test_an_edit_the_service_refuses_shows_its_pointers_beside_the_controls(
    open_page: OpenPage, service: Service
) -> None:
    sid = fresh_copy(service)
    road = safest(service, sid)["edges"][0]
    page, _ = open_scenario(open_page, service, sid)
    click_road(page, road)
    page.fill("#road-risk", "150")
    page.click("#road-add")
    page.fill("#edit-reason", "typo")
    page.click("#save-version")
    problem = page.locator("#edit-problem")
    problem.wait_for(state="visible")
    text = problem.inner_text()
    assert "/edits/0/risk" in text and "change 1: Road" in text
    assert len(versions(service, sid)) == 1
    assert page.locator("#pending-list li").count() == 1


def test_a_viewer_sees_the_history_but_no_editing_controls(
    open_page: OpenPage, service: Service, artifacts: Path
) -> None:
    sid = fresh_copy(service)
    road = safest(service, sid)["edges"][0]
    viewer = service.create_token("viewer", name="observer")
    page, watch = open_scenario(open_page, service, sid, token=viewer)
    assert page.inner_text("#who") == "observer (viewer)"
    for hidden in ("#edit-form", "#compare", "#save-version", "#save-fork", "#consent-add"):
        assert page.locator(hidden).is_hidden(), hidden
    assert "planner" in page.inner_text("#readonly-note")
    assert page.is_disabled("#find-routes")
    # Clicking a road opens no editor; the history and the diffs stay readable.
    road_point = page.locator(f'path[data-road="{road}"]')
    assert road_point.count() == 1
    road_point.dispatch_event("click")
    assert page.locator("#edit-target").is_hidden()
    assert page.locator("#history-table tbody tr").count() == 1
    assert page.locator("#history").is_visible()
    # And the API refuses a viewer's edit.
    refused = service.api(
        "POST",
        f"/v1/scenarios/{sid}/edits",
        {"edits": [{"op": "set_road", "road": road, "status": "blocked"}]},
        token=viewer,
        headers={"If-Match": '"1"'},
    )
    assert refused.status_code == 403
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "map-loop-viewer.png"))
    assert watch.page_errors == []
