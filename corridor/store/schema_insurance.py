"""Tables of the insurance concern (corridor.insurance).

`policies`: each cover, its canonical terms verbatim and their digest; offered by the insurer,
then bound by the insured (`bound_at`, and the binding event that carried the digest into the
log). `policy_units`: the canonical keys (corridor.epcis.identifiers.canonical) of the units a
policy covers, and of the containers an insured lot was packed into (`via` the lot), so that a
new event finds the policies it may touch by one indexed lookup. `claims`: one per trigger and
unit at most, with its payout and the firing it rests on (JSON), and the claim event logged
when it opened. `insurance_state`: the witnessed log size evaluation has reached.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "insurance-0001",
        """
CREATE TABLE policies (
  id TEXT PRIMARY KEY,
  insurer_party BIGINT NOT NULL REFERENCES parties (id),
  insured_party BIGINT NOT NULL REFERENCES parties (id),
  terms TEXT NOT NULL,
  terms_digest TEXT NOT NULL,
  offered_at TEXT NOT NULL,
  bound_at TEXT,
  binding_event TEXT,
  binding_log_index BIGINT
);
CREATE INDEX policies_insurer ON policies (insurer_party);
CREATE INDEX policies_insured ON policies (insured_party);
CREATE TABLE policy_units (
  policy_id TEXT NOT NULL REFERENCES policies (id),
  unit TEXT NOT NULL,
  via TEXT NOT NULL,
  PRIMARY KEY (policy_id, unit, via)
);
CREATE INDEX policy_units_unit ON policy_units (unit, policy_id);
CREATE TABLE claims (
  id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL REFERENCES policies (id),
  trigger_id TEXT NOT NULL,
  unit TEXT NOT NULL,
  triggered_at TEXT NOT NULL,
  payout TEXT NOT NULL,
  currency TEXT NOT NULL,
  detail TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  claim_event TEXT,
  claim_log_index BIGINT,
  UNIQUE (policy_id, trigger_id, unit)
);
CREATE INDEX claims_policy ON claims (policy_id, triggered_at);
CREATE TABLE insurance_state (
  id INTEGER PRIMARY KEY,
  evaluated_size BIGINT NOT NULL
)
""",
    ),
]
