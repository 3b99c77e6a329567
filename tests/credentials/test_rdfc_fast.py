"""The fast eddsa-rdfc-2022 canonicalization (rdf_fast.py, urdna.py) against pyld's strict one
(rdfc.canonicalize_pyld): byte for byte the same canonical N-Quads wherever the fast path takes
a document, and where it does not (an unknown context, an undefined term, a relative IRI, ...)
`canonicalize` answers exactly as pyld's path does, the same bytes or the same error.

Documents: the W3C vectors, the demo node's credentials and status lists, the test suite's
credentials, their proof configurations, hand-made blank node shapes that need Hash N-Degree
Quads, and generated variants (hypothesis)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld
from pyld.canon import URDNA2015

from corridor.config import Settings
from corridor.credentials import loader as loader_module
from corridor.credentials import rdf_contexts, rdf_fast, rdfc, urdna
from corridor.credentials.errors import CredentialError
from corridor.credentials.keys import IssuerKey, did_key_document
from corridor.credentials.loader import document_loader, loader_with
from corridor.credentials.service import CredentialService
from corridor.demo import load_demo
from corridor.node import open_ledger
from corridor.store import credentials as store
from corridor.store.db import Database

HERE = Path(__file__).resolve().parent
V2 = "https://www.w3.org/ns/credentials/v2"
CORRIDOR = "https://ns.corridor.example/credentials/v1"
CONTEXTS = [V2, CORRIDOR]
CITIZENSHIP = "https://w3id.org/citizenship/v4rc1"
VECTORS_LOADER = loader_with({CITIZENSHIP: json.loads(
    (HERE / "contexts" / "citizenship-v4rc1.jsonld").read_text("utf-8"))})


def _pyld(document: Any, loader: Any = None) -> bytes | Exception:
    try:
        return rdfc.canonicalize_pyld(document, loader=loader)
    except (CredentialError, UnicodeEncodeError, TypeError) as exc:  # or pyld's own errors
        return exc


def check(document: Any, loader: Any = None, *, fast: bool | None = None) -> bytes | None:
    """The fast path gives pyld's bytes or nothing, never bytes where pyld refuses; and
    `canonicalize` (fast, else pyld) answers as pyld's path. `fast`: whether it must (True)
    or must not (False) take the document. Returns the fast path's answer."""
    got = rdfc.canonicalize_fast(document, loader=loader)
    want = _pyld(document, loader)
    if got is not None:
        assert isinstance(want, bytes), f"pyld refuses: {want}"
        assert got.decode() == want.decode()
    if fast is not None:
        assert (got is not None) == fast, "fast path taken" if got else "fast path not taken"
    if isinstance(want, Exception):
        with pytest.raises(type(want)) as info:
            rdfc.canonicalize(document, loader=loader)
        assert str(info.value) == str(want)
    else:
        assert rdfc.canonicalize(document, loader=loader) == want
    return got


def normalize(document: dict, loader: Any = document_loader) -> bytes:
    """pyld's own normalize (expand, toRdf, URDNA2015): what the slow path, which expands only
    once, must give."""
    return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                       "documentLoader": loader}).encode()


def variants(signed: dict) -> list[dict]:
    """A secured document, its unsecured form and each proof's configuration (as rdfc
    canonicalizes it: the proof options with the document's @context)."""
    out = [signed, {k: v for k, v in signed.items() if k != "proof"}]
    proofs = signed.get("proof", [])
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        options = {k: v for k, v in proof.items() if k != "proofValue"}
        out.append({**options, "@context": signed["@context"]})
    return out


# -- the W3C vectors ---------------------------------------------------------------------------

@pytest.mark.conformance
def test_w3c_vectors(conformance: Path) -> None:
    folder = conformance / "vc" / "TestVectors"
    assert folder.is_dir(), f"missing {folder}"
    seen = 0
    for path in sorted(folder.rglob("*.json")):
        if path.name in ("keyPair.json", "multiKeyPairs.json"):
            continue
        document = json.loads(path.read_text("utf-8"))
        if "@context" not in document:  # a proof on its own (proof-set-chain configs)
            continue
        older = "Ed25519Signature2020" in path.parts  # contexts Corridor does not ship
        for doc in variants(document):
            if check(doc, VECTORS_LOADER, fast=not older):
                assert rdfc.canonicalize_pyld(doc, loader=VECTORS_LOADER) == normalize(
                    doc, VECTORS_LOADER)
            seen += 1
    assert seen > 40
    for sub in ("eddsa-rdfc-2022", "eddsa-rdfc-2022/employ"):
        d = folder / sub
        unsigned = "employmentAuth.json" if sub.endswith("employ") else "unsigned.json"
        doc = json.loads((folder / unsigned).read_text("utf-8"))
        assert rdfc.canonicalize_fast(doc, loader=VECTORS_LOADER) == (
            d / "canonDocDataInt.txt").read_bytes()
        config = json.loads((d / "proofConfigDataInt.json").read_text("utf-8"))
        assert rdfc.canonicalize_fast(config, loader=VECTORS_LOADER) == (
            d / "proofCanonDataInt.txt").read_bytes()


# -- Corridor's credentials --------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_documents(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Every credential of a demo node (both kinds, the revoked one), each status list."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("rdfc-demo"))
    load_demo(settings, shipments=24)
    db = Database(settings.db_url)
    ledger = open_ledger(settings, db)
    conn = db.connect()
    try:
        service = CredentialService(settings, db, ledger)
        stored = store.list_credentials(conn)
        lists = sorted({c.status_list for c in stored})
        documents = [json.loads(c.document) for c in stored]
        documents += [service.status_list_document(conn, n) for n in lists]
    finally:
        conn.close()
        ledger.close()
    assert {d["type"][-1] for d in documents} >= {
        "GreenMetalCredential", "OriginCredential", "BitstringStatusListCredential"}
    return documents


def test_demo_and_test_suite_credentials(demo_documents: list[dict],
                                         corridor_credentials: dict) -> None:
    """The fast path takes them all; the slow path (expanded once) is pyld's own normalize."""
    suite = [d for documents in corridor_credentials.values() for d in documents.values()]
    for document in [*demo_documents, *suite]:
        for doc in variants(document):
            assert check(doc, fast=True) == normalize(doc)


def test_presentation_did_document_and_status_messages(corridor_credentials: dict) -> None:
    """A presentation holding credentials (each with its own @context, in a graph of its own),
    a DID document, and a status entry whose statusMessage has a property-scoped context."""
    signed = corridor_credentials["eddsa-rdfc-2022"]
    presentation = {"@context": [V2], "type": "VerifiablePresentation",
                    "holder": "did:example:holder",
                    "verifiableCredential": [signed["GreenMetalCredential"],
                                             signed["OriginCredential"]]}
    check(presentation, fast=True)
    for value in ("urn:x", 5, [signed["revoked"], "urn:x"]):  # not nodes: each in its graph
        check({**presentation, "verifiableCredential": value})
    key = IssuerKey.from_seed(bytes(32))
    check(did_key_document(key.did), fast=True)
    entry = {**signed["revoked"]["credentialStatus"], "statusSize": 2, "statusMessage": [
        {"status": "0x0", "message": "valid"}, {"status": "0x1", "message": "revoked"}],
        "statusReference": ["https://example.org/ref", "urn:x"]}
    check({**signed["revoked"], "credentialStatus": entry}, fast=True)
    check({**signed["revoked"], "credentialStatus": {"id": entry["id"]}}, fast=True)
    check({**signed["revoked"], "credentialStatus": [entry, entry, {**entry, "id": "urn:y"}]},
          fast=True)


# -- blank nodes -------------------------------------------------------------------------------

def _credential(subject: dict, **extra: Any) -> dict:
    return {"@context": CONTEXTS, "id": "urn:uuid:6a1c2f4e-0000-4000-8000-000000000001",
            "type": ["VerifiableCredential", "GreenMetalCredential"],
            "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "validFrom": "2025-05-29T12:00:00Z",
            "credentialSubject": {"id": "urn:epc:class:lgtin:4870101.076011.AL26-0001",
                                  "type": "MetalLot", **subject}, **extra}


def _spy_n_degree(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = urdna._State._hash_n_degree

    def spy(self: Any, node: str, issuer: Any) -> Any:
        calls.append(node)
        return original(self, node, issuer)

    monkeypatch.setattr(urdna._State, "_hash_n_degree", spy)
    return calls


LOOK_ALIKES = [  # sources alike; alike at two levels; alike but for nested nodes; empty nodes
    {"electricitySources": [{"source": "hydro", "share": 0.5}, {"source": "hydro", "share": 0.5}]},
    {"transformations": [{"inputs": [{"mass": 1}, {"mass": 1}], "country": "IT"},
                         {"inputs": [{"mass": 1}, {"mass": 1}], "country": "IT"}]},
    {"transformations": [{"inputs": [{"mass": 1}], "outputs": [{"mass": 2}]},
                         {"inputs": [{"mass": 2}], "outputs": [{"mass": 1}]}]},
    {"classes": [{}, {}, {"type": "LoggedEvent"}, {"type": "LoggedEvent"}],
     "inputs": [{"outputs": [{}]}, {"outputs": [{}]}]},
]


@pytest.mark.parametrize("subject", LOOK_ALIKES)
def test_look_alike_blank_nodes(subject: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_n_degree(monkeypatch)
    check(_credential(subject), fast=True)
    assert calls, "Hash N-Degree Quads was not needed"


def test_proofs_in_graphs_alike(corridor_credentials: dict,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two proofs alike but for nothing (each in a graph of its own): the graphs' blank
    names look alike."""
    calls = _spy_n_degree(monkeypatch)
    signed = corridor_credentials["eddsa-rdfc-2022"]["GreenMetalCredential"]
    proof = {k: v for k, v in signed["proof"].items() if k not in ("proofValue", "id")}
    check({**signed, "proof": [proof, copy.deepcopy(proof)]}, fast=True)
    assert calls


def test_poisoned_dataset_is_refused_as_before() -> None:
    """Look-alike nodes whose look-alike children make Hash N-Degree Quads factorial: the fast
    path stops at its work bound and pyld's path refuses the document."""
    children = [{"mass": 1} for _ in range(10)]
    doc = _credential({"transformations": [{"inputs": children}, {"inputs": children}]})
    start = time.perf_counter()
    assert rdfc.canonicalize_fast(doc) is None
    with pytest.raises(CredentialError, match="work limit"):
        rdfc.canonicalize(doc)
    assert time.perf_counter() - start < 10


# -- what the fast path leaves to pyld ---------------------------------------------------------

LEFT_TO_PYLD = [
    {"undefinedTerm": 1},  # undefined term: pyld's strict path refuses
    {"https://example.org/p": 1},  # an absolute IRI as a key
    {"cnCode": {"@value": "7601", "@type": "https://example.org/cn"}},  # value object
    {"cnCode": {"@value": "7601", "@language": "en"}},
    {"producedAt": ["relative/iri"]},
    {"producedAt": ["urn:a b"]},
    {"producedAt": ["_:b0"]},
    {"producedAt": ["urn:x\n"]},
    {"type": ["MetalLot", "UndefinedType"]},
    {"type": "_:t"},
    {"material": "bell \x07"},  # a control character
    {"material": "lone \ud800 surrogate"},
    {"netMass": float("nan")},
    {"netMass": float("inf")},
    {"netMass": 10 ** 25},
    {"eventTime": "x", "@context": {"eventTime": "https://example.org/t"}},
    {"material": {"@list": ["a", "b"]}},
    {"material": {"@set": ["a", "b"]}},
    {"@reverse": {"producedAt": {"id": "urn:x"}}},
    {"id": 7},
    {"type": [7]},
    {7: "a key that is not a string"},
    {"inputs": json.loads("[" * 70 + "1" + "]" * 70)},  # deeper than the fast path goes
]


@pytest.mark.parametrize("extra", LEFT_TO_PYLD, ids=[str(i) for i in range(len(LEFT_TO_PYLD))])
def test_left_to_pyld(extra: dict) -> None:
    doc = _credential({"material": "aluminium"})
    doc["credentialSubject"].update(extra)
    check(doc, fast=False)


def test_deep_documents_are_left_to_pyld() -> None:
    """Past a nesting bound the fast path leaves a document to pyld (and its limits)."""
    doc = _credential({})
    node = doc["credentialSubject"]
    for depth in range(80):
        node["inputs"] = {"mass": depth}
        node = node["inputs"]
    check(doc, fast=False)


def test_context_caches_are_bounded(monkeypatch: pytest.MonkeyPatch,
                                    corridor_credentials: dict) -> None:
    """Past its bound on cached entries a registry is replaced by a fresh one."""
    monkeypatch.setattr(rdf_contexts, "_ENTRY_LIMIT", 40)
    loader = loader_with({})
    documents = [doc for document in corridor_credentials["eddsa-rdfc-2022"].values()
                 for doc in variants(document)]
    options = rdfc._options(loader)
    first = rdf_contexts.registry(loader, options)
    for doc in documents:
        check(doc, loader, fast=True)
    assert first.full
    assert rdf_contexts.registry(loader, options) is not first


@pytest.mark.parametrize("context", [
    "https://example.org/unknown/v1",  # not shipped: the loader refuses, as before
    [V2, "https://example.org/unknown/v1"],
    [V2, {"extra": "https://example.org/extra"}],  # an inline context
    [],
    None,
])
def test_other_contexts_are_left_to_pyld(context: Any) -> None:
    doc = _credential({"material": "aluminium"})
    doc["@context"] = context
    check(doc, fast=False)


def test_scalars_of_every_kind() -> None:
    """Numbers, booleans, strings with escapes, typed values: one literal form each."""
    subject = {"netMass": [0, -0.0, 12.0, -7, 1.5, -2.5e-7, 1e20, 1e21, 123456789.125,
                           2 ** 53 + 1, True, False, "12", "ü \\ \" \t\n\r ✓ 𝄞"],
               "logOrigin": ["", " ", "a\"b"], "logIndex": [1, 1.0, "1", True, 2.5, -3],
               "eventTime": ["2025-05-29T12:00:00Z", 5, False],
               "producedAt": ["urn:x", "urn:x", 5, True, 1.5],
               "met": [True, 1, 1.0]}
    doc = _credential(subject)
    assert check(doc, fast=True)


# -- generated variants ------------------------------------------------------------------------

def _terms(*documents: dict) -> list[str]:
    """Every term the contexts define, at any depth (scoped ones too)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.update([key] if not key.startswith("@") else [])
                walk(value)

    for document in documents:
        walk(document)
    return sorted(found)


CITIZENSHIP_CONTEXT = VECTORS_LOADER(CITIZENSHIP)["document"]
TERMS = _terms(*(loader_module.context(url) for url in (V2, CORRIDOR)))
TYPES = ["VerifiableCredential", "GreenMetalCredential", "OriginCredential", "MetalLot",
         "ProductLot", "LoggedEvent", "BitstringStatusListEntry", "BitstringStatusList",
         "BitstringStatusListCredential", "DataIntegrityProof", "https://example.org/T",
         "Undefined"]
CITIZENSHIP_TYPES = [t for t in _terms(CITIZENSHIP_CONTEXT) if t[0].isupper()] + TYPES[-3:]
IRIS = ["urn:uuid:1", "urn:uuid:2", "https://example.org/a#b", "did:key:z6Mk1#z6Mk1", "rel",
        "_:b0", "ni:///sha-256;ab?ver=CBV2.0", "mailto:a@b.example", "assertionMethod",
        "2025-05-29T12:00:00Z", "urn:x y", "MetalLot", "data:image/png;base64,iVBO"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 22), max_value=10 ** 22),
    st.integers(min_value=-5, max_value=5), st.floats(allow_nan=False),
    st.floats(min_value=-1e6, max_value=1e6), st.sampled_from([0.1, 1e21, -1e-7, 3.0]),
    st.text(max_size=12), st.sampled_from(IRIS))


def _node(entries: dict, node_id: str | None, types: str | list[str] | None) -> dict:
    node = {k: v for k, v in entries.items() if k not in ("id", "type")}
    if node_id is not None:
        node["id"] = node_id
    if types is not None:
        node["type"] = types
    return node


def _generated(terms: list[str], types: list[str]) -> tuple[Any, st.SearchStrategy]:
    """Node objects over `terms` and `types`, and values (scalars, nodes, arrays)."""
    keys = st.sampled_from(terms) | st.just("undefinedTerm")

    def nodes(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.builds(
            _node, st.dictionaries(keys, children | st.lists(children, max_size=3), max_size=5),
            st.none() | st.sampled_from(IRIS),
            st.none() | st.sampled_from(types) | st.lists(st.sampled_from(types), max_size=3))

    return nodes, st.recursive(SCALARS, nodes, max_leaves=25)


NODES, VALUES = _generated(TERMS, TYPES)
CITIZEN_NODES, CITIZEN_VALUES = _generated(
    _terms(CITIZENSHIP_CONTEXT, loader_module.context(V2)), CITIZENSHIP_TYPES)
TOP = ["name", "description", "validUntil", "evidence", "credentialStatus", "proof",
       "termsOfUse", "relatedResource"]
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _untyped(node: dict) -> dict:
    return {k: v for k, v in node.items() if k not in ("id", "type")}


@FUZZ
@given(subject=NODES(VALUES), top=st.dictionaries(st.sampled_from(TOP), VALUES, max_size=3))
def test_generated_documents(subject: dict, top: dict) -> None:
    check(_credential(_untyped(subject), **top))


@FUZZ
@given(subject=CITIZEN_NODES(CITIZEN_VALUES))
def test_generated_documents_with_type_scoped_contexts(subject: dict) -> None:
    check({"@context": [V2, CITIZENSHIP], "type": ["VerifiableCredential"],
           "issuer": "did:example:issuer", "credentialSubject": subject}, VECTORS_LOADER)


@FUZZ
@given(subjects=st.lists(NODES(VALUES), max_size=3), other=VALUES)
def test_generated_presentations(subjects: list[dict], other: Any) -> None:
    held = [_credential(_untyped(subject)) for subject in subjects]
    check({"@context": [V2], "type": "VerifiablePresentation", "holder": "did:example:holder",
           "verifiableCredential": [*held, other]})


def _spots(node: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every value of a JSON tree."""
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "@context":
                out += _spots(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _spots(value, (*path, i))
    return out


def _mutate(doc: dict, data: st.DataObject) -> dict:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(_spots(doc)[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = data.draw(st.sampled_from(["scalar", "delete", "copy", "add", "node"]))
        if action == "scalar":
            parent[last] = data.draw(SCALARS)
        elif action == "delete":
            del parent[last]
        elif action == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][data.draw(st.sampled_from([*TERMS, "undefinedTerm"]))] = data.draw(VALUES)
        elif action == "node":
            parent[last] = [parent[last], {"source": data.draw(SCALARS), "share": 0.5}]
    return doc


@FUZZ
@given(data=st.data())
def test_changed_credentials(corridor_credentials: dict, data: st.DataObject) -> None:
    suite = data.draw(st.sampled_from(sorted(corridor_credentials)))
    name = data.draw(st.sampled_from(sorted(corridor_credentials[suite])))
    check(_mutate(data.draw(st.sampled_from(variants(corridor_credentials[suite][name]))), data))


# -- RDFC-1.0 on its own: graphs JSON-LD trees do not make (cycles, shared nodes) -------------

def _pyld_dataset(quads: list[tuple[str, str, str, str]]) -> dict:
    def term(text: str) -> dict:  # a blank node, an IRI or a plain literal, as pyld has them
        kind = {"_": "blank node", "<": "IRI"}.get(text[0], "literal")
        value = text if kind == "blank node" else text[1:-1]
        return {"type": kind, "value": value, "datatype": rdf_fast.XSD_STRING}

    dataset: dict = {}
    for s, p, o, g in quads:
        name = g[1:-1] if g.startswith("<") else g or "@default"
        dataset.setdefault(name, []).append(
            {"subject": term(s), "predicate": term(p), "object": term(o)})
    return {name: dataset[name] for name in sorted(dataset)}


BLANKS = [f"_:n{i}" for i in range(7)]
QUADS = st.lists(st.tuples(
    st.sampled_from([*BLANKS, "<urn:s>"]), st.sampled_from(["<urn:p>", "<urn:q>"]),
    st.sampled_from([*BLANKS, '"v"', "<urn:o>"]), st.sampled_from(["", "", "", "_:n6", "<urn:g>"])),
    min_size=1, max_size=14)


@settings(max_examples=300, deadline=None)
@given(quads=QUADS)
def test_rdfc_on_arbitrary_graphs(quads: list) -> None:
    want = URDNA2015().main(_pyld_dataset(quads), {"format": "application/n-quads"})
    assert urdna.canonical_nquads(quads, 10 ** 6) == want


@pytest.mark.parametrize("n", [3, 4, 5])
def test_rdfc_on_rings_and_cliques(n: int) -> None:
    ring = [(f"_:r{i}", "<urn:p>", f"_:r{(i + 1) % n}", "") for i in range(n)]
    two_rings = ring + [(s.replace("r", "t"), p, o.replace("r", "t"), g) for s, p, o, g in ring]
    clique = [(f"_:c{i}", "<urn:p>", f"_:c{j}", "") for i in range(n) for j in range(n) if i != j]
    for quads in (ring, two_rings, clique):
        want = URDNA2015().main(_pyld_dataset(quads), {"format": "application/n-quads"})
        assert urdna.canonical_nquads(quads, 10 ** 6) == want
    big = [(f"_:c{i}", "<urn:p>", f"_:c{j}", "") for i in range(9) for j in range(9) if i != j]
    with pytest.raises(urdna.WorkExceeded):
        urdna.canonical_nquads(big, rdfc.WORK_LIMIT, 100)
