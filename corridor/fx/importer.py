"""Loading recorded responses (VCR YAML cassettes) offline, through the same parsers as live
fetches. An import is all or nothing: every response is parsed first, and one refused
response stores nothing."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml

from corridor.fx import cbt, cbu, nbk, nbkr, nbt
from corridor.fx.model import FeedError, Publication
from corridor.fx.parsing import header_date
from corridor.store.db import Connection
from corridor.store.fx_store import StoreResult, store_publications

DATA_DIR = Path(__file__).resolve().parent / "data"


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
    responses: int = 0
    publications: int = 0
    skipped: list[str] = field(default_factory=list)
    stored: StoreResult = field(default_factory=StoreResult)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml's when built in: 10x faster) plus Ruby VCR's `!binary` tag."""


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    return base64.b64decode(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!binary", _binary)


def load_cassette(path: Path) -> list[Recorded]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, ValueError, yaml.YAMLError) as exc:
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


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.yml")) + sorted(path.glob("*.yaml"))
        if not files:
            raise CassetteError(f"{path}: no *.yml cassettes in this folder")
        return files
    if not path.is_file():
        raise CassetteError(f"{path}: no such file or folder")
    return [path]


def import_recorded(conn: Connection, path: str | Path) -> ImportReport:
    """Load a cassette (or every cassette of a folder) into fx_rates."""
    report = ImportReport()
    pubs: list[Publication] = []
    problems: list[str] = []
    for file in _files(Path(path)):
        report.files.append(str(file))
        for rec in load_cassette(file):
            report.responses += 1
            if rec.status != 200:
                report.skipped.append(f"{rec.where}: HTTP {rec.status}, no table")
                continue
            try:
                pubs += parse_recorded(rec)
            except FeedError as exc:
                problems.append(f"{rec.where}: {exc}")
    if problems:
        raise CassetteError(f"{len(problems)} response(s) refused, nothing stored: "
                            + "; ".join(problems))
    report.publications = len(pubs)
    report.stored = store_publications(conn, pubs)
    return report


def import_bundled(conn: Connection) -> ImportReport:
    """The recorded responses shipped in corridor/fx/data (the demo uses these)."""
    return import_recorded(conn, DATA_DIR)
