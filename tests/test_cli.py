"""The command line (SPEC §3): exit codes, one JSON document with --json, messages on stderr."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app

ROOT = Path(__file__).resolve().parents[1]
ROUTE_KEYS = {
    "nodes",
    "edges",
    "survival_probability",
    "risk",
    "travel_time_min",
    "length_m",
    "parties",
    "checkpoints",
    "geometry",
}

# Safest a→c is a–d–c (survival 0.99·0.98 = 0.9702) through the north's road and checkpoint;
# avoiding the north leaves a–b–c (0.95·0.9 = 0.855). The direct road a–c is blocked.
# f is reached only by a blocked road. g: walkers take a–b–g (0.95), but b–g is a footpath,
# so stretcher cases take a–g (0.8).
DOCUMENT: dict[str, Any] = {
    "schema": "safe-passage/scenario@1",
    "name": "CLI test network",
    "as_of": "2016-12-13T08:00:00+02:00",
    "parties": [
        {"id": "north", "consent": "pending"},
        {"id": "east", "consent": "granted"},
    ],
    "nodes": [
        {"id": "a", "lat": 36.100, "lon": 37.100, "population": 300, "controlled_by": "east"},
        {"id": "b", "lat": 36.110, "lon": 37.110},
        {"id": "c", "lat": 36.120, "lon": 37.100, "kind": "safe_zone", "capacity": 1000},
        {"id": "d", "lat": 36.110, "lon": 37.090},
        {"id": "f", "lat": 36.130, "lon": 37.100},
        {"id": "g", "lat": 36.120, "lon": 37.120},
    ],
    "edges": [
        {"id": "a-b", "from": "a", "to": "b", "length_m": 1400, "travel_time_min": 22,
         "risk": 0.05},
        {"id": "b-c", "from": "b", "to": "c", "length_m": 1400, "travel_time_min": 22,
         "risk": 0.1},
        {"id": "a-d", "from": "a", "to": "d", "length_m": 640, "travel_time_min": 10, "risk": 0.01,
         "controlled_by": "north"},
        {"id": "d-c", "from": "d", "to": "c", "length_m": 640, "travel_time_min": 10, "risk": 0.02,
         "checkpoint": "north"},
        {"id": "a-c", "from": "a", "to": "c", "length_m": 500, "risk": 0.0, "status": "blocked"},
        {"id": "c-f", "from": "c", "to": "f", "length_m": 1100, "risk": 0.0, "status": "blocked"},
        {"id": "b-g", "from": "b", "to": "g", "length_m": 300, "risk": 0.0,
         "vehicle_passable": False},
        {"id": "a-g", "from": "a", "to": "g", "length_m": 3000, "risk": 0.2},
    ],
}  # fmt: skip

INVALID: dict[str, Any] = {
    "schema": "safe-passage/scenario@1",
    "colour": "red",
    "nodes": [{"id": "a"}, {"id": "a"}, {"id": "b"}],
    "edges": [
        {"id": "e0", "from": "a", "to": "nowhere", "length_m": 100},
        {"id": "e1", "from": "a", "to": "b", "length_m": 100, "risk": 1.5},
    ],
}
INVALID_POINTERS = ["/colour", "/edges/0/to", "/edges/1/risk", "/nodes/1/id"]

runner = CliRunner()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(DOCUMENT))
    return path


@pytest.fixture
def invalid(tmp_path: Path) -> Path:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(INVALID))
    return path


def cli(*args: str | Path) -> Any:
    """Run the CLI in-process; ``result.stdout`` and ``result.stderr`` are kept apart."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def subprocess_cli(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def road_risk(edge_id: str) -> float:
    return float(next(e.get("risk", 0.0) for e in DOCUMENT["edges"] if e["id"] == edge_id))


# --- validate --------------------------------------------------------------------------------


def test_validate_a_valid_scenario(scenario: Path) -> None:
    result = cli("validate", scenario)
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.stdout and "6 nodes" in result.stdout and "8 roads" in result.stdout
    result = cli("validate", scenario, "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["valid"] is True
    assert (summary["nodes"], summary["edges"], summary["population"]) == (6, 8, 300)


def test_validate_lists_every_problem_with_its_pointer(invalid: Path) -> None:
    result = cli("validate", invalid)
    assert result.exit_code == 1
    assert result.stdout == ""
    listed = [line.strip() for line in result.stderr.splitlines() if line.startswith("  /")]
    assert [line.split(":")[0] for line in listed] == INVALID_POINTERS
    assert "  /edges/0/to: unknown node 'nowhere'" in result.stderr
    assert "  /edges/1/risk: 'risk' must be less than 1.0, got 1.5" in result.stderr
    assert "4 problems" in result.stderr


def test_validate_json_prints_one_problem_document(invalid: Path) -> None:
    result = subprocess_cli("validate", invalid, "--json")
    assert result.returncode == 1
    problem = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert problem["type"] == "/problems/invalid-document"
    assert [e["pointer"] for e in problem["errors"]] == INVALID_POINTERS
    assert {"pointer": "/nodes/1/id", "detail": "duplicate id 'a' (first used at /nodes/0)"} in (
        problem["errors"]
    )
    assert "Traceback" not in result.stderr


def test_validate_an_unreadable_document(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"schema": "safe-passage/scenario@1", "nodes": [')
    result = cli("validate", path, "--json")
    assert result.exit_code == 1
    problem = json.loads(result.stdout)
    assert problem["errors"][0]["pointer"] == ""
    assert problem["errors"][0]["detail"].startswith("not valid JSON")


# --- route -----------------------------------------------------------------------------------


def test_route_json_is_one_document_with_the_route(scenario: Path) -> None:
    result = subprocess_cli("route", scenario, "--from", "a", "--to", "c", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)  # fails unless stdout is exactly one JSON document
    [route] = answer["routes"]
    assert set(route) >= ROUTE_KEYS
    assert route["nodes"] == ["a", "d", "c"]
    assert route["edges"] == ["a-d", "d-c"]
    survival = math.prod(1 - road_risk(e) for e in route["edges"])
    assert survival == pytest.approx(0.99 * 0.98)
    assert route["survival_probability"] == pytest.approx(survival, rel=1e-12)
    assert route["risk"] == pytest.approx(1 - survival, rel=1e-9)
    assert route["travel_time_min"] == pytest.approx(20.0)
    assert route["length_m"] == pytest.approx(1280.0)
    assert route["parties"] == ["east", "north"]
    assert route["checkpoints"] == ["north"]
    assert route["geometry"] == {
        "type": "LineString",
        "coordinates": [[37.100, 36.100], [37.090, 36.110], [37.100, 36.120]],
    }


def test_route_text_output(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c")
    assert result.exit_code == 0, result.stderr
    assert "a → d → c" in result.stdout
    assert "0.9702" in result.stdout  # survival probability
    assert "consent still needed from: north" in result.stdout


def test_route_survival_is_the_product_over_its_roads(scenario: Path) -> None:
    for source, target in [("a", "c"), ("c", "a"), ("b", "d"), ("a", "g"), ("g", "d")]:
        result = cli("route", scenario, "--from", source, "--to", target, "--json")
        assert result.exit_code == 0, (source, target, result.stderr)
        [route] = json.loads(result.stdout)["routes"]
        assert route["nodes"][0] == source and route["nodes"][-1] == target
        expected = math.prod(1 - road_risk(e) for e in route["edges"])
        assert route["survival_probability"] == pytest.approx(expected, rel=1e-12)


def test_route_unknown_node_is_a_usage_error(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "zz")
    assert result.exit_code == 2
    assert "unknown node 'zz'" in result.stderr
    result = cli("route", scenario, "--from", "zz", "--to", "a", "--json")
    assert result.exit_code == 2
    problem = json.loads(result.stdout)
    assert problem["errors"] == [{"pointer": "/from", "detail": "unknown node 'zz'"}]


@pytest.mark.parametrize(
    ("at", "fragment"),
    [("yesterday", "not an ISO 8601 timestamp"), ("2016-12-13T10:00:00", "UTC offset")],
)
def test_route_bad_time_is_a_usage_error(scenario: Path, at: str, fragment: str) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c", "--at", at)
    assert result.exit_code == 2
    assert "--at" in result.stderr and fragment in result.stderr
    assert result.stdout == ""


def test_route_at_a_time_with_offset_is_accepted(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c", "--at", "2016-12-14T10:00:00Z")
    assert result.exit_code == 0, result.stderr
    [route] = json.loads(cli("route", scenario, "--from", "a", "--to", "c", "--json").stdout)[
        "routes"
    ]
    assert route["at"] == "2016-12-13T08:00:00+02:00"  # as_of when no time is given


def test_no_route_exits_3_naming_the_blocked_road(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "f")
    assert result.exit_code == 3
    assert "c-f" in result.stderr and "blocked" in result.stderr
    result = cli("route", scenario, "--from", "a", "--to", "f", "--json")
    assert result.exit_code == 3
    problem = json.loads(result.stdout)
    assert problem["type"] == "/problems/no-route"
    assert problem["cut"]["disconnected"] is False
    assert {"edge": "c-f", "reasons": ["blocked"]} in problem["cut"]["roads"]


def test_route_over_the_risk_limit_exits_3_with_the_best_risk(scenario: Path) -> None:
    best = 1 - 0.99 * 0.98  # 0.0298
    result = cli("route", scenario, "--from", "a", "--to", "c", "--max-risk", "0.02")
    assert result.exit_code == 3
    assert f"{best:.4f}" in result.stderr
    result = cli("route", scenario, "--from", "a", "--to", "c", "--max-risk", "0.02", "--json")
    assert result.exit_code == 3
    problem = json.loads(result.stdout)
    assert problem["best_risk"] == pytest.approx(best)
    assert problem["max_risk"] == 0.02
    # At or above the best risk the route is given.
    result = cli("route", scenario, "--from", "a", "--to", "c", "--max-risk", "0.03")
    assert result.exit_code == 0


def test_avoiding_a_party_changes_the_route(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c", "--avoid-party", "north", "--json")
    assert result.exit_code == 0, result.stderr
    [route] = json.loads(result.stdout)["routes"]
    assert route["edges"] == ["a-b", "b-c"]
    assert "north" not in route["parties"] and "north" not in route["checkpoints"]
    assert route["survival_probability"] == pytest.approx(0.95 * 0.9)
    # Avoiding a party that does not exist is a usage error, not a silent no-op.
    result = cli("route", scenario, "--from", "a", "--to", "c", "--avoid-party", "ghosts")
    assert result.exit_code == 2
    assert "unknown party 'ghosts'" in result.stderr


def test_consenting_only_avoids_parties_without_consent(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c", "--consenting-only", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["routes"][0]["edges"] == ["a-b", "b-c"]


def test_medical_profile_avoids_a_road_vehicles_cannot_use(scenario: Path) -> None:
    walking = json.loads(cli("route", scenario, "--from", "a", "--to", "g", "--json").stdout)
    assert walking["routes"][0]["edges"] == ["a-b", "b-g"]
    result = cli("route", scenario, "--from", "a", "--to", "g", "--profile", "medical", "--json")
    assert result.exit_code == 0, result.stderr
    [route] = json.loads(result.stdout)["routes"]
    assert route["edges"] == ["a-g"]
    assert route["profile"] == "medical"
    assert route["survival_probability"] == pytest.approx(0.8)


def test_unknown_profile_is_a_usage_error(scenario: Path) -> None:
    result = cli("route", scenario, "--from", "a", "--to", "c", "--profile", "cyclists")
    assert result.exit_code == 2
    assert "unknown profile 'cyclists'" in result.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_a_yaml_scenario_gives_the_same_answer(scenario: Path, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"network{suffix}"
    path.write_text(yaml.safe_dump(DOCUMENT, allow_unicode=True))
    assert path.read_text().startswith("as_of:")  # really YAML, not JSON
    from_yaml = cli("route", path, "--from", "a", "--to", "c", "--json")
    assert from_yaml.exit_code == 0, from_yaml.stderr
    from_json = cli("route", scenario, "--from", "a", "--to", "c", "--json")
    assert json.loads(from_yaml.stdout) == json.loads(from_json.stdout)
    assert cli("validate", path).exit_code == 0


def test_a_hand_written_yaml_scenario(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(
        "schema: safe-passage/scenario@1\n"
        "as_of: 2016-12-13T08:00:00+02:00  # unquoted: YAML reads it as a timestamp\n"
        "nodes: [{id: a}, {id: b}]\n"
        "edges:\n"
        "  - {id: a-b, from: a, to: b, travel_time_min: 12, risk: 0.25}\n"
    )
    result = cli("route", path, "--from", "a", "--to", "b", "--json")
    assert result.exit_code == 0, result.stderr
    [route] = json.loads(result.stdout)["routes"]
    assert route["survival_probability"] == pytest.approx(0.75)
    assert route["geometry"] is None and route["length_m"] is None


def test_a_missing_file_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    result = subprocess_cli("route", missing, "--from", "a", "--to", "c")
    assert result.returncode == 2
    assert "no such file" in result.stderr and "nowhere.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    result = cli("validate", missing, "--json")
    assert result.exit_code == 2
    assert "no such file" in json.loads(result.stdout)["errors"][0]["detail"]


def test_a_malformed_limit_variable_is_a_usage_error_naming_it(scenario: Path) -> None:
    result = subprocess_cli("validate", scenario, env={"SAFE_PASSAGE_MAX_NODES": "many"})
    assert result.returncode == 2
    assert "SAFE_PASSAGE_MAX_NODES" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("validate", tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
