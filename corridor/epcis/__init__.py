"""corridor.epcis"""

from corridor.epcis.documents import (  # noqa: F401  (A: documents)
    EpcisDocument,
    context_namespaces,
    iter_events,
    read_document,
    to_jsonld,
    to_xml,
    validate_bytes,
)
from corridor.epcis.hashid import (  # noqa: F401  (B: Event Hash ID)
    ALGORITHMS,
    document_ignore_fields,
    event_hash_id,
    prehash_string,
)
from corridor.epcis.identifiers import (  # noqa: F401  (GS1 identifiers; CBV words: cbv)
    canonical,
    check_digit,
    dl_to_urn,
    urn_to_dl,
)
from corridor.epcis.problems import EpcisError, Problem  # noqa: F401
