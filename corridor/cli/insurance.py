"""`corridor policy ...`, `corridor claim ...` and `corridor insurance ...`: parametric
export-risk cover on the local node, and the offline check of a claim's evidence bundle.

  corridor policy bind TERMS.json        offer and bind in one step (as the node's operator)
  corridor policy show ID [--json]       terms, status and claims
  corridor claim list [--policy ID]
  corridor claim bundle ID --out FILE    the evidence bundle (once a witnessed checkpoint
                                         covers every item it rests on)
  corridor claim verify BUNDLE --vkey LOG_VKEY [--witness W_VKEY ...] [--quorum N] [--json]
                                         offline: exit 0 only if every check passes
  corridor insurance evaluate            one evaluation pass now

The node-local commands act as the operator of the node (an admin): they read and bind every
policy, as `corridor credential` issues and revokes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from corridor.cli.credentials import open_node
from corridor.cli.node_dir import data_dir_option
from corridor.insurance.bundle import verify_bundle
from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import InsuranceError, InsuranceService, claim_json, policy_json
from corridor.ledger.note import NoteError, parse_vkey
from corridor.ledger.policy import threshold_policy
from corridor.query import Viewer
from corridor.store import insurance as store
from corridor.store.db import Connection
from corridor.store.parties import find_party

_db_option = click.option("--db", "db_url", default=None, metavar="URL",
                          help="Database URL (default: CORRIDOR_DB or the data directory's).")
# The node's operator: an admin without a party of its own (a party id, so that it is not
# the public viewer, that no party has).
OPERATOR = Viewer(0, (), "admin")


@contextmanager
def _node(db_url: str | None) -> Iterator[tuple[Connection, InsuranceService]]:
    with open_node(db_url, (InsuranceError,)) as (_, conn, credentials):
        yield conn, InsuranceService(credentials.log)


def _load_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"{path}: {what} is not readable JSON ({exc})") from None


def _payout(claim: store.StoredClaim) -> str:
    settled = claim.detail.get("settlement")
    extra = f" (= {settled['result']} {settled['target']})" if isinstance(settled, dict) \
        and "result" in settled and "target" in settled else ""
    return f"{claim.payout} {claim.currency}{extra}"


@click.group("policy")
def policy() -> None:
    """Parametric cover: bind a policy's terms, show a policy."""


@policy.command("bind")
@click.argument("terms_file", metavar="TERMS.json",
                type=click.Path(dir_okay=False, exists=True))
@_db_option
@data_dir_option
def policy_bind(terms_file: str, db_url: str | None) -> None:
    """Offer the terms in TERMS.json and bind them: the binding event logs their digest."""
    terms = _load_json(terms_file, "terms")
    with _node(db_url) as (conn, service):
        offered = service.offer(conn, OPERATOR, terms)
        bound = service.bind(conn, OPERATOR, offered.id)
    click.echo(f"policy {bound.id} bound at {bound.bound_at}")
    click.echo(f"binding event {bound.binding_event} (log entry {bound.binding_log_index}), "
               f"terms {bound.terms_digest}")


@policy.command("show")
@click.argument("policy_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the policy as the API does.")
@_db_option
@data_dir_option
def policy_show(policy_id: str, as_json: bool, db_url: str | None) -> None:
    """A policy's terms, status and claims."""
    with _node(db_url) as (conn, service):
        found = service.readable_policy(conn, OPERATOR, policy_id)
        claims = service.claims(conn, OPERATOR, found.id)
        names = {p: find_party(conn, p).name for p in (found.insurer_party,
                                                        found.insured_party)}
    if as_json:
        click.echo(json.dumps({**policy_json(found), "claims": [claim_json(c) for c in claims]},
                              indent=2, ensure_ascii=False))
        return
    status = f"bound at {found.bound_at}, binding event {found.binding_event} (log entry " \
             f"{found.binding_log_index})" if found.bound_at else "offered, not bound"
    click.echo(f"policy {found.id}: {status}")
    click.echo(f"insurer {names[found.insurer_party]}, insured {names[found.insured_party]}")
    click.echo(f"terms {found.terms_digest}:")
    click.echo(json.dumps(found.terms_json, indent=2, ensure_ascii=False))
    click.echo(f"claims: {len(claims) or 'none'}")
    for c in claims:
        click.echo(f"  {c.id}\t{c.trigger_id}\t{c.unit}\t{c.triggered_at}\t{_payout(c)}")


@click.group("claim")
def claim() -> None:
    """Claims of parametric cover: list, evidence bundle, offline verification."""


@claim.command("list")
@click.option("--policy", "policy_id", default=None, metavar="ID",
              help="Only this policy's claims.")
@_db_option
@data_dir_option
def claim_list(policy_id: str | None, db_url: str | None) -> None:
    """Claims by trigger time: id, policy, trigger, unit, trigger time, payout."""
    with _node(db_url) as (conn, service):
        claims = service.claims(conn, OPERATOR, policy_id)
    for c in claims:
        click.echo(f"{c.id}\t{c.policy_id}\t{c.trigger_id}\t{c.unit}\t{c.triggered_at}\t"
                   f"{_payout(c)}")


@claim.command("bundle")
@click.argument("claim_id", metavar="ID")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Write the bundle (JSON) here.")
@_db_option
@data_dir_option
def claim_bundle_cmd(claim_id: str, out: str, db_url: str | None) -> None:
    """Write a claim's evidence bundle: terms, trigger events with receipts, checkpoint."""
    with _node(db_url) as (conn, service):
        bundle = claim_bundle(conn, service, OPERATOR, claim_id)
    Path(out).write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    click.echo(f"{out}: claim {claim_id}, {len(bundle['events'])} events, "
               f"{len(bundle['notices'])} notices, payout {bundle['claim']['payout']} "
               f"{bundle['claim']['currency']}")


@claim.command("verify")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(dir_okay=False, exists=True))
@click.option("--vkey", required=True, help="The log's verifier key.")
@click.option("--witness", "witnesses", multiple=True, metavar="W_VKEY",
              help="A witness's cosigner verifier key (repeatable).")
@click.option("--quorum", type=int, default=None,
              help="Witness cosignatures a checkpoint needs (default: every --witness).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def claim_verify(bundle_file: str, vkey: str, witnesses: tuple[str, ...], quorum: int | None,
                 as_json: bool) -> None:
    """Check the claim bundle BUNDLE offline; exit 0 only if the payout is reproduced."""
    bundle = _load_json(bundle_file, "the claim bundle")
    try:
        keys = [(parse_vkey(w), None) for w in witnesses]
        verifier = parse_vkey(vkey)
        trust = threshold_policy(verifier, keys, len(keys) if quorum is None else quorum)
    except (NoteError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    report = verify_bundle(bundle, verifier, trust)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        for check in report.checks:
            click.echo(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        click.echo("verified: the payout is reproduced" if report.ok else "NOT verified")
    raise SystemExit(0 if report.ok else 1)


@click.group("insurance")
def insurance() -> None:
    """The node's insurance pass."""


@insurance.command("evaluate")
@_db_option
@data_dir_option
def insurance_evaluate(db_url: str | None) -> None:
    """Evaluate the policies on the log entries witnessed since the last pass, now."""
    with _node(db_url) as (conn, service):
        done = service.evaluate(conn)
    if done.to_size <= done.from_size:
        click.echo(f"nothing new: the witnessed log has {done.to_size} entries, all evaluated")
        return
    click.echo(f"witnessed entries {done.from_size}..{done.to_size - 1}: {done.policies} "
               f"policies evaluated, {done.shared} events shared with insurers, "
               f"{len(done.claims)} claims opened")
    for claim_id in done.claims:
        click.echo(f"  claim {claim_id}")


COMMANDS = [policy, claim, insurance]
