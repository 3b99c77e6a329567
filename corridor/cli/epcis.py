"""`corridor` commands for the epcis concern."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

import click
from rich.progress import Progress

from corridor.config import Settings
from corridor.epcis.documents import read_document, to_json_bytes, to_xml, validate_bytes
from corridor.epcis.problems import EpcisError
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

_HASH_ALGORITHMS = ["sha-256", "sha3-256", "sha-384", "sha-512", "sha256", "sha384", "sha512"]
_IGNORE_MARK = b"ignoreFields"
_UNLIMITED = 1 << 62  # a local file may be as large as the disk; XML safety limits still apply


class _Counting:
    """A binary stream that counts what has been read (for the progress bar)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


def _spool(path: str) -> tuple[BinaryIO, int, bool]:
    """(seekable stream at 0, size, whether the document has an `ignoreFields` list). Standard
    input is spooled to a temporary file so that huge inputs stream from disk too."""
    import tempfile

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


def _hash_lines(stream: BinaryIO, found_ignore: bool, algorithm: str, prehash: bool):
    """(line, bytes read so far) for every event in document order."""
    from corridor.epcis.documents import iter_events
    from corridor.epcis.hashid import document_ignore_fields, event_hash_id, prehash_string

    counter = _Counting(stream)
    if found_ignore:  # the document-level ignoreFields list needs the whole document
        doc = read_document(counter.read(), max_bytes=_UNLIMITED)
        ignore = document_ignore_fields(doc.header)
        pairs = ((event, doc.namespaces) for event in doc.events)
    else:
        ignore = []
        pairs = iter_events(counter, max_bytes=_UNLIMITED)
    for event, namespaces in pairs:
        line = event_hash_id(event, namespaces, algorithm, ignore_fields=ignore)
        if prehash:
            line += "\t" + prehash_string(event, namespaces, ignore_fields=ignore)
        yield line, counter.count


@click.command("hash")
@click.argument("files", nargs=-1, required=True)
@click.option("--prehash", is_flag=True,
              help="Also print each event's pre-hash string (after a tab).")
@click.option("--algorithm", "-a", type=click.Choice(_HASH_ALGORITHMS, case_sensitive=False),
              default="sha-256", show_default=True, help="Hash algorithm of the ni: URI.")
def hash_command(files: tuple[str, ...], prehash: bool, algorithm: str) -> None:
    """Print the CBV 2.0 Event Hash ID of every event, one per line in document order.

    FILE is an EPCIS 2.0 document in JSON-LD or XML, or `-` for standard input. Documents are
    streamed (huge files work); one that declares `ignoreFields` is read whole."""
    out = sys.stdout
    for path in files:
        name = "<stdin>" if path == "-" else path
        stream, size, found_ignore = _spool(path)
        show = size >= PROGRESS_FROM and sys.stderr.isatty()
        try:
            with stream, Progress(transient=True, disable=not show) as progress:
                task = progress.add_task(f"hashing {name}", total=size)
                for i, (line, done) in enumerate(_hash_lines(stream, found_ignore, algorithm,
                                                             prehash)):
                    out.write(line + "\n")
                    if show and i % 2048 == 0:
                        progress.update(task, completed=done)
        except EpcisError as exc:
            out.flush()
            for problem in exc.problems:
                click.echo(f"{name}: {problem.location}: {problem.message} [{problem.rule}]",
                           err=True)
            raise click.ClickException(f"{name} is not a valid EPCIS document") from None


COMMANDS.append(hash_command)
