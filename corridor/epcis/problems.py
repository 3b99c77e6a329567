"""Problems found in input: where, which rule, and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


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


class EpcisError(ValueError):
    """A document was refused. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = "; ".join(str(p) for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s): {head}{more}")
