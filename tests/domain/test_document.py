"""parse_document: bytes to data with guards (size, depth, UTF-8, safe YAML without aliases)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.domain.errors import DocumentTooLargeError, ValidationError
from app.domain.scenario.document import MAX_DEPTH, parse_document
from app.domain.scenario.reading import validate_scenario


def refusal(raw: bytes | str, **kw: object) -> str:
    """The single problem parse_document reports for ``raw``: pointer "" and its detail."""
    with pytest.raises(ValidationError) as info:
        parse_document(raw, **kw)  # type: ignore[arg-type]
    problems = info.value.problems
    assert [p.pointer for p in problems] == [""]
    return problems[0].detail


JSON_DOC = b'{"schema": "safe-passage/scenario@1", "nodes": [{"id": "a"}], "edges": []}'
YAML_DOC = b"""# a comment
schema: safe-passage/scenario@1
nodes:
  - id: a
    lat: 36.17
    lon: 37.14
  - {id: b}
edges:
  - {id: a-b, from: a, to: b, length_m: 900}
"""


# --- size ------------------------------------------------------------------------------------


def test_a_document_over_the_size_limit_is_refused() -> None:
    with pytest.raises(DocumentTooLargeError) as info:
        parse_document(JSON_DOC, max_bytes=len(JSON_DOC) - 1)
    assert isinstance(info.value, ValidationError)
    assert info.value.slug == "too-large"
    [problem] = info.value.problems
    assert problem.pointer == ""
    assert f"{len(JSON_DOC)} bytes" in problem.detail
    assert f"limit is {len(JSON_DOC) - 1} bytes" in problem.detail


def test_a_document_exactly_at_the_size_limit_is_read() -> None:
    assert parse_document(JSON_DOC, max_bytes=len(JSON_DOC))["nodes"] == [{"id": "a"}]


def test_the_size_limit_counts_bytes_not_characters() -> None:
    text = '{"name": "حلب"}'  # 3 characters of 2 bytes each in UTF-8
    assert len(text.encode()) == len(text) + 3
    with pytest.raises(DocumentTooLargeError):
        parse_document(text, max_bytes=len(text))
    assert parse_document(text, max_bytes=len(text) + 3) == {"name": "حلب"}


# --- depth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml", None])
def test_twenty_thousand_nested_lists_are_refused_without_recursion_error(
    fmt: str | None,
) -> None:
    raw = b"[" * 20_000 + b"]" * 20_000
    detail = refusal(raw, fmt=fmt)
    assert "nested" in detail and str(MAX_DEPTH) in detail


def test_twenty_thousand_unclosed_brackets_are_refused() -> None:
    assert "nested" in refusal(b"[" * 20_000)


def test_deep_yaml_block_mappings_are_refused() -> None:
    raw = "".join("  " * i + f"k{i}:\n" for i in range(400)).encode() + b"  " * 400 + b"x: 1\n"
    assert "nested" in refusal(raw)


def test_deep_yaml_block_sequences_are_refused() -> None:
    raw = b"- " * 20_000 + b"x\n"  # "- - - x" is a list in a list in a list
    assert "nested" in refusal(raw, fmt="yaml")


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_not() -> None:
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    data = parse_document(ok)
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []
    too_deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert f"limit is {MAX_DEPTH}" in refusal(too_deep)


# --- YAML safety -----------------------------------------------------------------------------


def test_yaml_billion_laughs_is_refused() -> None:
    # Nine levels of nine-fold aliases would expand to 9**9 (387 million) strings.
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, 10):
        refs = ", ".join(f"*a{k - 1}" for _ in range(9))
        lines.append(f"a{k}: &a{k} [{refs}]")
    detail = refusal("\n".join(lines).encode())
    assert "anchors are not accepted" in detail or "aliases are not accepted" in detail


def test_a_yaml_alias_is_refused_even_when_small() -> None:
    raw = b"base: &b {risk: 0.1}\nother: *b\n"
    assert "not accepted" in refusal(raw)


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['echo owned']",
        "!!python/object:collections.OrderedDict {}",
        "!!python/name:os.system",
        "!!python/module:os",
    ],
)
def test_yaml_python_tags_are_refused(tagged: str) -> None:
    detail = refusal(f"schema: safe-passage/scenario@1\nnodes: {tagged}\n".encode())
    assert "python/" in detail and "constructor" in detail


def test_yaml_python_tag_does_not_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # yaml.unsafe_load of this text creates the directory.
    raw = f"x: !!python/object/apply:os.mkdir ['{marker}']"
    refusal(raw.encode())
    assert not marker.exists()


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"start: 2016-13-45\n", "month"),  # implicit timestamp with an impossible month
        (b"n: !!int abc\n", "abc"),
        (b"x: !!float abc\n", "abc"),
        (b"n: " + b"1" * 5000 + b"\n", "digits"),
    ],
)
def test_yaml_values_that_cannot_be_built_are_problems(raw: bytes, fragment: str) -> None:
    detail = refusal(raw)
    assert detail.startswith("not valid YAML") and fragment in detail


def test_a_huge_json_integer_is_a_problem_not_a_crash() -> None:
    detail = refusal(b'{"population": ' + b"9" * 5000 + b"}")
    assert detail.startswith("not valid JSON") and "digits" in detail


def test_yaml_syntax_error_names_the_line() -> None:
    detail = refusal(b"schema: x\nnodes: [\n  {id: a\n")
    assert detail.startswith("not valid YAML") and "line" in detail


def test_json_syntax_error_names_line_and_column() -> None:
    assert refusal(b'{\n  "schema": "x",\n  "nodes": [,]\n}') == (
        "not valid JSON: Expecting value at line 3, column 13"
    )


# --- encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "\xff\xfe"}',
        "name: Alep caf\u00e9\n".encode("latin-1"),
        "name: حلب".encode("utf-16"),
    ],
)
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    assert "not valid UTF-8" in refusal(raw)


def test_a_lone_surrogate_in_a_str_is_refused() -> None:
    assert "not valid UTF-8" in refusal('{"name": "\ud800"}')


@pytest.mark.parametrize("raw", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_an_empty_document_is_refused(raw: bytes) -> None:
    assert refusal(raw) == "the document is empty"


@pytest.mark.parametrize("body", [JSON_DOC, YAML_DOC])
def test_a_utf8_byte_order_mark_is_accepted(body: bytes) -> None:
    assert parse_document(b"\xef\xbb\xbf" + body) == parse_document(body)


def test_non_ascii_text_survives() -> None:
    data = parse_document("nodes: [{id: a, name_ar: الشيخ سعيد}]".encode())
    assert data["nodes"][0]["name_ar"] == "الشيخ سعيد"


# --- format detection ------------------------------------------------------------------------


def test_json_and_yaml_are_detected_from_the_text() -> None:
    json_data = parse_document(b"\n  " + JSON_DOC)
    assert json_data == {
        "schema": "safe-passage/scenario@1",
        "nodes": [{"id": "a"}],
        "edges": [],
    }
    yaml_data = parse_document(YAML_DOC)
    assert yaml_data["nodes"][0] == {"id": "a", "lat": 36.17, "lon": 37.14}
    assert yaml_data["edges"][0] == {"id": "a-b", "from": "a", "to": "b", "length_m": 900}
    scenario = validate_scenario(yaml_data)
    assert scenario.edges.length_m[0] == 900.0


def test_a_json_looking_document_gets_a_json_message() -> None:
    # Starts with "{", so it is read as JSON and its error is a JSON error.
    assert refusal(b"{schema: x}").startswith("not valid JSON")


def test_the_format_can_be_forced() -> None:
    assert parse_document(b"{a: 1}", fmt="yaml") == {"a": 1}
    assert refusal(b"a: 1\n", fmt="json").startswith("not valid JSON")


def test_json_nan_and_infinity_are_kept_for_validation_to_point_at() -> None:
    data = parse_document(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": [1.5]}')
    assert math.isnan(data["a"]) and data["b"] == math.inf and data["c"] == -math.inf
    assert data["d"] == [1.5]


def test_several_yaml_documents_in_one_stream_are_refused() -> None:
    assert "another document" in refusal(b"a: 1\n---\nb: 2\n")


def test_str_input_is_read_like_its_utf8_bytes() -> None:
    assert parse_document(YAML_DOC.decode()) == parse_document(YAML_DOC)
