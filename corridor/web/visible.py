"""The viewer's visible events as one set: the read model lives in
corridor.query.visible_set; this name stays for the callers that import it from here."""

from corridor.query.visible_set import reading_parties, visible_ids

__all__ = ["reading_parties", "visible_ids"]
