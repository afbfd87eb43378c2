"""Negotiation commands: route --alternatives/--disjoint/--pareto, parties, brief, incidents."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import app

ROOT = Path(__file__).resolve().parents[1]
TEACHING = str(ROOT / "graphs" / "teaching.json")
ALEPPO = ROOT / "graphs" / "aleppo-2016-12.json"

runner = CliRunner()


AS_OF = "2025-03-01T08:00:00+00:00"
"""The teaching scenario's own time: its shelling report (10:00) has not happened yet, which
these answers are written for (without --at a question is asked at the newest report)."""


def run(*args: str) -> tuple[int, Any]:
    if args[0] in ("route", "parties") and "--at" not in args:
        args = (*args, "--at", AS_OF)
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def survival(doc: dict[str, Any], route: dict[str, Any]) -> float:
    risk = {e["id"]: e.get("risk", 0.0) for e in doc["edges"]}
    return math.prod(1 - risk[e] for e in route["edges"])


def test_alternatives_are_ranked_and_apart() -> None:
    base = ["route", TEACHING, "--from", "hilltop", "--to", "camp", "--alternatives", "3"]
    code, answer = run(*base)
    assert code == 0
    routes = answer["routes"]
    assert [r["nodes"] for r in routes] == [
        ["hilltop", "mill", "ford", "camp"],
        ["hilltop", "mill", "square", "camp"],  # shares hilltop--mill: 15 of 33 min
        ["hilltop", "square", "camp"],  # shares camp--square with the second: 10 of 20 min
    ]
    assert [r["overlap_with_safer"] for r in routes] == pytest.approx([0.0, 15 / 33, 0.5])
    assert [r["survival_probability"] for r in routes] == sorted(
        (r["survival_probability"] for r in routes), reverse=True
    )
    assert answer["unavoidable_roads"] == []
    # A tighter bound leaves out the second.
    code, answer = run(*base, "--max-overlap", "0.4")
    assert [r["nodes"][1] for r in answer["routes"]] == ["mill", "square"]


def test_disjoint_pair_and_joint_survival() -> None:
    doc = json.loads(Path(TEACHING).read_text())
    code, answer = run("route", TEACHING, "--from", "hilltop", "--to", "camp", "--disjoint")
    assert code == 0
    first, second = answer["routes"]
    assert not set(first["edges"]) & set(second["edges"])
    assert answer["joint_survival_probability"] == pytest.approx(
        survival(doc, first) * survival(doc, second)
    )


def test_no_disjoint_pair_names_the_shared_road_and_exits_3() -> None:
    code, problem = run("route", TEACHING, "--from", "riverside", "--to", "camp", "--disjoint")
    assert code == 3
    assert problem["type"].endswith("/no-disjoint-pair")
    assert [r["edge"] for r in problem["shared_roads"]] == ["riverside--square"]


def test_pareto_front_has_no_dominated_member() -> None:
    code, answer = run("route", TEACHING, "--from", "hilltop", "--to", "camp", "--pareto")
    assert code == 0 and answer["pareto"] is True and answer["front_complete"] is True
    routes = answer["routes"]
    assert answer["front_size"] == len(routes) == 3
    assert [r["travel_time_min"] for r in routes] == [40.0, 33.0, 20.0]
    for a in routes:
        for b in routes:
            assert not (
                a is not b
                and a["survival_probability"] >= b["survival_probability"]
                and a["travel_time_min"] <= b["travel_time_min"]
            )


def test_only_one_kind_of_route_answer_at_a_time() -> None:
    result = runner.invoke(
        app, ["route", TEACHING, "--from", "hilltop", "--to", "camp", "--disjoint", "--pareto"]
    )
    assert result.exit_code == 2


def test_consenting_only_and_avoid_party_change_the_route() -> None:
    base = ["route", TEACHING, "--from", "hilltop", "--to", "camp"]
    assert run(*base)[1]["routes"][0]["consents_needed"] == ["north"]
    for extra in (["--consenting-only"], ["--avoid-party", "north"]):
        code, answer = run(*base, *extra)
        assert code == 0
        assert answer["routes"][0]["nodes"] == ["hilltop", "mill", "square", "camp"]
        assert answer["routes"][0]["consents_needed"] == []


def answer_of(*args: str) -> tuple[int, Any]:
    """Exit code and JSON answer of a command, asked at the scenario's own time."""
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_aleppo_consenting_only_has_no_route_out_of_a_district_held_without_consent() -> None:
    """as-Sukkari → al-Rashideen: route, parties, plan and --consenting-only agree that the
    holder of a district must consent for its people to leave (expectations from the data)."""
    doc = json.loads(ALEPPO.read_text("utf-8"))
    holder = {n["id"]: n.get("controlled_by") for n in doc["nodes"]}
    consent = {p["id"]: p["consent"] for p in doc["parties"]}
    origin, destination = "as-sukkari", "al-rashideen"
    assert holder[origin] is not None and consent[holder[origin]] != "granted"
    places = [
        {
            "node": node,
            "role": role,
            "held_by": holder[node],
            "reasons": [
                f"{role} {node!r} is held by {holder[node]!r}, which has not granted consent"
            ],
        }
        for role, node in (("origin", origin), ("destination", destination))
        if holder[node] is not None and consent[holder[node]] != "granted"
    ]
    base = ["route", str(ALEPPO), "--from", origin, "--to", destination]

    # Without --consenting-only: a route, needing the consent of the origin's holder.
    code, answer = answer_of(*base)
    assert code == 0
    [route] = answer["routes"]
    held = {holder[n] for n in route["nodes"]} | set(route["checkpoints"])
    held |= {e["controlled_by"] for e in doc["edges"] if e["id"] in route["edges"]}
    expected = {p for p in held if p is not None and consent[p] != "granted"}
    assert set(route["consents_needed"]) == expected and holder[origin] in expected

    # With it: no route (exit 3), the cut naming the origin held without consent.
    result = runner.invoke(app, [*base, "--consenting-only", "--json"])
    assert result.exit_code == 3
    problem = json.loads(result.stdout)
    assert problem["type"] == "/problems/no-route"
    assert problem["cut"]["places"] == places
    assert places[0]["reasons"][0] in problem["detail"]
    human = runner.invoke(app, [*base, "--consenting-only"])
    assert human.exit_code == 3 and places[0]["reasons"][0] in human.stderr

    # The parties analysis: nothing today, as --consenting-only says.
    code, analysis = answer_of("parties", str(ALEPPO), "--from", origin, "--to", destination)
    assert code == 0 and analysis["today"] is None
    assert holder[origin] in analysis["safest_needs"]

    # Plans: consenting only, nobody leaves a district whose holder has not consented; the
    # holder's consent is the opening that lets them leave. Without a ranking, when nobody
    # at all can leave, there is no plan (exit 3).
    people = {n["id"]: n.get("population", 0) for n in doc["nodes"] if n.get("kind") != "safe_zone"}
    without_consent = sum(
        count
        for node, count in people.items()
        if holder[node] is not None and consent[holder[node]] != "granted"
    )
    if without_consent == sum(people.values()):
        result = runner.invoke(app, ["plan", str(ALEPPO), "--consenting-only", "--json"])
        assert result.exit_code == 3
        assert json.loads(result.stdout)["type"] == "/problems/nothing-to-evacuate"
    result = runner.invoke(
        app, ["plan", str(ALEPPO), "--consenting-only", "--rank-openings", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    for movement in plan["movements"]:
        assert all(holder[n] is None or consent[holder[n]] == "granted" for n in movement["nodes"])
    assert plan["stranded"] >= without_consent and plan["consents_needed"] == []
    rows = plan["concessions"]["rows"]
    [opening] = [o for o in rows if o["kind"] == "party" and o["what"] == holder[origin]]
    assert opening["people_gained"] >= people[origin] > 0
    assert rows[0] == opening


def test_parties_says_whose_agreement_opens_the_safest_route() -> None:
    code, answer = run("parties", TEACHING, "--from", "hilltop", "--to", "camp")
    assert code == 0
    assert answer["safest_needs"] == ["north"]
    assert answer["today"]["nodes"] == ["hilltop", "mill", "square", "camp"]
    assert answer["survival_gain"] == pytest.approx(
        answer["safest"]["survival_probability"] - answer["today"]["survival_probability"]
    )
    assert answer["survival_gain"] > 0.1
    assert [o["agreements"] for o in answer["options"]] == [[], ["north"]]


def test_brief_in_markdown_json_and_html() -> None:
    # Ten hours after the shelling of ford--mill (half-life 6 h) the ford route is safest again.
    args = ["brief", TEACHING, "--from", "hilltop", "--to", "camp", "--window", "pause-1"]
    args += ["--at", "2025-03-01T20:00:00+00:00"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    md = result.stdout
    for heading in (
        "## The answer",
        "## The request",
        "## Corridor A (proposed): Hilltop",
        "## Checkpoints and crossings",
        "## Parties that must agree",
        "## If a party refuses",
        "## Humanitarian notification",
        "## What the estimate rests on",
        "## Assumed figures",
        "## Limits of these figures",
    ):
        assert heading in md
    assert "NOT FOR OPERATIONAL USE" in md  # the teaching network is illustrative
    assert "**People:** 1,200" in md
    code, brief = run(*args)
    assert code == 0 and brief["markdown"] == md
    assert brief["consents_needed"] == ["north"]
    assert brief["window"]["id"] == "pause-1"
    refusals = {r["party"]: r for r in brief["if_a_party_refuses"]}
    assert set(refusals) == {"east", "north"}
    assert refusals["north"]["fallback"]["nodes"] == ["hilltop", "mill", "square", "camp"]
    assert refusals["east"]["fallback"] is None  # Hilltop is the east's ground
    (incident,) = brief["inputs"]["incidents"]
    assert incident["id"] == "shelling-ford" and incident["source"] == "invented for teaching"
    assert incident["age_h"] == 10.0
    assert incident["added_risk"] == pytest.approx(0.4 * 0.5 * 0.5 ** (10 / 6))
    (row,) = brief["notification"]
    assert row["people"] == 1200
    assert [(x["edge"], x["party"]) for x in row["checkpoints"]] == [("ford--mill", "north")]
    html = runner.invoke(app, [*args, "--format", "html"])
    assert html.exit_code == 0 and html.stdout.startswith("<!DOCTYPE html>")
    assert "NOT FOR OPERATIONAL USE" in html.stdout and "1,200" in html.stdout
    as_json = runner.invoke(app, [*args, "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == brief
    clash = runner.invoke(app, [*args, "--json", "--format", "html"])
    assert clash.exit_code == 2


def test_brief_at_the_window_start_avoids_the_fresh_shelling() -> None:
    code, brief = run("brief", TEACHING, "--from", "hilltop", "--to", "camp", "--window", "pause-1")
    assert code == 0
    assert brief["evaluated_at"] == "2025-03-01T10:00:00+00:00"
    assert brief["corridors"][0]["route"]["nodes"] == ["hilltop", "mill", "square", "camp"]
    # 1,200 people at 10 per minute enter at minutes 0 … 119 and walk 33 min: the last
    # arrives at minute 152 (13:32), within the 180-minute window.
    assert brief["corridors"][0]["last_arrival_min"] == 152
    assert brief["corridors"][0]["last_arrival"]["at"] == "2025-03-01T12:32:00+00:00"
    assert brief["verdict"]["status"] == "fits"
    assert brief["verdict"]["recommended_window_min"] == 152


def test_brief_for_an_unknown_window_is_a_usage_error() -> None:
    code, problem = run("brief", TEACHING, "--from", "hilltop", "--to", "camp", "--window", "x")
    assert code == 2 and problem["errors"][0]["pointer"] == "/window"


REPORTS = (
    "event_id_cnty,event_date,sub_event_type,roads,severity,confidence,source\n"
    "T1,2025-03-01T07:00:00+00:00,Shelling/artillery/missile attack,camp--ford,0.3,1,monitor\n"
)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "teaching.json"
    shutil.copy(TEACHING, path)
    return path


def test_incidents_import_changes_the_route_and_decays(scenario: Path, tmp_path: Path) -> None:
    base = ["route", str(scenario), "--from", "hilltop", "--to", "camp"]
    assert run(*base)[1]["routes"][0]["nodes"][-2] == "ford"
    reports = tmp_path / "reports.csv"
    reports.write_text(REPORTS)
    code, report = run("incidents", "import", str(scenario), str(reports))
    assert code == 0 and report["imported"] == 1 and report["ids"] == ["T1"]
    doc = json.loads(scenario.read_text())
    assert doc["incidents"][-1]["id"] == "T1" and doc["name"] == "Teaching network"
    assert run(*base)[1]["routes"][0]["nodes"][-2] == "square"
    later = run(*base, "--at", "2025-03-08T08:00:00+00:00")[1]
    assert later["routes"][0]["nodes"][-2] == "ford"


def test_a_file_with_a_bad_row_imports_nothing_unless_skip_bad(
    scenario: Path, tmp_path: Path
) -> None:
    before = scenario.read_text()
    reports = tmp_path / "reports.csv"
    reports.write_text(REPORTS + "T2,sometime,Armed clash,camp--ford,0.1,1,monitor\n")
    code, problem = run("incidents", "import", str(scenario), str(reports))
    assert code == 1
    assert [e["pointer"] for e in problem["errors"]] == ["/rows/3/event_date"]
    assert scenario.read_text() == before
    out = tmp_path / "updated.yaml"
    code, report = run(
        "incidents", "import", str(scenario), str(reports), "--skip-bad", "-o", str(out)
    )
    assert code == 0 and report["ids"] == ["T1"] and report["bad"] == ["row 3"]
    assert scenario.read_text() == before
    assert run("validate", str(out))[1]["incidents"] == 2


def test_profile_changes_the_route() -> None:
    base = ["route", TEACHING, "--from", "hilltop", "--to", "camp"]
    walkers = run(*base)[1]["routes"][0]
    men = run(*base, "--profile", "military_age_men")[1]["routes"][0]
    # The north's checkpoint on ford--mill adds detention risk for men of military age.
    assert walkers["nodes"] == ["hilltop", "mill", "ford", "camp"]
    assert men["nodes"] == ["hilltop", "mill", "square", "camp"]
