"""Answers stay the same: the corpus of ``benchmarks/corpus.py`` against its record (every
number to 10 significant digits: benchmarks/README-corpus.md says why).

The record (``benchmarks/corpus-digests.json``) was made before the domain core was
refactored (issue 14): route, plan, brief, GeoJSON and problem documents of the bundled
scenarios, 30 random ones and invalid documents, asked over HTTP and on the command line.
The fast test asks the representative subset ``QUICK_CASES`` of that script; the whole
corpus (about two minutes) runs with ``python3 benchmarks/corpus.py --check`` and in the
``slow`` test below.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


corpus = _load()


@pytest.fixture(scope="module")
def whole(request: pytest.FixtureRequest) -> Any:
    """Every case, asked once for this module (about two minutes) — only when the slow test
    runs; otherwise None."""
    selected = {item.name for item in request.session.items}
    if "test_the_whole_corpus_answers_as_recorded" not in selected:
        return None
    return corpus.build(quick_only=False, log=lambda _: None)


@pytest.fixture(scope="module")
def quick(whole: Any) -> Any:
    """The quick cases: taken from the whole corpus when it is asked anyway (the quick
    subset asked on its own again would add half a minute), else asked alone."""
    if whole is None:
        return corpus.build(quick_only=True, log=lambda _: None)
    return corpus.Corpus(True, {n: c for n, c in whole.cases.items() if c.quick})


def test_the_quick_cases_answer_as_recorded(quick: Any) -> None:
    problems = corpus.compare(quick, corpus.load_digests())
    assert not problems, "answers changed:\n" + "\n".join(problems)
    # The subset covers what it says: both readers, invalid documents, a document over 8 MiB.
    names = set(quick.cases)
    assert len(names) > 400
    for prefix in ("api/teaching/", "api/aleppo/", "columnar/aleppo/", "api/r03/",
                   "columnar/invalid/", "api/r27/", "cli/"):  # fmt: skip
        assert any(n.startswith(prefix) for n in names), prefix
    assert quick.cases["api/r27/map-route"].data.startswith(b"200 application/geo+json")


def test_a_changed_answer_is_named_with_where_it_changed(quick: Any) -> None:
    name = "api/teaching/route"
    before = quick.cases[name].data
    # Route C of the worked example: asked at the newest report, the ford is shelled.
    assert b'"survival_probability":0.8379,' in before
    after = before.replace(b'"survival_probability":0.8379,', b'"survival_probability":0.838,')
    changed = corpus.Corpus(True, {**quick.cases, name: corpus.Case(name, after, True)})
    problems = corpus.compare(changed, corpus.load_digests())
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}: {len(before)} bytes before, {len(after)} now")
    assert "0.838," in problems[0]  # the excerpt shows the changed block


def test_volatile_members_are_blanked_and_only_those() -> None:
    stored = (
        b'201 application/json\n\n{"id":"x","version":1,"created_at":"2026-01-01T00:00:00+00:00",'
        b'"created_by":"tok_0123","change":"created"}'
    )
    assert corpus.blank_volatile(stored) == (
        b'201 application/json\n\n{"id":"x","version":1,"created_at":"<volatile>",'
        b'"created_by":"<volatile>","change":"created"}'
    )
    assert set(corpus.VOLATILE) == {"created_at", "created_by"}


@pytest.mark.slow
def test_the_whole_corpus_answers_as_recorded(whole: Any) -> None:
    assert whole is not None
    problems = corpus.compare(whole, corpus.load_digests())
    assert not problems, "answers changed:\n" + "\n".join(problems)
