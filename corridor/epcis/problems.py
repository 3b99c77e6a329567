"""Problems found in input: where, which rule, and what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def pointer(path: list | tuple) -> str:
    """RFC 6901 JSON pointer of a path of member names and array indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"


@dataclass(frozen=True)
class Problem:
    """One fault in a document. `location` is a JSON pointer (`/epcisBody/eventList/3/action`)
    or an XML position (`line 42, element <action>`); `rule` names the rule broken (a schema
    keyword, an XSD facet, `xml-safety`, ...)."""

    location: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message} [{self.rule}]"

    def entry(self) -> dict[str, Any]:
        """This problem as an entry of an `errors` array (see error_entry)."""
        return error_entry(self.location, self.rule, self.message)


# "line 42", "line 42, column 7", "line 42, element <action>"; the XML line that the rules
# add to the message of a problem found in the JSON-LD form of an XML document.
_AT_LINE = re.compile(r"line (\d+)(?:, column (\d+))?")
_XML_LINE = re.compile(r"\(XML: (?:the )?<[^>]*> at line (\d+)\)$")


def error_entry(location: str, rule: str, message: str) -> dict[str, Any]:
    """A problem as an entry of the `errors` array of problem details and capture jobs:
    `{pointer, message, rule}`, plus `line` (and `column`) where the problem is at a line of
    the text sent.

    `pointer` is an RFC 6901 JSON pointer, "" for the whole document (a Problem's root "/")
    and for what no pointer reaches: a position in XML or in JSON that does not parse
    (`line N, ...`) or the document's size. A problem found in the JSON-LD form of an XML
    document has both: the pointer of that form and the XML line."""
    out: dict[str, Any] = {"pointer": "", "message": message, "rule": rule}
    if location.startswith("/"):
        out["pointer"] = "" if location == "/" else location
        found = _XML_LINE.search(message)
        if found:
            out["line"] = int(found.group(1))
        return out
    at = _AT_LINE.match(location)
    if at:
        out["line"] = int(at.group(1))
        if at.group(2):
            out["column"] = int(at.group(2))
    return out


class EpcisError(ValueError):
    """A document was refused. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = "; ".join(str(p) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s): {head}{more}")
