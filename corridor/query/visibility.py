"""Who may read which event, as one SQL condition over `events e`.

An event is readable by the party that captured it, by the parties named in its sourceList
or destinationList (any identifier in party_identifiers), by the parties it was shared with
(event_shares), and by auditors for every party they hold a grant on (auditor_grants). Admins
read everything; the public reads no event. Every event read in corridor goes through this.

A share names one stored event (its row, `event_pk`), never an eventID: eventIDs are chosen
by the capturing client, so another party may store an event under the same one, and a rule
keyed by the text would hand that party's event to whoever the first was shared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol


class ViewerLike(Protocol):
    party_id: int | None
    identifiers: tuple[str, ...]
    role: str


@dataclass(frozen=True)
class Viewer:
    """The reader on whose behalf a read runs. `party_id` None means public. The HTTP API,
    the dashboard and subscription deliveries all read as one of these."""

    party_id: int | None
    identifiers: tuple[str, ...]
    role: str  # "public" | "member" | "auditor" | "admin"

    PUBLIC: ClassVar[Viewer]

    @property
    def is_public(self) -> bool:
        return self.party_id is None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


Viewer.PUBLIC = Viewer(None, (), "public")


_PARTY_RULE = (
    "e.captured_by = {p}"
    " OR EXISTS (SELECT 1 FROM event_parties vp JOIN party_identifiers vi"
    " ON vi.canonical = vp.value WHERE vp.event_pk = e.id AND vi.party_id = {p})"
    " OR EXISTS (SELECT 1 FROM event_shares vs WHERE vs.event_pk = e.id"
    " AND vs.party_id = {p})"
)


def visibility_clause(viewer: ViewerLike) -> tuple[str, list[Any]]:
    """(SQL condition on the alias `e` of table events, parameters)."""
    if viewer.role == "admin":
        return "1 = 1", []
    if viewer.party_id is None:
        return "1 = 0", []
    own = _PARTY_RULE.format(p="?")
    params: list[Any] = [viewer.party_id] * 3
    if viewer.role == "auditor":
        granted = "(SELECT ag.party_id FROM auditor_grants ag WHERE ag.auditor_id = ?)"
        grant_rule = (
            f"e.captured_by IN {granted}"
            " OR EXISTS (SELECT 1 FROM event_parties vp JOIN party_identifiers vi"
            " ON vi.canonical = vp.value WHERE vp.event_pk = e.id"
            f" AND vi.party_id IN {granted})"
            " OR EXISTS (SELECT 1 FROM event_shares vs WHERE vs.event_pk = e.id"
            f" AND vs.party_id IN {granted})"
        )
        return f"({own} OR {grant_rule})", params + [viewer.party_id] * 3
    return f"({own})", params
