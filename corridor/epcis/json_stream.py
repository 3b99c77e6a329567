"""An incremental reader of EPCIS JSON documents: one event at a time, in bounded memory.

It walks the document's outer structure by hand (the top-level object, `epcisBody`, and in a
query document `queryResults` / `resultsBody`) and hands every complete value, each event of the
event list included, to the C-accelerated `json` scanner (`JSONDecoder.raw_decode`). Only a
window of the text is kept: what has not been consumed yet, plus at most one value being read.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from typing import BinaryIO

from corridor.epcis.problems import EpcisError, Problem

CHUNK = 256 * 1024
_WHITESPACE = " \t\r\n"
# Objects the walker descends into instead of reading whole; the event lists it streams.
_DESCEND = {("epcisBody",), ("epcisBody", "queryResults"),
            ("epcisBody", "queryResults", "resultsBody")}
EVENT_LISTS = {("epcisBody", "eventList"),
               ("epcisBody", "queryResults", "resultsBody", "eventList")}


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> object:
    """Python's json accepts NaN and Infinity; JSON (RFC 8259) and orjson do not."""
    raise _NotJson(f"{name} is not a JSON value")


class JsonWalker:
    """Reads the document; calls `on_event(path, event)` for each event and `on_context` once
    the top-level @context has been read. `shell` is the document without its events."""

    def __init__(self, stream: BinaryIO, on_event: Callable[[tuple, object], Iterator],
                 on_context: Callable[[object], Iterator], max_value: int) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._scan = json.JSONDecoder(parse_constant=_refuse_constant).raw_decode
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_dropped = 0
        self._max_value = max_value
        self.on_event = on_event
        self.on_context = on_context
        self.shell: dict = {}

    # ---- buffer ----

    def _more(self) -> bool:
        """Append the next chunk; False at the end of the input."""
        if self._eof:
            return False
        data = self._stream.read(CHUNK)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise self._problem("encoding", f"the document is not valid UTF-8: {exc.reason}")
        if not data:
            self._eof = True
        if self._pos > CHUNK:  # drop what has been consumed, keeping line numbers right
            self._lines_dropped += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos:]
            self._pos = 0
        self._buf += text
        return bool(data) or bool(text)

    def _location(self, pos: int) -> str:
        line = self._lines_dropped + self._buf.count("\n", 0, pos) + 1
        column = pos - self._buf.rfind("\n", 0, pos)
        return f"line {line}, column {column}"

    def _problem(self, what: str, message: str, pos: int | None = None) -> EpcisError:
        where = self._location(self._pos if pos is None else pos)
        return EpcisError([Problem(where, "json-syntax", f"{message} ({what})")])

    def _peek(self) -> str:
        """The next non-blank character ("" at the end of the input)."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._more():
                return ""

    def _expect(self, chars: str) -> str:
        found = self._peek()
        if not found or found not in chars:
            shown = repr(found) if found else "the end of the document"
            raise self._problem("structure", f"expected one of {chars!r}, found {shown}")
        self._pos += 1
        return found

    def _value(self) -> object:
        """One complete JSON value, reading more input until the scanner can finish it."""
        self._peek()
        start = self._pos
        while True:
            try:
                value, end = self._scan(self._buf, start)
            except _NotJson as exc:
                raise self._problem("syntax", str(exc)) from None
            except RecursionError:  # the C scanner recurses per level of nesting
                raise self._problem("structure", "objects and arrays nest too deeply") \
                    from None
            except json.JSONDecodeError as exc:
                # a value cut by the end of the window fails near that end (or as an open
                # string); anything else is a real syntax error, reported at once
                cut = exc.pos >= len(self._buf) - 8 or exc.msg.startswith("Unterminated")
                if cut and self._grow(start):
                    start = self._pos
                    continue
                raise self._problem("syntax", exc.msg, exc.pos) from None
            # a number or literal may continue past the buffer's end: make sure it does not
            if end >= len(self._buf) and self._grow(start):
                start = self._pos
                continue
            self._pos = end
            return value

    def _grow(self, start: int) -> bool:
        """Read more input for a value starting at `start` (which stays at self._pos)."""
        self._pos = start
        if len(self._buf) - start > self._max_value:
            raise self._problem("size", f"a single value is larger than {self._max_value} "
                                "characters")
        return self._more()

    # ---- structure ----

    def walk(self) -> Iterator:
        if self._peek() != "{":
            value = self._value()  # not an object: the schema check will say what is wrong
            self.shell = value  # type: ignore[assignment]
            return
        yield from self._object((), self.shell)
        if self._peek():
            raise self._problem("structure", "extra data after the document")

    def _object(self, path: tuple, into: dict) -> Iterator:
        self._expect("{")
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            key = self._value()
            if not isinstance(key, str):
                raise self._problem("structure", "object keys must be strings")
            self._expect(":")
            here = path + (key,)
            if here in EVENT_LISTS and self._peek() == "[":
                into[key] = []
                yield from self._events(here)
            elif here in _DESCEND and self._peek() == "{":
                into[key] = {}
                yield from self._object(here, into[key])
            else:
                into[key] = self._value()
                if here == ("@context",):
                    yield from self.on_context(into[key])
            if self._expect(",}") == "}":
                return

    def _events(self, path: tuple) -> Iterator:
        self._expect("[")
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield from self.on_event(path, self._value())
            if self._expect(",]") == "]":
                return
