"""The parties of the demo scenario. Names are invented; GS1 company prefixes are made up but
sit in the right national ranges (487 Kazakhstan, 476 Azerbaijan, 486 Georgia, 594 Romania,
869 Turkey, 80-83 Italy)."""

from __future__ import annotations

from dataclasses import dataclass

from corridor.epcis.identifiers import gln13


@dataclass(frozen=True)
class Actor:
    slug: str
    name: str
    prefix: str  # GS1 company prefix (7 digits)
    role: str  # member | auditor (corridor.store.parties roles)
    kind: str  # what it does in the scenario

    @property
    def pgln(self) -> str:
        return f"urn:epc:id:pgln:{self.prefix}.00000"

    @property
    def gln(self) -> str:
        """The 13-digit GLN of the party (for CBV business transaction URNs)."""
        return gln13(self.prefix, "00000")


ACTORS: tuple[Actor, ...] = (
    Actor("smelter", "Ertis Aluminium Smelter JSC", "4870101", "member", "shipper"),
    Actor("ferro", "Aktobe Ferroalloy Works LLP", "4870102", "member", "shipper"),
    Actor("kzrail", "Kazakh Rail Freight JSC", "4870103", "member", "rail"),
    Actor("aktau", "Aktau International Sea Trade Port", "4870104", "member", "port"),
    Actor("kuryk", "Port Kuryk LLP", "4870105", "member", "port"),
    Actor("customs", "Aktau Customs Post (State Revenue Committee)", "4870106", "member",
          "customs"),
    Actor("ferry", "Caspian Ferry & Feeder Line", "4760201", "member", "carrier"),
    Actor("alat", "Baku International Sea Trade Port (Alat)", "4760202", "member", "port"),
    Actor("azrail", "Azerbaijan Railways Freight CJSC", "4760203", "member", "rail"),
    Actor("gerail", "Georgian Railway Freight LLC", "4860301", "member", "rail"),
    Actor("poti", "Poti Sea Port Terminal", "4860302", "member", "port"),
    Actor("batumi", "Batumi Sea Port Terminal", "4860303", "member", "port"),
    Actor("euxine", "Euxine Container Line", "8690401", "member", "carrier"),
    Actor("constanta", "Constanta South Container Terminal", "5940501", "member", "port"),
    Actor("trieste", "Trieste Marine Terminal", "8010601", "member", "port"),
    Actor("genoa", "Genoa Bulk & Container Terminal", "8010602", "member", "port"),
    Actor("buyer", "Metalli Padani S.p.A.", "8010603", "member", "buyer"),
    # a second, smaller importer: one container a year, under the CBAM threshold
    Actor("foundry", "Fonderia Berica S.r.l.", "8010607", "member", "buyer"),
    # reads only the events of the units it insures: the insured's grant at binding
    Actor("insurer", "Adriatica Cargo Insurance S.p.A.", "8010605", "member", "insurer"),
    Actor("auditor", "Corridor Consortium Audit Office", "8010606", "auditor", "auditor"),
    Actor("certifier", "Steppe Metals Certification Body LLP", "4870107", "auditor",
          "certifier"),
)

ACTOR_BY_SLUG: dict[str, Actor] = {a.slug: a for a in ACTORS}

# Who operates each place (captures the port events there).
PLACE_OPERATOR: dict[str, str] = {
    "pavlodar": "smelter", "aktobe": "ferro", "aktau": "aktau", "kuryk": "kuryk",
    "alat": "alat", "baku": "alat", "border": "gerail", "poti": "poti", "batumi": "batumi",
    "constanta": "constanta", "trieste": "trieste", "genoa": "genoa", "brescia": "buyer",
    "vicenza": "foundry",
}

# Auditor grants: the consortium auditor reads what both shippers read; the certifier reads
# what the producers it certifies read (the smelter, the ferro-alloy works and the Italian
# plant). The insurer has none (corridor.demo.insurance).
AUDITOR_GRANTS: tuple[tuple[str, str], ...] = (
    ("auditor", "smelter"), ("auditor", "ferro"),
    ("certifier", "smelter"), ("certifier", "ferro"), ("certifier", "buyer"),
)

# The certifier's accreditation (corridor.credentials: an accredited verification body issues
# the certificates, never the exporter itself). Invented, like the parties.
CERTIFIER_ACCREDITATION = "National Accreditation Centre of Kazakhstan KZ.O.02.0417 (demo)"
