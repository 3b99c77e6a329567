"""Differential test: random valid events hashed by Corridor and by the GS1 reference generator
(PyPI epcis-event-hash-generator 1.9.3, a test dependency) in the same test.

The generator (test_hash_strategies) stays where 1.9.3 agrees with the newer GS1 vectors and
with its own XML reading; its module docstring lists the excluded areas.
"""

from __future__ import annotations

import copy
import logging

from epcis_event_hash_generator import hash_generator, json_to_py
from hypothesis import HealthCheck, given, settings

from corridor.epcis import hash_fast, hash_tree
from corridor.epcis.hashid import event_hash_id, prehash_string
from corridor.epcis.jsonld import context_namespaces
from tests.epcis.test_hash_strategies import CONTEXT, document, events

logging.disable(logging.WARNING)  # the reference logs every value it cannot normalise
NAMESPACES = context_namespaces(CONTEXT)


def _reference(event: dict) -> tuple[str, str]:
    """(pre-hash string, hash ID) from the reference, reading the JSON-LD document."""
    events = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(document(event)))
    prehashes = hash_generator.derive_prehashes_from_events(events)
    assert len(prehashes) == 1, "the reference dropped the event (it failed on it)"
    return prehashes[0], hash_generator.calculate_hashes_from_pre_hashes(prehashes)[0]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_same_as_reference(event: dict) -> None:
    expected_prehash, expected_hash = _reference(event)
    assert hash_tree.prehash(event, NAMESPACES, frozenset()) == expected_prehash
    assert prehash_string(event, NAMESPACES) == expected_prehash
    assert event_hash_id(event, NAMESPACES) == expected_hash


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_fast_path_matches_model(event: dict) -> None:
    """Without the reference's cost: the fast plan and the full model agree whenever the fast
    plan takes an event, and it takes the ordinary ones."""
    quick = hash_fast.prehash(event, NAMESPACES)
    if quick is not None:
        assert quick == hash_tree.prehash(event, NAMESPACES, frozenset())
    if not any(k.startswith("ex:") for k in event) and "ilmd" not in event \
            and "sensorElementList" not in event:
        assert quick is not None
