"""Scenario documents as text: reading one (JSON or YAML) from bytes, with guards, and
writing an edited one from the text it was made from.

Guards: a size limit, a nesting-depth limit, strict UTF-8, and YAML through the
safe loader with aliases refused (no "billion laughs" expansion). Parsing does
not validate the scenario; :mod:`app.domain.scenario.reading` does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from app.domain.errors import DocumentTooLargeError, Problem, ValidationError
from app.domain.scenario.columns import Ids
from app.domain.scenario.json_stream import MAX_DEPTH, DuplicateKey, nesting_depth, unique_keys

if TYPE_CHECKING:
    import yaml

    from app.domain.scenario.columns import CompactScenario

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Default largest document accepted (bytes)."""


@cache
def _no_alias_loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader that refuses anchors and aliases outright (made, and PyYAML
    imported, on the first YAML document: JSON ones never load it)."""
    import yaml

    class NoAliasSafeLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML aliases are not accepted", event.start_mark
                )
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if getattr(event, "anchor", None):
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML anchors are not accepted", event.start_mark
                )
            return super().compose_node(parent, index)

    return NoAliasSafeLoader


def parse_document(
    raw: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES, fmt: str | None = None
) -> Any:
    """Parse a JSON or YAML document into plain Python data.

    ``fmt`` is ``"json"``, ``"yaml"`` or ``None`` (guess: JSON when the first
    non-blank character is ``{`` or ``[``, YAML otherwise). Raises
    :class:`ValidationError` with pointer ``""`` for anything unreadable.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_bytes:
        raise DocumentTooLargeError(
            [Problem("", f"the document is {len(raw)} bytes; the limit is {max_bytes} bytes")],
            detail=f"document larger than {max_bytes} bytes",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(f"the document is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise _unreadable("the document is empty")
    if fmt is None:
        fmt = "json" if text.lstrip()[:1] in ("{", "[") else "yaml"
    data = _parse_json(text) if fmt == "json" else _parse_yaml(text)
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise _unreadable(f"the document is nested {depth} levels deep; the limit is {MAX_DEPTH}")
    return data


def _parse_json(text: str) -> Any:
    def constant(name: str) -> float:
        # Keep NaN/Infinity so validation can point at the field that holds them.
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]

    try:
        return json.loads(text, parse_constant=constant, object_pairs_hook=unique_keys)
    except DuplicateKey as exc:
        raise _unreadable(f"the key {exc.key!r} appears twice in one object") from None
    except RecursionError:
        raise _unreadable(f"the document is nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise _unreadable(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise _unreadable(f"not valid JSON: {exc}") from None


def _parse_yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_no_alias_loader())  # a SafeLoader subclass
    except RecursionError:
        raise _unreadable(f"the document is nested deeper than {MAX_DEPTH} levels") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. a timestamp of month 13
        raise _unreadable(f"not valid YAML: {_yaml_message(exc)}") from None


def _yaml_message(exc: yaml.YAMLError | ValueError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


def _unreadable(detail: str) -> ValidationError:
    return ValidationError([Problem("", detail)], detail=detail)


def spliced_document(
    base_text: bytes,
    base: CompactScenario,
    final: CompactScenario,
    touched: Mapping[str, set[str]],
) -> bytes:
    """The JSON text of ``final``, made from ``base_text`` (the document of ``base``) by
    writing anew only what differs: header members whose value changed, and the places and
    roads whose ids are in ``touched["nodes"]``/``touched["edges"]``.

    Every other member and item keeps its text byte for byte, so a version made by edits
    reads as the document its writer sent with those edits made. The order of places and
    roads is ``final``'s (that of its columns: edited items in place, added ones last).
    """
    try:
        members: dict[str, msgspec.Raw] = _decode_members(base_text)
    except (msgspec.DecodeError, ValueError):
        raise ValueError("the base document is not the JSON object it was stored as") from None
    head_before, head_after = base.header_document(), final.header_document()
    pieces: list[Any] = [b"{"]  # bytes, and msgspec.Raw views into base_text (not copied)
    for key, raw in members.items():
        if key in ("nodes", "edges"):
            value = _spliced_items(key, raw, base, final, touched.get(key, set()))
        elif key in head_after:
            value = [raw if head_before.get(key) == head_after[key] else _dumps(head_after[key])]
        else:
            continue  # a member the edits cleared
        pieces += [b"," if len(pieces) > 1 else b"", _dumps(key), b":", *value]
    for key, value in head_after.items():
        if key not in members:
            pieces += [b"," if len(pieces) > 1 else b"", _dumps(key), b":", _dumps(value)]
    pieces.append(b"}")
    return b"".join(pieces)


def _spliced_items(
    key: str, raw: msgspec.Raw, base: CompactScenario, final: CompactScenario, touched: set[str]
) -> list[Any]:
    """The pieces of one list's text: each item the edits did not name as it was."""
    if not touched:
        return [raw]
    items = _decode_items(raw)
    after = getattr(final, key).id
    rows = getattr(base, key).id.positions(after)  # each item of final in base, -1 if new
    named = Ids.from_strings(sorted(touched)).positions(after) >= 0
    write = final.node_item if key == "nodes" else final.edge_item
    out: list[Any] = [items[r] for r in rows.tolist()]  # -1 (new) is replaced below
    for j in np.flatnonzero(named | (rows < 0)).tolist():
        out[j] = _dumps(write(j))
    return [b"[", b",".join(out), b"]"]


_decode_members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
