"""C2SP tlog-policy: known logs, known witnesses and the quorum rule for checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from corridor.ledger.note import NoteError, Verifier, parse_vkey


class PolicyError(ValueError):
    """A policy file that does not follow tlog-policy; the message names the line."""


@dataclass
class Policy:
    logs: list[tuple[Verifier, str | None]] = field(default_factory=list)
    witnesses: dict[str, tuple[Verifier, str | None]] = field(default_factory=dict)
    groups: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    quorum: str = "none"

    def witness_verifiers(self) -> list[Verifier]:
        return [v for v, _ in self.witnesses.values()]

    def satisfied(self, cosigned_by: set[str], name: str | None = None) -> bool:
        """Whether witnesses with these names meet the quorum (or the named group)."""
        name = self.quorum if name is None else name
        if name == "none":
            return True
        if name in self.witnesses:
            return name in cosigned_by
        k, members = self.groups[name]
        return sum(self.satisfied(cosigned_by, m) for m in members) >= k

    def names_for(self, verifiers: list[Verifier]) -> set[str]:
        """Policy names of the witnesses among `verifiers`."""
        return {n for n, (v, _) in self.witnesses.items() if v in verifiers}

    def text(self) -> str:
        lines = [f"log {v.vkey}" + (f" {u}" if u else "") for v, u in self.logs]
        lines += [f"witness {n} {v.vkey}" + (f" {u}" if u else "")
                  for n, (v, u) in self.witnesses.items()]
        for name, (k, members) in self.groups.items():
            lines.append(f"group {name} {k} {' '.join(members)}")
        lines.append(f"quorum {self.quorum}")
        return "\n".join(lines) + "\n"


def threshold_policy(log: Verifier | None, witnesses: list[tuple[Verifier, str | None]],
                     k: int) -> Policy:
    """k of n witnesses (k = 0 means no cosignatures needed)."""
    if not 0 <= k <= len(witnesses):
        raise PolicyError(f"quorum {k} is outside 0..{len(witnesses)} (number of witnesses)")
    policy = Policy(logs=[(log, None)] if log else [])
    for i, (v, url) in enumerate(witnesses, 1):
        policy.witnesses[f"w{i}"] = (v, url)
    if k:
        policy.groups["witnesses"] = (k, list(policy.witnesses))
        policy.quorum = "witnesses"
    return policy


def parse_policy(text: str) -> Policy:
    policy = Policy()
    quorum: str | None = None
    names: set[str] = {"none"}
    for number, raw in enumerate(text.split("\n"), 1):
        for ch in raw:
            if ch < " " and ch != "\t":
                raise PolicyError(f"line {number}: control character {ord(ch):#04x}")
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        kind, args = words[0], words[1:]
        try:
            if kind == "log" and len(args) in (1, 2):
                v = parse_vkey(args[0])
                if any(v.public == o.public for o, _ in policy.logs):
                    raise PolicyError(f"line {number}: duplicate log key")
                policy.logs.append((v, args[1] if len(args) == 2 else None))
            elif kind == "witness" and len(args) in (2, 3):
                name, v = args[0], parse_vkey(args[1])
                if name in names:
                    raise PolicyError(f"line {number}: name {name!r} already defined")
                if any(v.public == o.public for o, _ in policy.witnesses.values()):
                    raise PolicyError(f"line {number}: duplicate witness key")
                policy.witnesses[name] = (v, args[2] if len(args) == 3 else None)
                names.add(name)
            elif kind == "group" and len(args) >= 3:
                name, k_word, members = args[0], args[1], args[2:]
                if name in names:
                    raise PolicyError(f"line {number}: name {name!r} already defined")
                if len(set(members)) != len(members):
                    raise PolicyError(f"line {number}: a member is listed twice")
                for m in members:
                    if m not in names or m == "none":
                        raise PolicyError(f"line {number}: member {m!r} is not defined above")
                if k_word == "all":
                    k = len(members)
                elif k_word == "any":
                    k = 1
                elif k_word.isdigit() and 1 <= int(k_word) <= len(members):
                    k = int(k_word)
                else:
                    raise PolicyError(f"line {number}: threshold {k_word!r} must be all, any "
                                      f"or 1..{len(members)}")
                policy.groups[name] = (k, members)
                names.add(name)
            elif kind == "quorum" and len(args) == 1:
                if quorum is not None:
                    raise PolicyError(f"line {number}: second quorum line")
                if args[0] not in names:
                    raise PolicyError(f"line {number}: quorum {args[0]!r} is not defined above")
                quorum = args[0]
            else:
                raise PolicyError(f"line {number}: unknown or malformed line {kind!r}")
        except NoteError as exc:
            raise PolicyError(f"line {number}: {exc}") from exc
    if quorum is None:
        raise PolicyError("policy has no quorum line")
    policy.quorum = quorum
    return policy
