"""``safe-passage edit`` and ``compare`` on files: the same edits and comparisons as the API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from app.cli import app

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_edit_writes_the_edited_document_and_lists_the_changes(tmp_path: Path) -> None:
    scenario = tmp_path / "teaching.json"
    shutil.copy(GRAPHS / "teaching.json", scenario)
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps({
        "reason": "ford shelled",
        "edits": [{"op": "set_road", "road": "ford--mill", "status": "blocked"},
                  {"op": "set_party", "party": "north", "consent": "granted"}],
    }))  # fmt: skip
    out = tmp_path / "after.json"
    result = run("edit", str(scenario), str(edits), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["output"] == str(out)
    assert {(c["kind"], c["id"], c["field"], c["after"]) for c in answer["changes"]} == {
        ("road", "ford--mill", "status", "blocked"),
        ("party", "north", "consent", "granted"),
    }
    before = json.loads(scenario.read_text())
    after = json.loads(out.read_text())
    assert [e for e in after["edges"] if e["id"] != "ford--mill"] == [
        e for e in before["edges"] if e["id"] != "ford--mill"
    ]
    assert next(e for e in after["edges"] if e["id"] == "ford--mill")["status"] == "blocked"
    # The route of the edited file avoids the closed road.
    route = run("route", str(out), "--from", "mill", "--to", "camp", "--json")
    assert "ford--mill" not in json.loads(route.stdout)["routes"][0]["edges"]


def test_a_bad_edit_exits_1_with_pointers_and_writes_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "teaching.json"
    shutil.copy(GRAPHS / "teaching.json", scenario)
    before = scenario.read_bytes()
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"op": "set_road", "road": "nowhere", "status": "blocked"}]))
    result = run("edit", str(scenario), str(edits), "--json")
    assert result.exit_code == 1
    problem = json.loads(result.stdout)
    assert problem["errors"] == [{"pointer": "/0/road", "detail": "unknown road 'nowhere'"}]
    assert scenario.read_bytes() == before
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"edits": [{"op": "set_place", "place": "camp",
                                              "population": -3}]}))  # fmt: skip
    result = run("edit", str(scenario), str(wrapped), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["pointer"] == "/edits/0/population"


def test_compare_gives_each_side_and_b_minus_a(tmp_path: Path) -> None:
    a = GRAPHS / "teaching.json"
    b = tmp_path / "closed.json"
    shutil.copy(a, b)
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"op": "set_road", "road": "mill--square", "status": "blocked"}]))
    assert run("edit", str(b), str(edits)).exit_code == 0
    result = run("compare", str(a), str(b), "--from", "mill", "--to", "camp", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    single = {
        side: json.loads(run("route", str(p), "--from", "mill", "--to", "camp", "--json").stdout)
        for side, p in (("a", a), ("b", b))
    }
    assert got["a"] == single["a"] and got["b"] == single["b"]
    ra, rb = single["a"]["routes"][0], single["b"]["routes"][0]
    assert got["difference"]["travel_time_min"] == rb["travel_time_min"] - ra["travel_time_min"]
    assert "mill--square" in got["difference"]["roads_only_in_a"]
    plans = run("compare", str(a), str(b), "--window", "pause-1", "--method", "fast", "--json")
    assert plans.exit_code == 0, plans.output
    p = json.loads(plans.stdout)
    assert p["difference"]["evacuated"] == p["b"]["evacuated"] - p["a"]["evacuated"]
    table = run("compare", str(a), str(b), "--from", "mill", "--to", "camp")
    assert "roads only in a: " in table.stdout and "mill--square" in table.stdout


def test_compare_two_fleets_on_one_file_gives_b_minus_a_per_group() -> None:
    aleppo = str(GRAPHS / "aleppo-2016-12.json")
    window = ("--window", "pause-2016-12-15-3h", "--method", "fast")
    result = run("compare", aleppo, aleppo, *window, "--a-fleet", "buses",
                 "--b-fleet", "buses", "--b-fleet", "ambulances", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    single = {
        side: json.loads(run("plan", aleppo, *window, *fleets, "--json").stdout)
        for side, fleets in (
            ("a", ("--fleet", "buses")),
            ("b", ("--fleet", "buses", "--fleet", "ambulances")),
        )
    }
    assert got["a"] == single["a"] and got["b"] == single["b"]
    d = got["difference"]
    for key in ("evacuated", "egress_time_min", "expected_harm"):
        assert d[key] == single["b"][key] - single["a"][key]
    by_group = {side: {g["group"]: g["evacuated"] for g in p["by_group"]}
                for side, p in single.items()}  # fmt: skip
    assert d["evacuated_by_group"] == {
        g: by_group["b"][g] - by_group["a"][g] for g in by_group["a"]
    }
    # The table shows a row per group, in priority order, with b − a.
    table = run("compare", aleppo, aleppo, *window, "--fleet", "buses", "--b-vehicles", "5")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    rows = [line for line in lines if "evacuated: " in line]
    assert [r.split("│")[1].strip() for r in rows] == ["evacuated: wounded", "evacuated: general"]
    assert "vehicles (a): 20 buses" in table.stdout and "vehicles (b): 5 buses" in table.stdout


def test_a_fleet_on_a_route_comparison_exits_with_the_pointer() -> None:
    aleppo = str(GRAPHS / "aleppo-2016-12.json")
    result = run("compare", aleppo, aleppo, "--from", "as-sukkari", "--to", "khan-al-asal",
                 "--b-fleet", "buses", "--json")  # fmt: skip
    assert result.exit_code == 2  # a usage error
    assert json.loads(result.stdout)["errors"][0]["pointer"] == "/b/fleet"
