"""Id columns: lookups and the duplicate check, against plain Python on random ids."""

from __future__ import annotations

import json
import random

import pytest

from app.domain.errors import ValidationError
from app.domain.scenario.columns import Ids
from app.domain.scenario.reading import read_large_scenario


def plain_duplicates(ids: list[str]) -> list[tuple[int, int]]:
    first: dict[str, int] = {}
    out = []
    for k, ident in enumerate(ids):
        if ident in first:
            out.append((k, first[ident]))
        else:
            first[ident] = k
    return out


@pytest.mark.parametrize("seed", range(30))
def test_duplicates_match_a_plain_scan(seed: int) -> None:
    rng = random.Random(seed)
    pool = [rng.choice(["a", "b", "ü", "حلب", "x" * rng.randint(1, 5)]) for _ in range(6)]
    ids = [rng.choice(pool) + str(rng.randint(0, 3)) for _ in range(rng.randint(0, 60))]
    assert Ids.from_strings(ids).duplicates() == plain_duplicates(ids)


def test_a_document_of_one_repeated_id_is_refused_with_every_repeat() -> None:
    # 300,000 places sharing one id: each repeat is reported against the first, and the
    # check walks each run of equal ids once (it used to walk back to the run's start
    # for every repeat: quadratic, minutes for a 9 MB document).
    n = 300_000
    raw = (
        '{"schema":"safe-passage/scenario@1","nodes":[' + ",".join(['{"id":"same"}'] * n) + "]}"
    ).encode()
    with pytest.raises(ValidationError) as refused:
        read_large_scenario([raw])
    problems = refused.value.problems
    assert len(problems) == n - 1
    assert problems[0].pointer == "/nodes/1/id"
    assert problems[-1].pointer == f"/nodes/{n - 1}/id"
    assert all("first used at /nodes/0" in p.detail for p in problems)
    assert json.dumps(problems[0].as_dict())


def test_the_answer_lists_the_first_thousand_problems_and_says_how_many() -> None:
    raw = (
        '{"schema":"safe-passage/scenario@1","nodes":[' + ",".join(['{"id":"same"}'] * 2500) + "]}"
    ).encode()
    with pytest.raises(ValidationError) as refused:
        read_large_scenario([raw])
    assert refused.value.detail == "2499 problems found (the first 1000 are listed)"
    listed = refused.value.extra()["errors"]
    assert len(listed) == 1000
    assert listed[0]["pointer"] == "/nodes/1/id" and listed[-1]["pointer"] == "/nodes/1000/id"
