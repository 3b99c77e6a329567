"""corridor.node: the running log. It signs checkpoints of the stored tree on a schedule,
pushes them to witnesses and publishes them once a quorum has cosigned.

signer (the log key, signing with the append-only checks, the schedule), witnesses (pushes
over HTTP, cosignatures, quorum and policy), sequencer (which of the nodes sharing a PostgreSQL
database signs and pushes, elected through an advisory lock), log (RunningLog: the store plus
all three, started and stopped with the service). Storage is corridor.store; the math and
formats corridor.ledger.
"""

from corridor.node.log import RunningLog, open_ledger
from corridor.node.sequencer import Sequencer
from corridor.node.signer import load_or_create_signer, sign_checkpoint
from corridor.node.witnesses import Witnesses, WitnessLink
from corridor.store import LedgerError

__all__ = ["LedgerError", "RunningLog", "Sequencer", "WitnessLink", "Witnesses",
           "load_or_create_signer", "open_ledger", "sign_checkpoint"]
