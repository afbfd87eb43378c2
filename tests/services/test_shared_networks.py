"""Compiled networks written once and mapped by every process: the same answers, one copy.

Two catalogs on one store and one data directory stand for two processes (workers of
``serve --workers 2``); the answers of a mapped network are compared with those of a
network compiled privately, for every district and safe zone of the Aleppo scenario.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.config import Settings
from app.domain.errors import ScenarioError
from app.domain.network.graph import Network
from app.domain.scenario.reading import validate_scenario
from app.services.access import SYSTEM
from app.services.catalog import Catalog
from app.services.requests import RouteRequest
from app.services.routes import compute_routes
from app.services.shared_networks import SharedNetworks
from app.storage.db import make_engine, upgrade
from app.storage.repository import Repository

ALEPPO = Path(__file__).resolve().parents[2] / "graphs" / "aleppo-2016-12.json"


def catalogs(tmp_path: Path, n: int) -> list[Catalog]:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    return [Catalog(Repository(engine), settings) for _ in range(n)]


def answer(network: Network, question: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(compute_routes(network, RouteRequest.model_validate(question)))
    except ScenarioError as exc:
        return orjson.dumps([exc.detail, exc.extra()], default=str)


def test_the_second_process_maps_the_first_ones_file_and_answers_the_same(tmp_path: Path) -> None:
    first, second = catalogs(tmp_path, 2)
    first.create(ALEPPO.read_bytes(), SYSTEM, scenario_id="aleppo")
    first.networks.forget("aleppo")  # as a process that did not store it
    mine = first.compiled("aleppo", 1)
    (written,) = (tmp_path / "compiled").glob("*.net")
    compiled = []
    assert second.shared is not None

    def never() -> Network:
        compiled.append(1)
        raise AssertionError("compiled again")

    theirs = second.shared.compiled(second.version_info("aleppo", 1), never)
    assert not compiled
    assert first.shared is not None
    for shared, network in ((first.shared, mine), (second.shared, theirs)):
        assert not network.arc_head.flags.writeable  # on the mapped, read-only pages
        assert shared.size_of(network) == written.stat().st_size
    private = Network(validate_scenario(json.loads(ALEPPO.read_text())))
    document = json.loads(ALEPPO.read_text())
    zones = [n["id"] for n in document["nodes"] if n.get("kind") == "safe_zone"]
    districts = [n["id"] for n in document["nodes"] if n.get("kind") == "district"]
    asked = 0
    for a in districts:
        for b in zones:
            for options in ({}, {"alternatives": 3}, {"disjoint": True}, {"pareto": True}):
                question = {"from": a, "to": b, **options}
                assert answer(theirs, question) == answer(private, question), question
                asked += 1
    assert asked == 4 * len(districts) * len(zones)


def test_a_file_is_only_read_for_the_same_version_of_the_same_store(tmp_path: Path) -> None:
    (catalog,) = catalogs(tmp_path, 1)
    info = catalog.create(ALEPPO.read_bytes(), SYSTEM, scenario_id="aleppo")
    shared = SharedNetworks(tmp_path / "compiled")
    shared.compiled(info, lambda: catalog.networks.peek(("aleppo", 1)) or pytest.fail())
    assert shared.load(info) is not None
    # Another database reusing the data directory: same id and version, made at another time.
    other = replace(info, created_at=info.created_at.replace(year=2000))
    assert shared.path(other) != shared.path(info) and shared.load(other) is None
    catalog.delete("aleppo", None, SYSTEM)
    assert not list((tmp_path / "compiled").glob("*.net"))


def test_without_a_writable_directory_each_process_keeps_its_own_copy(tmp_path: Path) -> None:
    (catalog,) = catalogs(tmp_path, 1)
    info = catalog.create(ALEPPO.read_bytes(), SYSTEM, scenario_id="aleppo")
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    shared = SharedNetworks(blocked / "compiled")
    network = Network(validate_scenario(json.loads(ALEPPO.read_text())))
    assert shared.compiled(info, lambda: network) is network


def test_the_directory_keeps_within_its_budget_oldest_files_first(tmp_path: Path) -> None:
    (catalog,) = catalogs(tmp_path, 1)
    infos = [
        catalog.create(ALEPPO.read_bytes(), SYSTEM, scenario_id=f"aleppo-{n}") for n in range(3)
    ]
    network = Network(validate_scenario(json.loads(ALEPPO.read_text())))
    unbounded = SharedNetworks(tmp_path / "sizing")
    unbounded.save(infos[0], network)
    one = unbounded.path(infos[0]).stat().st_size
    shared = SharedNetworks(tmp_path / "compiled", budget_bytes=2 * one)
    for info in infos:
        shared.save(info, network)
    kept = {p.name for p in (tmp_path / "compiled").glob("*.net")}
    assert kept == {shared.path(infos[1]).name, shared.path(infos[2]).name}
