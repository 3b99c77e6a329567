"""corridor.epcis: EPCIS 2.0 documents and events, below everything else in Corridor.

documents (read, validate, convert and stream EPCIS 2.0 documents, JSON-LD or XML), hashid
(the CBV 2.0 Event Hash ID), identifiers (GS1 keys: check digits, EPC URN <-> Digital Link,
canonical keys), cbv (CBV words), problems (EpcisError and the Problem it carries). The other
modules are theirs: parsing (jsonld, json_stream, xml_read, safe_xml, streaming), writing
(xml_write), validation (validation, rules) and the hash (hash_tree, the model of the GS1
reference generator; hash_fast and its hash_* helpers, the quick path).
"""

from corridor.epcis.documents import (
    EpcisDocument,
    context_namespaces,
    iter_events,
    read_document,
    to_jsonld,
    to_xml,
    validate_bytes,
)
from corridor.epcis.hashid import (
    ALGORITHMS,
    document_ignore_fields,
    event_hash_id,
    prehash_string,
)
from corridor.epcis.identifiers import canonical, check_digit, dl_to_urn, urn_to_dl
from corridor.epcis.problems import EpcisError, Problem

__all__ = [
    "ALGORITHMS", "EpcisDocument", "EpcisError", "Problem", "canonical", "check_digit",
    "context_namespaces", "dl_to_urn", "document_ignore_fields", "event_hash_id",
    "iter_events", "prehash_string", "read_document", "to_jsonld", "to_xml", "urn_to_dl",
    "validate_bytes",
]
