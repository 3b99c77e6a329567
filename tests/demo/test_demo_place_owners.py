"""Each demo place's SGLN carries the GS1 Company Prefix of its operator (PLACE_OPERATOR), who
sends its master data: the only member that may write it (corridor.capture.ownership)."""

from __future__ import annotations

from corridor.capture.ownership import prefixes_of
from corridor.demo.actors import ACTOR_BY_SLUG, ACTORS, PLACE_OPERATOR
from corridor.demo.geography import PLACES
from corridor.epcis.identifiers import company_prefix_key


def test_each_place_is_its_operators_and_no_one_elses() -> None:
    assert set(PLACE_OPERATOR) == {p.key for p in PLACES}
    for place in PLACES:
        key = company_prefix_key(place.sgln)
        assert key is not None, place.sgln
        operator = ACTOR_BY_SLUG[PLACE_OPERATOR[place.key]]
        assert key[1] == operator.prefix, (place.key, operator.slug)
        owners = [a.slug for a in ACTORS if prefixes_of([a.pgln]).owns(key)]
        assert owners == [operator.slug], place.key
