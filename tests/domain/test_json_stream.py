"""The streamed JSON reader reads every document as ``json.loads`` and ``parse_document`` do."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.scenario import json_stream
from app.domain.scenario.document import MAX_DEPTH, parse_document
from app.domain.scenario.json_stream import UnreadableDocument, read_top_level
from app.domain.scenario.reading import validate_scenario

Item = tuple[str, int, Any]


def read(raw: bytes, sizes: list[int] | None = None) -> tuple[dict[str, Any], list[Item]]:
    """(header, streamed items) of ``raw`` cut into pieces of the given sizes (cycled)."""
    pieces, i, k = [], 0, 0
    sizes = sizes or [len(raw) or 1]
    while i < len(raw):
        pieces.append(raw[i : i + sizes[k % len(sizes)]])
        i += sizes[k % len(sizes)]
        k += 1
    items: list[Item] = []
    lists: list[str] = []

    def on_list(key: str) -> None:
        lists.append(key)

    def on_item(key: str, i: int, item: Any) -> None:
        assert lists[-1] == key
        items.append((key, i, item))

    return read_top_level(pieces, on_item, on_list), items


def expected(raw: bytes) -> tuple[dict[str, Any], list[Item]]:
    """What ``json.loads`` says the header and the items are."""
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        return {"": doc}, []
    header = {k: v for k, v in doc.items() if not (k in ("nodes", "edges") and type(v) is list)}
    items = [
        (k, i, item)
        for k, v in doc.items()
        if k in ("nodes", "edges") and type(v) is list
        for i, item in enumerate(v)
    ]
    return header, items


def same(a: Any, b: Any) -> bool:
    """Equal as JSON text: types (1 vs 1.0), key order and NaN compared too."""
    return json.dumps(a) == json.dumps(b)


@contextmanager
def batches(largest: int, smallest: int) -> Iterator[None]:
    """Batch sizes of the msgspec path, small enough for a test to cross every branch."""
    saved = json_stream.LARGEST_BATCH, json_stream.SMALLEST_BATCH
    json_stream.LARGEST_BATCH, json_stream.SMALLEST_BATCH = largest, smallest
    try:
        yield
    finally:
        json_stream.LARGEST_BATCH, json_stream.SMALLEST_BATCH = saved


# Text that trips a naive cutter: braces, brackets, colons, quotes, escapes, non-ASCII.
TEXTS = st.text(
    st.sampled_from(list('ab }{][:,"\\/\n\té€حلب𝄞')) | st.characters(codec="utf-8"), max_size=12
)
NUMBERS = (
    st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -0.0, 1e308, 5e-324, 2**63, 2**64, -(2**63) - 1])
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXTS
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=8,
)
PLAIN = st.text("abcxyz0189 -_.é", max_size=8) | st.floats(-1e3, 1e3) | st.integers(0, 10**6)
FLAT_ITEMS = st.dictionaries(
    st.sampled_from(["id", "from", "to", "lat", "risk", "name", "population"]) | TEXTS,
    PLAIN | SCALARS,
    max_size=6,
)
ITEMS = st.lists(FLAT_ITEMS | VALUES, max_size=30) | st.lists(FLAT_ITEMS, max_size=60)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = {}
    keys = draw(st.lists(st.sampled_from(["schema", "name", "windows", "nodes", "edges"])
                         | TEXTS, unique=True, max_size=7))  # fmt: skip
    for key in keys:
        doc[key] = draw(ITEMS if key in ("nodes", "edges") and draw(st.booleans()) else VALUES)
    indent = draw(st.sampled_from([None, 0, 2]))
    ascii_only = draw(st.booleans())
    return json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()


@given(
    raw=documents(),
    sizes=st.lists(st.integers(1, 64), min_size=1, max_size=4),
    limits=st.sampled_from([(1 << 20, 1 << 12), (64, 16), (16, 4), (2, 1)]),
)
@settings(max_examples=300, deadline=None)
def test_any_document_reads_as_json_loads_reads_it(
    raw: bytes, sizes: list[int], limits: tuple[int, int]
) -> None:
    header, items = expected(raw)
    with batches(*limits):
        got_header, got_items = read(raw, sizes)
    assert same(got_header, header)
    assert same(got_items, items)


@given(raw=documents())
@settings(max_examples=100, deadline=None)
def test_one_byte_at_a_time_reads_the_same(raw: bytes) -> None:
    whole = read(raw)
    one_by_one = read(raw, [1])
    assert same(one_by_one, whole)
    assert same(whole, expected(raw))


@st.composite
def objects_with_repeats(draw: st.DrawFn) -> str:
    """An object's text where a key may appear twice (``json.dumps`` cannot write one)."""
    keys = draw(st.lists(st.sampled_from(["id", "lat", "a:b", "{", "[x]"]) | TEXTS, max_size=5))
    members = [json.dumps(k) + ": " + json.dumps(draw(SCALARS | VALUES)) for k in keys]
    return "{" + ", ".join(members) + "}"


@given(
    items=st.lists(objects_with_repeats() | FLAT_ITEMS.map(json.dumps), min_size=1, max_size=20),
    sizes=st.lists(st.integers(1, 64), min_size=1, max_size=4),
    limits=st.sampled_from([(1 << 20, 1 << 12), (64, 16)]),
)
@settings(max_examples=200, deadline=None)
def test_a_repeated_key_is_refused_wherever_it_is(
    items: list[str], sizes: list[int], limits: tuple[int, int]
) -> None:
    raw = ('{"name": "x", "edges": [' + ", ".join(items) + "]}").encode()
    try:
        parse_document(raw, fmt="json")
    except ValidationError as exc:
        with batches(*limits):
            assert unreadable(raw, sizes) == exc.problems[0].detail
        return
    with batches(*limits):
        assert same(read(raw, sizes), expected(raw))


def test_a_plain_document_goes_through_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of items, but the standard library decodes only the top-level keys and
    values (what msgspec decodes in batches, it does not decode again)."""
    rng = random.Random(4)
    nodes = [{"id": f"n{i}", "lat": rng.uniform(-90, 90), "name": "حلب"} for i in range(3000)]
    edges = [{"id": f"e{i}", "from": "n1", "to": "n2", "risk": 0.01} for i in range(5000)]
    doc = {"schema": "safe-passage/scenario@1", "nodes": nodes, "edges": edges, "windows": []}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    calls = 0
    slow = json_stream._STRICT.raw_decode

    def counted(text: str, pos: int = 0) -> tuple[Any, int]:
        nonlocal calls
        calls += 1
        return slow(text, pos)

    monkeypatch.setattr(json_stream._STRICT, "raw_decode", counted)
    header, items = read(raw, [4096])
    assert same(items, expected(raw)[1])
    assert header == {"schema": "safe-passage/scenario@1", "windows": []}
    assert calls <= 2 * len(doc)


def test_nan_and_infinity_are_kept_for_validation_to_point_at() -> None:
    raw = (
        b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}, {"id": "b"}],'
        b' "edges": [{"id": "e0", "from": "a", "to": "b", "length_m": 1, "risk": 0.1},'
        b' {"id": "e1", "from": "a", "to": "b", "length_m": Infinity, "risk": NaN}]}'
    )
    header, items = read(raw, [5])
    edge = items[-1][2]
    assert math.isnan(edge["risk"]) and edge["length_m"] == math.inf
    doc = dict(header)
    for key, _, item in items:
        doc.setdefault(key, []).append(item)
    with pytest.raises(ValidationError) as exc:
        validate_scenario(doc)
    found = {p.pointer: p.detail for p in exc.value.problems}
    assert found["/edges/1/risk"] == "'risk' must be a finite number, not nan"
    assert "/edges/1/length_m" in found


def test_large_integers_are_kept_exactly() -> None:
    big = 10**30 + 7
    _, items = read(b'{"nodes": [{"population": %d}, {"population": -%d}]}' % (big, big))
    assert [item["population"] for _, _, item in items] == [big, -big]


def test_a_document_that_is_not_an_object_comes_back_under_the_empty_key() -> None:
    assert read(b" [1, 2, {}]\n") == ({"": [1, 2, {}]}, [])
    assert read(b'"nodes"') == ({"": "nodes"}, [])


def unreadable(raw: bytes, sizes: list[int] | None = None) -> str:
    with pytest.raises(UnreadableDocument) as exc:
        read(raw, sizes)
    return str(exc.value)


def small_parser_says(raw: bytes) -> str:
    with pytest.raises(ValidationError) as exc:
        parse_document(raw, fmt="json")
    return exc.value.problems[0].detail


NESTED = b"[" * 70 + b"]" * 70
DEEP = b"[" * 5000 + b"]" * 5000
ITEMS_TEXT = b'{"id": "a", "lat": 1.5}, {"id": "b:c", "lat": 2}'

SAME_AS_SMALL_DOCUMENTS = [
    # syntax errors: in the fast path's batch, between items, in the header, at the end
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "x",, "lat": 1}]}',
    b'{"nodes": [' + ITEMS_TEXT + b",, ]}",
    b'{"nodes": [' + ITEMS_TEXT + b'] "edges": []}',
    b'{"schema": "safe-passage/scenario@1",\n "nodes": [\n  {"id": "a"}\n  {"id": "b"}]}',
    b'{"nodes": [' + ITEMS_TEXT + b",]}",
    b'{"nodes": [{"id": "\xc3\xa9\xc3\xa9\xc3\xa9", "lat": 1.}]}',
    b'{"nodes": [' + ITEMS_TEXT + b"]} trailing",
    b'{"nodes": [' + ITEMS_TEXT + b"]",
    b'{"nodes": [' + ITEMS_TEXT,
    b'{"nodes": [{"id": "a"}], "name": "x",}',
    b'{"nodes": [{"id": "a"}], 5: 1}',
    b'{"nodes" [{"id": "a"}]}',
    b'{"nodes": [{"id": "a\x01"}]}',
    b'{"nodes": [{"id": tru}]}',
    # repeated keys: in a flat item, in an item msgspec cannot count, nested, at the top
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "x", "lat": 1, "id": "y"}]}',
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "x:y", "lat": 1, "lat": 2}]}',
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "x", "tags": {"a": 1, "a": 2}}]}',
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "[x]", "lat": 1, "lat": 2}]}',
    b'{"nodes": [' + ITEMS_TEXT + b', {"id:{": "x", "lat": 1, "lat": 2}]}',
    b'{"nodes": [' + ITEMS_TEXT + b', {"id": "\\u003a", "lat": 1, "lat": 2}]}',
    b'{"nodes": [' + ITEMS_TEXT + b'], "name": "x", "nodes": []}',
    b'{"name": "x", "windows": [{"id": "w", "id": "v"}]}',
    b'{"name": "x", "name": "y"}',
    # nesting
    b'{"nodes": [' + ITEMS_TEXT + b", " + NESTED + b"]}",
    b'{"nodes": [' + ITEMS_TEXT + b', {"a": ' + NESTED + b"}]}",
    b'{"windows": ' + NESTED + b"}",
    b'{"nodes": [' + ITEMS_TEXT + b", " + DEEP + b"]}",
    NESTED,
    # numbers
    b'{"nodes": [{"id": "a", "population": ' + b"9" * 5000 + b"}]}",
    b'{"name": ' + b"9" * 5000 + b"}",
    # not UTF-8 is said in the same words, where the byte is
    b'{"nodes": [{"id": "\xff"}]}',
    b"",
    b" \n\t ",
    b"\xef\xbb\xbf",
]


@pytest.mark.parametrize("raw", SAME_AS_SMALL_DOCUMENTS)
@pytest.mark.parametrize("sizes", [None, [1], [3, 7, 64]])
def test_unreadable_documents_are_described_as_for_small_documents(
    raw: bytes, sizes: list[int] | None
) -> None:
    message = small_parser_says(raw)
    if message.startswith("the document is not valid UTF-8"):  # the byte offset is not kept
        assert unreadable(raw, sizes).startswith("the document is not valid UTF-8")
    else:
        assert unreadable(raw, sizes) == message


def test_the_messages_say_what_is_wrong_and_where() -> None:
    assert unreadable(b"") == "the document is empty"
    assert unreadable(b'{"a": "\xff"}') == "the document is not valid UTF-8 (invalid start byte)"
    assert unreadable(b'{"nodes": [{"id": "a"},\n {"id": "b",, }]}') == (
        "not valid JSON: Expecting property name enclosed in double quotes at line 2, column 13"
    )
    assert unreadable(b'{"nodes": [{"id": "a", "id": "b"}]}') == (
        "the key 'id' appears twice in one object"
    )
    assert unreadable(b'{"nodes": [' + NESTED + b"]}") == (
        f"the document is nested {MAX_DEPTH + 1} levels deep; the limit is {MAX_DEPTH}"
    )
    assert unreadable(b'{"nodes": []}\n\n x') == "not valid JSON: Extra data at line 3, column 2"
    assert unreadable(b'{"nodes": [{"n": ' + b"1" * 4301 + b"}]}").startswith(
        "not valid JSON: Exceeds the limit (4300 digits)"
    )
