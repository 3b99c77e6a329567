"""`corridor` commands for the epcis concern."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

import click
from rich.progress import Progress

from corridor.config import Settings
from corridor.epcis.documents import (
    iter_events,
    read_document,
    read_document_reporting,
    to_json_bytes,
    to_xml,
    validate_bytes,
)
from corridor.epcis.hashid import document_ignore_fields, event_hash_id, prehash_string
from corridor.epcis.problems import EpcisError, Problem
from corridor.epcis.safe_xml import too_large

COMMANDS: list[click.Command] = []

PROGRESS_FROM = 8 * 1024 * 1024  # show a progress bar for inputs at least this large
_CHUNK = 1024 * 1024


def max_document_bytes() -> int:
    """The size limit of one input document (Settings.max_capture_bytes)."""
    return Settings().max_capture_bytes


def _read_all(stream: BinaryIO, total: int | None, label: str) -> bytes:
    """Read a whole input, refusing it past the size limit, with a progress bar on a terminal
    for large inputs only."""
    limit = max_document_bytes()
    if total is not None and total > limit:
        raise click.ClickException(f"{label}: {too_large(limit).problems[0].message}")
    show = bool(total and total >= PROGRESS_FROM and sys.stderr.isatty())
    parts: list[bytes] = []
    count = 0
    with Progress(transient=True, disable=not show) as progress:
        task = progress.add_task(f"reading {label}", total=total)
        while chunk := stream.read(min(_CHUNK, limit + 1 - count)):
            parts.append(chunk)
            count += len(chunk)
            progress.advance(task, len(chunk))
            if count > limit:
                raise click.ClickException(f"{label}: {too_large(limit).problems[0].message}")
    return b"".join(parts)


def read_input(path: str) -> bytes:
    """The bytes of FILE, or of standard input for `-`; a clear error when unreadable or too
    large."""
    if path == "-":
        with click.open_file("-", "rb") as stdin:
            return _read_all(stdin, None, "<stdin>")
    try:
        with open(path, "rb") as handle:
            return _read_all(handle, os.fstat(handle.fileno()).st_size, path)
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read: {exc.strerror or exc}") from None


def _echo_problems(name: str, exc: EpcisError) -> None:
    for problem in exc.problems:
        click.echo(f"{name}: {problem.location}: {problem.message} [{problem.rule}]", err=True)


@click.command("validate")
@click.argument("files", nargs=-1, required=True)
def validate_command(files: tuple[str, ...]) -> None:
    """Check EPCIS 2.0 documents (JSON-LD or XML) against the official schemas.

    Prints every problem as FILE: LOCATION: MESSAGE [RULE]; exits 1 if any."""
    failed = False
    for path in files:
        name = "<stdin>" if path == "-" else path
        try:
            data = read_input(path)
        except click.ClickException as exc:  # unreadable or too large: report, go on
            click.echo(f"Error: {exc.message}", err=True)
            failed = True
            continue
        problems = validate_bytes(data, max_bytes=max_document_bytes())
        for problem in problems:
            click.echo(f"{name}: {problem.location}: {problem.message} [{problem.rule}]")
        if problems:
            failed = True
        else:
            click.echo(f"{name}: valid")
    if failed:
        sys.exit(1)


@click.command("convert")
@click.argument("file")
@click.option("--to", "target", type=click.Choice(["json", "xml"]), required=True,
              help="Output syntax: EPCIS 2.0 JSON-LD or XML.")
def convert_command(file: str, target: str) -> None:
    """Convert an EPCIS 2.0 document between XML and JSON-LD; writes it to stdout."""
    name = "<stdin>" if file == "-" else file
    try:
        doc = read_document(read_input(file), max_bytes=max_document_bytes())
    except EpcisError as exc:
        _echo_problems(name, exc)
        raise click.ClickException(f"{name} is not a valid EPCIS document") from None
    try:
        out = to_json_bytes(doc) + b"\n" if target == "json" else to_xml(doc)
    except EpcisError as exc:  # valid, but beyond what the target syntax can express
        _echo_problems(name, exc)
        raise click.ClickException(f"{name} cannot be converted to {target}") from None
    with click.open_file("-", "wb") as stdout:
        stdout.write(out)


COMMANDS.append(validate_command)
COMMANDS.append(convert_command)


# ---- corridor hash ----
#
# A drop-in for the GS1 reference tool (`python -m epcis_event_hash_generator`): it hashes
# what the reference hashes, valid EPCIS 2.0 or not; schema and rule problems are warnings
# on stderr (`--strict` refuses such documents). Its flags -a, -p, -b and -e work alike.

_HASH_ALGORITHMS = ["sha-256", "sha3-256", "sha-384", "sha-512", "sha256", "sha384", "sha512"]
_IGNORE_MARK = b"ignoreFields"
_UNLIMITED = 1 << 62  # a local file may be as large as the disk; XML safety limits still apply
MAX_WARNINGS = 20  # problems printed per document; the rest are counted
_SPOOL_LINES = 16 * 1024 * 1024  # hash lines of one document held in memory, then on disk
_FORMATS = {"xml": "application/xml", "json": "application/json"}


@dataclass(frozen=True)
class _Options:
    algorithm: str
    prehash: bool
    strict: bool
    media_type: str | None  # forced by --enforce-format, else sniffed from the content


class _Counting:
    """A binary stream that counts what has been read (for the progress bar)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class _Warnings:
    """The problems of a document hashed without --strict: to stderr as they are found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def __call__(self, problems: list[Problem]) -> None:
        for problem in problems:
            if self.count < MAX_WARNINGS:
                click.echo(f"{self.name}: warning: {problem}", err=True)
            self.count += 1

    def summary(self) -> None:
        if self.count > MAX_WARNINGS:
            click.echo(f"{self.name}: warning: {self.count - MAX_WARNINGS} more problems not"
                       " shown", err=True)
        if self.count:
            click.echo(f"{self.name}: warning: not valid EPCIS 2.0 ({self.count} problem(s));"
                       " hashed as the GS1 reference tool hashes it (--strict refuses it)",
                       err=True)


def _spool(path: str) -> tuple[BinaryIO, int, bool]:
    """(seekable stream at 0, size, whether the document has an `ignoreFields` list). Standard
    input is spooled to a temporary file so that huge inputs stream from disk too."""
    if path == "-":
        source: BinaryIO = sys.stdin.buffer
        target: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    else:
        try:
            source = target = open(path, "rb")  # noqa: SIM115 (returned to the caller)
        except OSError as exc:
            raise click.ClickException(f"{path}: cannot read: {exc.strerror or exc}") from None
    found, tail, size = False, b"", 0
    while chunk := source.read(_CHUNK):
        if target is not source:
            target.write(chunk)
        size += len(chunk)
        found = found or _IGNORE_MARK in tail + chunk
        tail = chunk[-len(_IGNORE_MARK):]
    target.seek(0)
    return target, size, found


def _events(stream: BinaryIO, found_ignore: bool, options: _Options, warnings: _Warnings
            ) -> tuple[Iterator[tuple[dict, dict[str, str]]], list[str]]:
    """(every (event, namespaces) in document order, the document's ignoreFields). Without
    --strict, validation reports its problems to `warnings` and reading goes on: one pass,
    validated once."""
    if not found_ignore:
        return iter_events(stream, options.media_type, max_bytes=_UNLIMITED,
                           report=None if options.strict else warnings), []
    # the document-level ignoreFields list needs the whole document
    data = stream.read()
    if options.strict:
        doc = read_document(data, options.media_type, max_bytes=_UNLIMITED)
    else:
        doc, problems = read_document_reporting(data, options.media_type, max_bytes=_UNLIMITED)
        warnings(problems)
    return ((event, doc.namespaces) for event in doc.events), document_ignore_fields(doc.header)


def _hash_lines(stream: BinaryIO, found_ignore: bool, options: _Options, warnings: _Warnings
                ) -> Iterator[tuple[str, str | None, int]]:
    """(hash ID, pre-hash string or None, bytes read so far) for every event in order."""
    counter = _Counting(stream)
    pairs, ignore = _events(counter, found_ignore, options, warnings)  # type: ignore[arg-type]
    for index, (event, namespaces) in enumerate(pairs):
        try:
            hash_id = event_hash_id(event, namespaces, options.algorithm, ignore_fields=ignore)
            pre = prehash_string(event, namespaces, ignore_fields=ignore) \
                if options.prehash else None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            if not warnings.count:
                raise  # a valid event the hash cannot take: a bug, not the input's fault
            raise EpcisError([Problem(f"event {index}", "event-hash",
                                      f"cannot be hashed: {exc}")]) from None
        yield hash_id, pre, counter.count


class _Lines:
    """Where the hash IDs of one document go: stdout, one per line (`FILE<TAB>` first with
    several files), or with --batch the reference tool's sibling files: FILE's name with its
    extension replaced by .hashes (and .prehashes). Written whole or not at all, like the
    reference: a document refused half-way leaves no lines (they wait in a temporary file,
    in memory up to _SPOOL_LINES bytes)."""

    def __init__(self, path: str, label: str, batch: bool, prehash: bool) -> None:
        self.label = label
        self.files: list[tuple[TextIO, str, str]] = []  # (temporary file, its path, target)
        self.empty = True
        self.out: TextIO | None = None
        if not batch:
            self.out = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by close())
                _SPOOL_LINES, mode="w+", encoding="utf-8", newline="\n")  # type: ignore[assignment]
            return
        base = os.path.splitext(path)[0]
        for suffix in (".hashes", ".prehashes") if prehash else (".hashes",):
            try:
                handle, temp = tempfile.mkstemp(prefix=".corridor-", suffix=suffix,
                                                dir=os.path.dirname(base) or ".")
            except OSError as exc:
                self.close(keep=False)
                raise click.ClickException(f"{base + suffix}: cannot write: "
                                           f"{exc.strerror or exc}") from None
            self.files.append((open(handle, "w", encoding="utf-8", newline="\n"),  # noqa: SIM115
                               temp, base + suffix))

    def write(self, hash_id: str, pre: str | None) -> None:
        self.empty = False
        if self.out is not None:
            self.out.write(f"{self.label}{hash_id}\n" if pre is None
                           else f"{self.label}{hash_id}\t{pre}\n")
            return
        self.files[0][0].write(hash_id + "\n")
        if pre is not None:
            self.files[1][0].write(pre + "\n")

    def close(self, keep: bool) -> None:
        if self.out is not None:
            if keep:
                self.out.seek(0)
                shutil.copyfileobj(self.out, sys.stdout, _CHUNK)
            self.out.close()
        for handle, temp, target in self.files:
            if keep and self.empty:
                handle.write("\n")  # as the reference writes an empty list: "\n".join([])+"\n"
            handle.close()
            try:
                if keep:
                    os.replace(temp, target)
                else:
                    os.unlink(temp)
            except OSError as exc:
                raise click.ClickException(f"{target}: cannot write: {exc.strerror or exc}"
                                           ) from None


def _hash_file(path: str, options: _Options, labelled: bool, batch: bool) -> None:
    """Hash one document; a ClickException when it is refused."""
    name = "<stdin>" if path == "-" else path
    stream, size, found_ignore = _spool(path)
    show = size >= PROGRESS_FROM and sys.stderr.isatty()
    warnings = _Warnings(name)
    with stream:
        lines = _Lines(path, f"{name}\t" if labelled else "", batch, options.prehash)
        try:
            with Progress(transient=True, disable=not show) as progress:
                task = progress.add_task(f"hashing {name}", total=size)
                for i, (hash_id, pre, done) in enumerate(_hash_lines(stream, found_ignore,
                                                                     options, warnings)):
                    lines.write(hash_id, pre)
                    if show and i % 2048 == 0:
                        progress.update(task, completed=done)
        except BaseException as exc:
            lines.close(keep=False)
            if not isinstance(exc, EpcisError):
                raise
            _refuse(name, exc)
    lines.close(keep=True)
    warnings.summary()


def _refuse(name: str, exc: EpcisError) -> None:
    sys.stdout.flush()
    for problem in exc.problems:
        click.echo(f"{name}: {problem}", err=True)
    raise click.ClickException(f"{name} is not a valid EPCIS document") from None


@click.command("hash")
@click.argument("files", nargs=-1, required=True)
@click.option("--prehash", "-p", is_flag=True,
              help="Also print each event's pre-hash string (after a tab).")
@click.option("--algorithm", "-a", type=click.Choice(_HASH_ALGORITHMS, case_sensitive=False),
              default="sha-256", show_default=True, help="Hash algorithm of the ni: URI.")
@click.option("--strict", is_flag=True,
              help="Refuse documents that are not valid EPCIS 2.0 (schema or the standard's "
                   "rules) instead of hashing them with warnings.")
@click.option("--with-filename/--no-filename", default=None,
              help="Start each line with FILE and a tab (the default with several files).")
@click.option("--batch", "-b", is_flag=True,
              help="Write each FILE's hash IDs to FILE's name with the extension replaced by "
                   ".hashes (pre-hash strings: .prehashes), as the reference tool's -b does.")
@click.option("--enforce-format", "--enforce_format", "-e", "syntax",
              type=click.Choice(["XML", "JSON"], case_sensitive=False),
              help="Read every FILE as XML or as JSON (default: from its content).")
def hash_command(files: tuple[str, ...], prehash: bool, algorithm: str, strict: bool,
                 with_filename: bool | None, batch: bool, syntax: str | None) -> None:
    """Print the CBV 2.0 Event Hash ID of every event, one per line in document order.

    FILE is an EPCIS 2.0 document in JSON-LD or XML, or `-` for standard input. Like the GS1
    reference tool, documents that are not valid EPCIS 2.0 are hashed too; their problems go
    to stderr as warnings (--strict refuses them). With several files each line is
    FILE<TAB>HASH. Documents are streamed (huge files work); one that declares `ignoreFields`
    is read whole. Exits 1 if any FILE was refused (unreadable, not a well-formed EPCIS
    document, or with --strict not valid), after hashing the others."""
    if batch and "-" in files:
        raise click.UsageError("--batch writes FILE.hashes beside each FILE: it cannot take"
                               " standard input (-)")
    options = _Options(algorithm, prehash, strict, _FORMATS.get((syntax or "").lower()))
    labelled = len(files) > 1 if with_filename is None else with_filename
    failed = False
    for path in files:
        try:
            _hash_file(path, options, labelled, batch)
        except click.ClickException as exc:  # refused: report, go on with the others
            click.echo(f"Error: {exc.message}", err=True)
            failed = True
    if failed:
        sys.exit(1)


COMMANDS.append(hash_command)
