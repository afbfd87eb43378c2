"""The bundled scenarios in graphs/: valid, reproducible, and the README's worked example true.

The worked example of graphs/README.md is recomputed here by brute force over all simple
paths (networkx), independently of app.domain, and then compared with the CLI when it exists.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from app.domain.scenario.profiles import BUILTIN_PROFILES
from app.domain.scenario.reading import validate_scenario

REPO = Path(__file__).resolve().parents[1]
GRAPHS = REPO / "graphs"
SCRIPT = REPO / "scripts" / "build_scenarios.py"
DATA = REPO.parent / "shared" / "data" / "aleppo"
ALEPPO = GRAPHS / "aleppo-2016-12.json"
TEACHING = GRAPHS / "teaching.json"
README = GRAPHS / "README.md"

needs_data = pytest.mark.skipif(
    not (DATA / "neighbourhoods.csv").is_file(), reason=f"data pack not found at {DATA}"
)


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- Both files ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ALEPPO, TEACHING], ids=lambda p: p.name)
def test_bundled_scenario_validates(path: Path) -> None:
    scenario = validate_scenario(load(path))
    assert scenario.nodes and scenario.edges


@pytest.mark.parametrize("path", [ALEPPO, TEACHING], ids=lambda p: p.name)
def test_file_is_pretty_json_with_final_newline(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


@needs_data
def test_generator_reproduces_committed_files() -> None:
    result = run_script("--check")
    assert result.returncode == 0, result.stderr


@needs_data
def test_check_mode_fails_when_a_file_differs(tmp_path: Path) -> None:
    assert run_script("--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "aleppo-2016-12.json").read_bytes() == ALEPPO.read_bytes()
    assert run_script("--out", str(tmp_path), "--check").returncode == 0
    edited = tmp_path / "teaching.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("0.03", "0.04"), "utf-8")
    result = run_script("--out", str(tmp_path), "--check")
    assert result.returncode == 1
    assert "teaching.json" in result.stderr


# --- Aleppo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aleppo() -> dict[str, Any]:
    return load(ALEPPO)


def test_aleppo_has_every_neighbourhood_as_a_district(aleppo: dict[str, Any]) -> None:
    districts = [n for n in aleppo["nodes"] if n["kind"] == "district"]
    assert len(districts) == 133
    assert all(isinstance(n["lat"], float) and isinstance(n["lon"], float) for n in districts)
    kinds = {n["id"]: n["kind"] for n in aleppo["nodes"]}
    assert kinds["ramouseh-crossing"] == "crossing"
    assert kinds["al-rashideen"] == kinds["khan-al-asal"] == "safe_zone"


@needs_data
def test_aleppo_districts_match_the_data_pack(aleppo: dict[str, Any]) -> None:
    csv_ids = [
        line.split(",", 1)[0]
        for line in (DATA / "neighbourhoods.csv").read_text("utf-8").splitlines()[1:]
    ]
    districts = {n["id"] for n in aleppo["nodes"] if n["kind"] == "district"}
    assert districts == set(csv_ids)


def test_aleppo_is_connected_ignoring_status(aleppo: dict[str, Any]) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(n["id"] for n in aleppo["nodes"])
    graph.add_edges_from((e["from"], e["to"]) for e in aleppo["edges"])
    assert nx.is_connected(graph)
    bridges = [e for e in aleppo["edges"] if "bridging road" in e.get("notes", "")]
    assert len(bridges) == 3


def test_aleppo_population_is_the_un_estimate(aleppo: dict[str, Any]) -> None:
    populated = [n for n in aleppo["nodes"] if n.get("population", 0) > 0]
    assert sum(n["population"] for n in populated) == 100_000
    assert all(n["population_source"].startswith("estimate:") for n in populated)
    assert all(n["controlled_by"] == "opposition" for n in populated)
    assert len(populated) == 9


def test_aleppo_roads_have_estimated_risks_below_one(aleppo: dict[str, Any]) -> None:
    unknown = 0
    for edge in aleppo["edges"]:
        if "risk" not in edge:  # no damage survey says anything: unknown, and says why
            assert edge["risk_source"].startswith("unknown:"), edge["id"]
            assert "no damage point at either end" in edge["risk_source"]
            unknown += 1
            continue
        assert edge["risk_source"].startswith("estimate:"), edge["id"]
        assert 0.0 <= edge["risk_low"] <= edge["risk"] <= edge["risk_high"] < 1.0, edge["id"]
        assert isinstance(edge["capacity_per_min"], int) and edge["capacity_per_min"] > 0
        assert edge["length_m"] > 0
    assert 0 < unknown < len(aleppo["edges"]) / 10


def test_aleppo_front_lines_are_blocked_except_the_evacuation_route(
    aleppo: dict[str, Any],
) -> None:
    owner = {n["id"]: n["controlled_by"] for n in aleppo["nodes"]}
    assert all(owner.values())
    open_crossings = set()
    for edge in aleppo["edges"]:
        if owner[edge["from"]] != owner[edge["to"]]:
            if edge["status"] == "blocked":
                assert edge["controlled_by"] is None
            else:
                open_crossings.add(edge["id"])
        else:
            assert edge["controlled_by"] == owner[edge["from"]]
    assert open_crossings == {
        "al-amiriyeh--ramouseh-crossing",
        "as-sukkari--ramouseh-crossing",
        "al-rashideen--ramouseh-crossing",
    }
    checkpoints = {e["id"]: e.get("checkpoint") for e in aleppo["edges"] if e.get("checkpoint")}
    assert checkpoints == {
        "al-amiriyeh--ramouseh-crossing": "gov",
        "as-sukkari--ramouseh-crossing": "gov",
    }
    parties = {p["id"]: p for p in aleppo["parties"]}
    assert parties["gov"]["detention_record"] is True
    assert owner["ash-sheikh-maqsoud"] == "ypg"


def test_aleppo_every_populated_district_reaches_a_safe_zone_on_open_roads(
    aleppo: dict[str, Any],
) -> None:
    graph = nx.Graph()
    graph.add_edges_from((e["from"], e["to"]) for e in aleppo["edges"] if e["status"] != "blocked")
    for node in aleppo["nodes"]:
        if node.get("population", 0) > 0:
            assert nx.has_path(graph, node["id"], "khan-al-asal")
            assert nx.has_path(graph, node["id"], "al-rashideen")


def test_aleppo_is_labelled_historical_with_no_invented_incidents(
    aleppo: dict[str, Any],
) -> None:
    assert aleppo["incidents"] == []
    assert "NOT FOR OPERATIONAL USE" in aleppo["description"]
    assert any("not for operational use" in note.lower() for note in aleppo["notes"])
    assert all(w["notes"].startswith("Illustrative") for w in aleppo["windows"])
    assert all(w["agreed_by"] == ["gov", "opposition"] for w in aleppo["windows"])


def data_pack_credit_lines() -> list[str]:
    """The quoted credit lines of the data-pack files the Aleppo scenario uses."""
    used = (
        "aleppo/neighbourhoods.geojson",
        "aleppo/unosat_damage_2015.geojson",
        "aleppo/hrw_damage.geojson",
    )
    lines = []
    for row in (DATA.parent / "README.md").read_text("utf-8").splitlines():
        if any(row.startswith(f"| `{name}`") for name in used):
            lines.extend(re.findall(r'"([^"]+)"', row.rsplit("|", 2)[-2]))
    return lines


@needs_data
def test_aleppo_credits_every_data_pack_credit_line(aleppo: dict[str, Any]) -> None:
    lines = data_pack_credit_lines()
    assert len(lines) == 3
    readme = README.read_text("utf-8")
    for line in lines:
        assert line in aleppo["credits"]
        assert f'"{line}"' in readme


# --- The teaching network and the README's worked example ----------------------------------

ROUTE_B = ["hilltop", "mill", "ford", "camp"]
ROUTE_C = ["hilltop", "mill", "square", "camp"]
CASES: dict[str, tuple[str | None, str | None, list[str], float, float]] = {
    # name: (--at, --profile, route nodes, survival probability, travel time) as in README.md
    "as_of": ("2025-03-01T08:00:00+00:00", None, ROUTE_B, 0.941094, 40.0),
    "default-time": (None, None, ROUTE_C, 0.8379, 33.0),
    "incident-fresh": ("2025-03-01T10:00:00+00:00", None, ROUTE_C, 0.8379, 33.0),
    "one-half-life": ("2025-03-01T16:00:00+00:00", None, ROUTE_B, 0.8469846, 40.0),
    "military-age-men": (None, "military_age_men", ROUTE_C, 0.8379, 33.0),
}
DETENTION_CHECKPOINT_RISK = 0.2
"""What README.md says the built-in military_age_men profile adds at such checkpoints."""


@pytest.fixture(scope="module")
def teaching() -> dict[str, Any]:
    return load(TEACHING)


def brute_force(
    doc: dict[str, Any], source: str, target: str, at: str | None, profile: str | None
) -> tuple[list[str], float, float, float]:
    """(nodes, survival, minutes, runner-up survival) of the safest simple path, by enumeration."""
    # Without a time: the later of as_of and the newest report (SPEC §5).
    newest = max(datetime.fromisoformat(i["observed_at"]) for i in doc["incidents"])
    when = datetime.fromisoformat(at) if at else max(datetime.fromisoformat(doc["as_of"]), newest)
    detains = {p["id"] for p in doc["parties"] if p.get("detention_record")}
    extra_risk: dict[str, float] = {}
    for incident in doc["incidents"]:
        age_h = (when - datetime.fromisoformat(incident["observed_at"])).total_seconds() / 3600
        if age_h < 0:
            continue
        p = incident["severity"] * incident["confidence"] * 0.5 ** (age_h / incident["half_life_h"])
        for eid in incident["edges"]:
            extra_risk[eid] = 1 - (1 - extra_risk.get(eid, 0.0)) * (1 - p)
    graph = nx.Graph()
    for e in doc["edges"]:
        if e["status"] == "blocked":
            continue
        survive = (1 - e["risk"]) * (1 - extra_risk.get(e["id"], 0.0))
        if profile == "military_age_men" and e.get("checkpoint") in detains:
            survive *= 1 - DETENTION_CHECKPOINT_RISK
        graph.add_edge(e["from"], e["to"], survive=survive, minutes=e["travel_time_min"])
    scored = []
    for path in nx.all_simple_paths(graph, source, target):
        legs = [graph.edges[a, b] for a, b in pairwise(path)]
        survival = math.prod(leg["survive"] for leg in legs)
        scored.append((-survival, sum(leg["minutes"] for leg in legs), path))
    scored.sort()
    best, runner_up = scored[0], scored[1]
    return best[2], -best[0], best[1], -runner_up[0]


def test_teaching_network_has_the_features_it_teaches(teaching: dict[str, Any]) -> None:
    assert 6 <= len(teaching["nodes"]) <= 9
    assert all("lat" not in n for n in teaching["nodes"])
    assert [e["id"] for e in teaching["edges"] if e["status"] == "blocked"] == ["camp--hilltop"]
    parties = {p["id"]: p for p in teaching["parties"]}
    checkpoints = [e["checkpoint"] for e in teaching["edges"] if e.get("checkpoint")]
    assert checkpoints == ["north"] and parties["north"]["detention_record"] is True
    (incident,) = teaching["incidents"]
    assert incident["edges"] == ["ford--mill"] and incident["half_life_h"] == 6
    assert teaching["windows"] and all(e.get("capacity_per_min") for e in teaching["edges"])
    kinds = {n["kind"] for n in teaching["nodes"]}
    assert {"district", "safe_zone", "crossing"} <= kinds


def test_the_safest_route_is_not_the_shortest(teaching: dict[str, Any]) -> None:
    graph = nx.Graph()
    for e in teaching["edges"]:
        if e["status"] != "blocked":
            graph.add_edge(e["from"], e["to"], minutes=e["travel_time_min"])
    shortest = nx.shortest_path(graph, "hilltop", "camp", weight="minutes")
    assert shortest == ["hilltop", "square", "camp"]
    assert shortest != CASES["as_of"][2]


@pytest.mark.parametrize("case", sorted(CASES))
def test_worked_example_brute_force_matches_readme(teaching: dict[str, Any], case: str) -> None:
    at, profile, nodes, survival, minutes = CASES[case]
    got_nodes, got_survival, got_minutes, runner_up = brute_force(
        teaching, "hilltop", "camp", at, profile
    )
    assert got_nodes == nodes
    assert got_survival == pytest.approx(survival, abs=1e-12)
    assert got_minutes == minutes
    assert runner_up < got_survival - 1e-3  # a clear winner, not a near tie
    readme = README.read_text("utf-8")
    assert f"**{survival}**" in readme
    assert f"**{minutes:g} min**" in readme
    if at is not None:
        assert f"--at {at}" in readme


def test_readme_checkpoint_risk_is_the_builtin_profile() -> None:
    profile = BUILTIN_PROFILES["military_age_men"]
    assert profile.detention_checkpoint_risk == DETENTION_CHECKPOINT_RISK


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_route_matches_worked_example(teaching: dict[str, Any], case: str) -> None:
    if not ((REPO / "app" / "cli.py").is_file() or (REPO / "app" / "cli").is_dir()):
        pytest.skip("app/cli does not exist yet: the `route` command is not written")
    at, profile, nodes, survival, minutes = CASES[case]
    args = ["route", str(TEACHING), "--from", "hilltop", "--to", "camp", "--json"]
    if at is not None:
        args += ["--at", at]
    if profile is not None:
        args += ["--profile", profile]
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    route = json.loads(result.stdout)["routes"][0]
    edge_ids = {frozenset((e["from"], e["to"])): e["id"] for e in teaching["edges"]}
    assert route["nodes"] == nodes
    assert route["edges"] == [edge_ids[frozenset(pair)] for pair in pairwise(nodes)]
    assert route["survival_probability"] == pytest.approx(survival, abs=1e-9)
    assert route["travel_time_min"] == pytest.approx(minutes)
