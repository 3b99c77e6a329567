"""Loading rates offline, through the same parsers and refusals as live fetches: recorded
responses (VCR YAML cassettes) and the banks' own files as downloaded from their sites (NBK's
XML, NBKR's windows-1251 XML, NBT's XML, CBU's JSON, CBT's XML). An import is all or nothing:
every file is parsed first, and one refused response or file stores nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml

from corridor.fx import cbt, cbu, nbk, nbkr, nbt
from corridor.fx.http import MAX_BYTES
from corridor.fx.model import FeedError, Publication, restated_from
from corridor.fx.parsing import header_date
from corridor.store.db import Connection
from corridor.store.fx_store import StoreResult, store_publications

DATA_DIR = Path(__file__).resolve().parent / "data"

# A bank's own file, as saved from its site, read by the parser of its live responses.
FILE_PARSERS: dict[str, Callable[..., list[Publication]]] = {
    "NBK": nbk.parse_any,  # get_rates.cfm (<rates>) or rates_all.xml (<rss>)
    "NBKR": nbkr.parse,  # daily.xml, weekly.xml
    "NBT": nbt.parse,  # export_xml.php
    "CBU": cbu.parse,  # the JSON archive
    "CBT": cbt.parse,  # kurs/YYYY/DDMMYYYY.xml
}
# A file carries no "date asked for" to check its table against, so a table dated after today
# is refused instead; by at most this many days, since banks set rates ahead (NBKR the day
# before, NBK on Friday for Monday).
FILE_DAYS_AHEAD = 3
# A cassette holds many responses, each bounded by MAX_BYTES like a live one.
CASSETTE_MAX_BYTES = 64 * MAX_BYTES


class CassetteError(ValueError):
    """A cassette could not be read or one of its responses was refused."""


@dataclass(frozen=True)
class Recorded:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    where: str  # file and index, for errors


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    responses: int = 0  # recorded responses read (bank files: 0)
    publications: int = 0
    skipped: list[str] = field(default_factory=list)
    stored: StoreResult = field(default_factory=StoreResult)
    bank_files: int = 0  # banks' own files read
    dates: list[date] = field(default_factory=list)  # effective dates of the tables read

    def summary(self) -> str:
        """One line: what was read and what storing it changed."""
        names = ", ".join(Path(f).name for f in self.files)
        parts = []
        if self.responses:
            parts.append(f"{self.responses} responses")
        if self.bank_files:
            parts.append(f"{self.bank_files} bank file(s)")
        read = ", ".join(parts) or "nothing read"
        span = ""
        if self.dates:
            first, last = min(self.dates).isoformat(), max(self.dates).isoformat()
            span = f", dated {first}" if first == last else f", dated {first} .. {last}"
        s = self.stored
        return (f"{names}: {read}, {self.publications} tables; {s.inserted} new, "
                f"{s.updated} corrected, {s.unchanged} unchanged rates{span}")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml's, the faster, when built in) plus Ruby VCR's `!binary` tag."""


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    return base64.b64decode(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!binary", _binary)


def load_cassette(path: Path, raw: bytes | None = None) -> list[Recorded]:
    """The responses recorded in a cassette (`raw`: its bytes, when already read)."""
    if raw is None:
        raw = _read_bounded(path, CASSETTE_MAX_BYTES)
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
    except (ValueError, yaml.YAMLError) as exc:  # UnicodeDecodeError is a ValueError
        raise CassetteError(f"{path}: not a readable YAML cassette: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("http_interactions"), list):
        raise CassetteError(f"{path}: expected a VCR cassette with http_interactions")
    out = []
    for i, item in enumerate(data["http_interactions"]):
        where = f"{path.name}: http_interactions[{i}]"
        try:
            url = item["request"]["uri"]
            resp = item["response"]
            status = int(resp["status"]["code"])
            raw_headers = resp.get("headers") or {}
            body = resp["body"]["string"]
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"{where}: missing request.uri, response.status.code or "
                                f"response.body.string ({exc})") from exc
        if not isinstance(url, str):
            raise CassetteError(f"{where}.request.uri: not a string")
        if isinstance(body, str):
            body = body.encode("utf-8")  # VCR keeps valid UTF-8 bodies as text
        if not isinstance(body, bytes):
            raise CassetteError(f"{where}.response.body.string: not text or !binary")
        if len(body) > MAX_BYTES:  # the same bound as a live response
            raise CassetteError(f"{where}.response.body.string: larger than {MAX_BYTES} bytes")
        headers = {str(k): str(v[0] if isinstance(v, list) and v else v)
                   for k, v in raw_headers.items()}
        out.append(Recorded(url, status, headers, body, where))
    return out


def requested_date(url: str) -> date | None:
    """The day a recorded request asked for, read back from its URL."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    try:
        if "fdate" in query:
            return datetime.strptime(query["fdate"][0], "%d.%m.%Y").date()
        if "date" in query:
            return date.fromisoformat(query["date"][0])
        parts = [p for p in parsed.path.split("/") if p]
        if parsed.hostname and parsed.hostname.endswith("cbu.uz") and parts:
            return date.fromisoformat(parts[-1])
        if parsed.hostname and parsed.hostname.endswith("cbt.tm") and parts:
            return datetime.strptime(parts[-1].removesuffix(".xml"), "%d%m%Y").date()
    except ValueError:
        return None
    return None


def parse_recorded(rec: Recorded) -> list[Publication]:
    """Pick the bank's parser by host; the requested date is checked like a live fetch."""
    host = (urlparse(rec.url).hostname or "").removeprefix("www.")
    kwargs = {"url": rec.url, "requested": requested_date(rec.url),
              "published": header_date(rec.headers)}
    if host == "nationalbank.kz":
        if "rates_all" in rec.url:
            return nbk.parse_latest(rec.body, url=rec.url, published=kwargs["published"])
        return nbk.parse(rec.body, **kwargs)
    if host == "nbkr.kg":
        return nbkr.parse_any(rec.body, **kwargs)
    if host == "nbt.tj":
        return nbt.parse(rec.body, **kwargs)
    if host == "cbu.uz":
        return cbu.parse(rec.body, **kwargs)
    if host == "cbt.tm":
        return cbt.parse(rec.body, **kwargs)
    raise CassetteError(f"{rec.where}: {rec.url}: not a known central-bank URL")


def _files(path: Path, bank: str | None) -> list[Path]:
    if path.is_dir():
        patterns = ["*.yml", "*.yaml"] + (["*.xml", "*.json"] if bank else [])
        files = sorted(f for pattern in patterns for f in path.glob(pattern))
        if not files:
            raise CassetteError(f"{path}: no {', '.join(patterns)} files in this folder")
        return files
    if not path.is_file():
        raise CassetteError(f"{path}: no such file or folder")
    return [path]


def _read_bounded(path: Path, limit: int) -> bytes:
    """The file's bytes, refusing one larger than `limit`."""
    try:
        with path.open("rb") as fh:
            body = fh.read(limit + 1)
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(body) > limit:
        raise CassetteError(f"{path}: larger than {limit} bytes, refused")
    return body


def _looks_like_bank_file(body: bytes) -> bool:
    """XML or JSON, as the banks publish, rather than a YAML cassette."""
    head = body.lstrip(b"\xef\xbb\xbf").lstrip()
    return head[:1] in (b"<", b"[", b"{")


def parse_bank_file(body: bytes, bank: str, name: str, *,
                    today: date | None = None) -> list[Publication]:
    """A bank's own file through the parser of its live responses. `name` (the file's path)
    stands for the URL in errors; a table dated more than FILE_DAYS_AHEAD days after
    `today` is refused (wrong file, or a wrong clock)."""
    parser = FILE_PARSERS[bank]
    pubs = parser(body, url=name)
    latest = (today or datetime.now(UTC).date()) + timedelta(days=FILE_DAYS_AHEAD)
    for pub in pubs:
        if pub.effective_date > latest:
            raise FeedError(bank, name, "effective date",
                            f"the table is dated {pub.effective_date.isoformat()}, after "
                            f"{latest.isoformat()} (today + {FILE_DAYS_AHEAD} days): refused")
    return pubs


def check_bank(bank: str | None) -> str | None:
    if bank is None:
        return None
    code = bank.strip().upper()
    if code not in FILE_PARSERS:
        raise ValueError(f"--bank: unknown {bank!r}; choose from "
                         f"{', '.join(b.lower() for b in FILE_PARSERS)}")
    return code


def _bank_of(rec: Recorded) -> str | None:
    host = (urlparse(rec.url).hostname or "").removeprefix("www.")
    hosts = {"nationalbank.kz": "NBK", "nbkr.kg": "NBKR", "nbt.tj": "NBT", "cbu.uz": "CBU",
             "cbt.tm": "CBT"}
    return hosts.get(host)


def _collect(path: Path, bank: str | None, today: date | None,
             problems: list[str]) -> tuple[ImportReport, list[Publication]]:
    """Parse every response or bank file under `path`; refusals go to `problems`."""
    report = ImportReport()
    pubs: list[Publication] = []
    for file in _files(path, bank):
        report.files.append(str(file))
        body = _read_bounded(file, CASSETTE_MAX_BYTES)
        if _looks_like_bank_file(body):
            if len(body) > MAX_BYTES:  # the bound of a live response
                problems.append(f"{bank or 'bank'} {file}: body: larger than {MAX_BYTES} bytes "
                                "(a bank's table is a few tens of kilobytes)")
                continue
            if bank is None:
                raise CassetteError(
                    f"{file}: a bank's own XML or JSON file: say which bank published it with "
                    f"--bank {'|'.join(b.lower() for b in FILE_PARSERS)}")
            report.bank_files += 1
            try:
                got = parse_bank_file(body, bank, str(file), today=today)
            except FeedError as exc:
                problems.append(str(exc))
                continue
            for pub in got:  # where the table came from: this file
                pub.source_url = file.resolve().as_uri()
            pubs += got
            continue
        for rec in load_cassette(file, body):
            report.responses += 1
            if rec.status != 200:
                report.skipped.append(f"{rec.where}: HTTP {rec.status}, no table")
                continue
            if bank is not None and _bank_of(rec) not in (None, bank):
                problems.append(f"{rec.where}: {rec.url} is a response of {_bank_of(rec)}, "
                                f"not of --bank {bank.lower()}")
                continue
            try:
                pubs += parse_recorded(rec)
            except (FeedError, CassetteError) as exc:
                problems.append(f"{rec.where}: {exc}")
    report.publications = len(pubs)
    report.dates = sorted({p.effective_date for p in pubs})
    return report, pubs


def import_files(conn: Connection, paths: Iterable[str | Path], *, bank: str | None = None,
                 today: date | None = None) -> list[ImportReport]:
    """Load cassettes, folders of them, or (with `bank`) that bank's own published files,
    one report per path. Every file is read and parsed first; if any is refused, nothing at
    all is stored and CassetteError names each refused file and what is wrong with it."""
    code = check_bank(bank)
    problems: list[str] = []
    parsed = [_collect(Path(p), code, today, problems) for p in paths]
    if problems:
        raise CassetteError(f"{len(problems)} refused, nothing stored: " + "; ".join(problems))
    with conn.transaction():  # one transaction for all the files: all or nothing
        for report, pubs in parsed:
            report.stored = store_publications(conn, pubs, is_restatement=restated_from)
    return [report for report, _ in parsed]


def import_recorded(conn: Connection, path: str | Path) -> ImportReport:
    """Load a cassette (or every cassette of a folder) into fx_rates."""
    return import_files(conn, [path])[0]


def import_bundled(conn: Connection) -> ImportReport:
    """The recorded responses shipped in corridor/fx/data (the demo uses these)."""
    return import_recorded(conn, DATA_DIR)


def bundled_publications() -> list[Publication]:
    """Every table of the recorded responses shipped in corridor/fx/data, parsed."""
    problems: list[str] = []
    _, pubs = _collect(DATA_DIR, None, None, problems)
    if problems:
        raise CassetteError("; ".join(problems))
    return pubs
