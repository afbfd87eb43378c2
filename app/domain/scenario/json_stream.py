"""Read a JSON scenario document from byte chunks, streaming its ``nodes`` and ``edges``.

A 1M-node document is a few hundred megabytes of JSON; parsed whole it becomes
gigabytes of Python objects. :func:`read_top_level` keeps about two megabytes of
text at a time: the members of the top-level object are read one by one, and the
items of its ``nodes`` and ``edges`` lists are handed out as they are decoded.

Items are decoded in batches of up to a megabyte by msgspec (several times faster
than the standard library; see ``benchmarks/README-json.md``). A batch is the text
from the next item up to the last ``},`` of the buffer; if that text, wrapped in
``[ ]``, is valid JSON, the cut is necessarily between two items. Anything msgspec
refuses (a syntax error, ``NaN``, an integer beyond 64 bits, a lone surrogate, or a
cut that fell inside an item) is retried on a smaller batch and, at worst, read item
by item by :mod:`json`, so every document reads exactly as :func:`json.loads`
would read it: the same values (``NaN`` and ``Infinity`` kept as floats, for
validation to point at), the same error messages with line and column, and a key
repeated in one object refused, as :func:`app.domain.scenario.document.parse_document` does.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable
from itertools import chain, compress, repeat
from operator import is_
from typing import Any

import msgspec

CHUNK_CHARS = 1 << 20
"""Characters read ahead at a time."""
MARGIN = 1 << 16
"""Read more text when fewer than this many characters are left ahead."""
LARGEST_BATCH = 1 << 20
SMALLEST_BATCH = 1 << 12
"""Below this, a batch msgspec refused is read item by item by :mod:`json`."""
WHITESPACE = re.compile(r"[ \t\n\r]*")
ESCAPED = re.compile(r"\\u00(?:3[aA]|5[bB]|7[bB])")
"""``:``, ``[`` or ``{`` escaped in a string."""
SCALARS = {str, int, float, bool, type(None)}
LIST_END = re.compile(r"\][ \t\n\r]*[,}]")
"""A list's end in the document (or in a string: then the batch is just shorter)."""
LISTS = ("nodes", "edges")

_decode_batch = msgspec.json.Decoder().decode
_decode_raw_items = msgspec.json.Decoder(list[msgspec.Raw]).decode
_REFUSED = (msgspec.DecodeError, ValueError, RecursionError)
"""What msgspec raises for text it will not decode (then :mod:`json` decides)."""


class UnreadableDocument(Exception):
    """The document is not JSON that can be read; ``str(exc)`` says why and where."""


class DuplicateKey(Exception):
    """A key repeated in one JSON object (a typo could otherwise change a route: the last
    value would silently win)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


MAX_DEPTH = 64
"""Deepest nesting accepted; a scenario needs about 5 levels."""


def nesting_depth(data: Any) -> int:
    """Depth of nested lists/dicts (a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((child, depth) for child in children)
    return deepest


def _duplicate(key: str) -> UnreadableDocument:
    return UnreadableDocument(f"the key {key!r} appears twice in one object")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` of :mod:`json` that refuses a key repeated in one object."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


_STRICT = json.JSONDecoder(object_pairs_hook=unique_keys)
"""The standard library's decoder, refusing repeated keys (NaN and Infinity kept)."""


class _Reader:
    """The document's text from byte chunks, with JSON values decoded at a cursor."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in the text already dropped
        self.line_start = 0  # buffer offset where the current line starts (may be < 0)
        self.started = False

    def fill(self, need: int = CHUNK_CHARS) -> None:
        """Make at least ``need`` characters available after the cursor, unless at the end."""
        while not self.eof and len(self.buf) - self.pos < need:
            chunk = next(self.chunks, None)
            try:
                text = self.decoder.decode(chunk or b"", final=chunk is None)
            except UnicodeDecodeError as exc:
                raise UnreadableDocument(
                    f"the document is not valid UTF-8 ({exc.reason})"
                ) from None
            if chunk is None:
                self.eof = True
            if not self.started and text:
                self.started = True
                text = text.removeprefix("\ufeff")
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            self.lines_before += newlines
            if newlines:
                self.line_start = dropped.rfind("\n") + 1 - self.pos
            else:
                self.line_start -= self.pos
            self.buf = self.buf[self.pos :] + text
            self.pos = 0

    def where(self, pos: int) -> str:
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        last = self.buf.rfind("\n", 0, pos)
        column = pos - (last + 1 if last >= 0 else self.line_start) + 1
        return f"line {line}, column {column}"

    def error(self, message: str, pos: int | None = None) -> UnreadableDocument:
        return UnreadableDocument(
            f"not valid JSON: {message} at {self.where(self.pos if pos is None else pos)}"
        )

    def skip_ws(self) -> None:
        while True:
            self.pos = WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or self.eof:
                return
            self.fill()

    def peek(self) -> str:
        self.skip_ws()
        return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"Expecting {what}")
        self.pos += 1

    def value(self) -> Any:
        """The value at the cursor, by :mod:`json` (reading on while it runs past the buffer)."""
        self.skip_ws()
        need = CHUNK_CHARS
        while True:
            self.fill(need)
            try:
                obj, end = _STRICT.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof:
                    need *= 2  # the value runs past the buffer: read more and try again
                    continue
                raise self.error(exc.msg, exc.pos) from None
            except DuplicateKey as exc:
                raise _duplicate(exc.key) from None
            except RecursionError:
                raise UnreadableDocument(
                    f"the document is nested deeper than {MAX_DEPTH} levels"
                ) from None
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise UnreadableDocument(f"not valid JSON: {exc}") from None
            if end == len(self.buf) and not self.eof:
                need *= 2  # a number may go on in the next chunk
                continue
            self.pos = end
            return obj

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.buf) and self.eof


def _depth_check(value: Any, levels_above: int) -> None:
    if nesting_depth(value) + levels_above > MAX_DEPTH:
        # As parse_document says: the depth where the limit is first passed.
        depth = MAX_DEPTH + 1
        raise UnreadableDocument(
            f"the document is nested {depth} levels deep; the limit is {MAX_DEPTH}"
        )


def _flat_and_unique(items: list[Any], text: str) -> bool:
    """Whether ``items``, decoded from ``text``, are objects of scalars, no key repeated.

    Judged by counting, with no Python code run per item. In ``text``, every ``{``
    or ``[`` opens an object or list or is inside a string, and every ``:`` follows
    a key or is inside a string. So if the text has as many of them as the items
    have objects and keys plus as many as their decoded strings hold, there is no
    nested value and every key in the text is a key of the decoded objects: none
    was repeated (a repeated key adds a ``:`` that no decoded key accounts for).
    Strings holding these characters as ``\\u`` escapes would unbalance the count,
    so text with such escapes is left to the item-by-item check.
    """
    if set(map(type, items)) != {dict}:
        return False
    opens = text.count("{") + text.count("[")
    colons = text.count(":")
    keys = sum(map(len, items))
    if opens == len(items) and colons == keys:  # the usual case: no such character in strings
        return True
    if ESCAPED.search(text):
        return False
    values = list(chain.from_iterable(map(dict.values, items)))
    if not set(map(type, values)) <= SCALARS:
        return False
    strings = compress(values, map(is_, map(type, values), repeat(str)))
    inside = "".join(chain(chain.from_iterable(items), strings))
    opens_inside = inside.count("{") + inside.count("[")
    return opens == len(items) + opens_inside and colons == keys + inside.count(":")


def _batch(text: str) -> list[Any] | None:
    """The items of ``text`` (items and commas), or None where msgspec refuses it.

    Items that are not flat objects with unique keys (see :func:`_flat_and_unique`)
    are read again by :mod:`json`, which refuses a repeated key.
    """
    try:
        items: list[Any] = _decode_batch("[" + text + "]")
    except _REFUSED:
        return None
    if _flat_and_unique(items, text):
        return items
    raws = _decode_raw_items("[" + text + "]")
    for k, (item, raw) in enumerate(zip(items, raws, strict=True)):
        if type(item) is list or type(item) is dict:
            piece = bytes(raw)
            flat = piece.count(b"{") + piece.count(b"[") == 1 and type(item) is dict
            if not (flat and piece.count(b":") == len(item)):
                try:
                    items[k] = _STRICT.decode(piece.decode("utf-8"))
                except DuplicateKey as exc:
                    raise _duplicate(exc.key) from None
                except (ValueError, RecursionError):
                    return None  # read item by item, where the error gets its position
                _depth_check(items[k], 2)
    return items


def _read_items(reader: _Reader, key: str, on_item: Callable[[str, int, Any], None]) -> None:
    """The items of a list (its ``[`` already read), one by one, up to and with its ``]``."""
    if reader.peek() == "]":
        reader.pos += 1
        return
    i = 0
    size = LARGEST_BATCH  # halved when msgspec refuses a batch, doubled when it takes one
    while True:
        if len(reader.buf) - reader.pos < MARGIN and not reader.eof:
            reader.fill()
        reader.skip_ws()
        buf, pos = reader.buf, reader.pos
        cut = 0
        if size >= SMALLEST_BATCH:
            end = LIST_END.search(buf, pos, pos + size)  # most likely the end of this list
            if end:
                cut = buf.rfind("}", pos, end.start()) + 1
            else:  # the last item in the buffer is most likely incomplete
                cut = buf.rfind("},", pos, pos + size) + 1
        items = _batch(buf[pos:cut]) if cut > pos else None
        if items is not None:
            for item in items:
                on_item(key, i, item)
                i += 1
            reader.pos = cut
            size = min(2 * size, LARGEST_BATCH)
        elif cut > pos:
            size //= 2
            continue
        else:  # one item by the standard library
            item = reader.value()
            if type(item) is not dict or any(type(v) in (dict, list) for v in item.values()):
                _depth_check(item, 2)
            on_item(key, i, item)
            i += 1
            size = SMALLEST_BATCH
        char = reader.peek()
        reader.pos += 1
        if char == "]":
            return
        if char != ",":
            raise reader.error("Expecting ',' delimiter", reader.pos - 1)


def read_top_level(
    chunks: Iterable[bytes],
    on_item: Callable[[str, int, Any], None],
    on_list: Callable[[str], None],
) -> dict[str, Any]:
    """Read the top-level object; stream ``nodes``/``edges`` items to ``on_item(key, i, item)``.

    Returns every other member; a document that is not an object comes back as
    ``{"": value}``. ``on_list(key)`` is called when such a list starts. Raises
    :class:`UnreadableDocument` for text that is not one JSON value in UTF-8, for
    a key repeated in one object, and for nesting deeper than ``MAX_DEPTH``.
    """
    reader = _Reader(chunks)
    reader.fill()
    if reader.at_end():
        raise UnreadableDocument("the document is empty")
    if reader.peek() != "{":
        value = reader.value()
        if not reader.at_end():
            raise reader.error("Extra data")
        _depth_check(value, 0)
        return {"": value}  # not an object: reported by the caller
    reader.pos += 1
    header: dict[str, Any] = {}
    seen: set[str] = set()
    repeated: str | None = None  # reported when the object closes, as json.loads does
    first = True
    while True:
        char = reader.peek()
        if char == "}" and first:
            reader.pos += 1
            break
        if char != '"':
            raise reader.error("Expecting property name enclosed in double quotes")
        key = reader.value()
        if key in seen and repeated is None:
            repeated = key
        seen.add(key)
        reader.expect(":", "':' delimiter")
        if key in LISTS and reader.peek() == "[":
            reader.pos += 1
            header.pop(key, None)
            on_list(key)
            _read_items(reader, key, on_item)
        else:
            value = reader.value()
            _depth_check(value, 1)
            header[key] = value
        first = False
        char = reader.peek()
        reader.pos += 1
        if char == "}":
            break
        if char != ",":
            raise reader.error("Expecting ',' delimiter", reader.pos - 1)
    if repeated is not None:
        raise _duplicate(repeated)
    if not reader.at_end():
        raise reader.error("Extra data")
    return header
