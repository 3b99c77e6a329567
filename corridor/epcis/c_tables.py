"""corridor/_epcis_tables.h: the identifier and CBV tables of corridor.epcis for the C cores.

The compiled cores (corridor/epcis/_hashcore.c, corridor/store/_indexcore.c) take the tables
they share with Python from this header, written from corridor/epcis/identifiers.py and
corridor/epcis/cbv.py: the Digital Link heads, the EPC URI prefixes, the character sets, the
check digit weights and the CBV 1.x URNs. setup.py calls `write()` before compiling. This file
and those two modules are loaded by path there, so the build needs the standard library only
(not Corridor's dependencies). By hand: `python corridor/epcis/c_tables.py`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
HEADER = HERE.parent / "_epcis_tables.h"


def _load(name: str) -> ModuleType:
    """corridor.epcis.<name>, imported by path (without the corridor.epcis package)."""
    spec = importlib.util.spec_from_file_location(f"_corridor_c_tables_{name}",
                                                  HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _c_string(text: str) -> str:
    assert text.isascii() and text.isprintable()
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flags(name: str, chars: str, what: str) -> list[str]:
    """A 128-entry table: 1 for the ASCII codes of `chars`."""
    members = {ord(c) for c in chars}
    assert all(code < 128 for code in members)
    rows = [", ".join("1" if code in members else "0" for code in range(start, start + 16))
            for start in range(0, 128, 16)]
    return [f"/* {what}: 1 for a member, by ASCII code */",
            f"static const unsigned char {name}[128] EPCIS_UNUSED = {{",
            *(f"    {row}," for row in rows), "};"]


def _strings(name: str, table: dict[str, str], what: str) -> list[str]:
    """A 128-entry table of strings by ASCII code (NULL elsewhere)."""
    return [f"/* {what}: by ASCII code, NULL elsewhere */",
            f"static const char *const {name}[128] EPCIS_UNUSED = {{",
            *(f"    [{ord(key)}] = {_c_string(value)},  /* {key} */"
              for key, value in table.items()), "};"]


def header() -> str:
    """The text of corridor/_epcis_tables.h."""
    ids, cbv = _load("identifiers"), _load("cbv")
    dl = ids.DL_BASE
    lines = [
        "/* corridor/_epcis_tables.h: written by corridor/epcis/c_tables.py (setup.py runs it",
        " * before compiling) from corridor/epcis/identifiers.py and corridor/epcis/cbv.py.",
        " * Do not edit: change those modules. Header-only: each extension module includes its",
        " * own static copy. */",
        "#ifndef CORRIDOR_EPCIS_TABLES_H",
        "#define CORRIDOR_EPCIS_TABLES_H",
        "",
        "#if defined(__GNUC__)",
        "#define EPCIS_UNUSED __attribute__((unused))",
        "#else",
        "#define EPCIS_UNUSED",
        "#endif",
        "",
        "/* identifiers.DL_BASE, the Digital Link URI heads and qualifier segments */",
        f"#define EPCIS_DL_BASE {_c_string(dl)}",
        f"#define EPCIS_DL_GTIN {_c_string(f'{dl}/{ids.AI_GTIN}/')}",
        f"#define EPCIS_DL_SSCC {_c_string(f'{dl}/{ids.AI_SSCC}/')}",
        f"#define EPCIS_DL_GLN {_c_string(f'{dl}/{ids.AI_GLN}/')}",
        f"#define EPCIS_DL_PARTY {_c_string(f'{dl}/{ids.AI_PARTY}/')}",
        f"#define EPCIS_DL_SERIAL {_c_string(f'/{ids.AI_SERIAL}/')}",
        f"#define EPCIS_DL_LOT {_c_string(f'/{ids.AI_LOT}/')}",
        f"#define EPCIS_DL_GLN_EXTENSION {_c_string(f'/{ids.AI_GLN_EXTENSION}/')}",
        "",
        "/* EPC URI prefixes (identifiers.EPC_URN, SGTIN, SSCC, SGLN, LGTIN) */",
        f"#define EPCIS_EPC_URN {_c_string(ids.EPC_URN)}",
        f"#define EPCIS_SGTIN {_c_string(ids.SGTIN)}",
        f"#define EPCIS_SSCC {_c_string(ids.SSCC)}",
        f"#define EPCIS_SGLN {_c_string(ids.SGLN)}",
        f"#define EPCIS_LGTIN {_c_string(ids.LGTIN)}",
        f"#define EPCIS_COMPANY_PREFIX_MIN {ids.COMPANY_PREFIX_MIN}",
        f"#define EPCIS_COMPANY_PREFIX_MAX {ids.COMPANY_PREFIX_MAX}",
        "",
        *_flags("EPCIS_EPC_CHAR", ids.EPC_CHARS, "identifiers.EPC_CHARS"),
        "",
        *_strings("EPCIS_EPC_ESCAPES", ids.EPC_ESCAPES, "identifiers.EPC_ESCAPES"),
        "",
        *_strings("EPCIS_DL_PERCENT", ids.DL_PERCENT, "identifiers.DL_PERCENT"),
        "",
        *_flags("EPCIS_DL_CANONICAL", ids.DL_CANONICAL_CHARS, "identifiers.DL_CANONICAL_CHARS"),
        "",
        *_flags("EPCIS_KEY_PLAIN", ids.KEY_PLAIN, "identifiers.KEY_PLAIN"),
        "",
        "/* cbv.CBV_URN and the URN prefixes of cbv.URN_TO_WEB */",
        f"#define EPCIS_CBV_URN {_c_string(cbv.CBV_URN)}",
        f"#define EPCIS_N_CBV_URNS {len(cbv.URN_TO_WEB)}",
        "static const char *const EPCIS_CBV_URNS[EPCIS_N_CBV_URNS] EPCIS_UNUSED = {",
        *(f"    {_c_string(urn)}," for urn, _ in cbv.URN_TO_WEB), "};",
        "",
        "/* identifiers.check_digit of n ASCII digits, as a number */",
        "static inline int epcis_check_digit(const char *digits, long n) {",
        "    /* identifiers.CHECK_WEIGHTS: of the rightmost digit, the next, and so on */",
        "    static const int weights[2] = {" + ", ".join(map(str, ids.CHECK_WEIGHTS)) + "};",
        "    int total = 0;",
        "    for (long i = n - 1; i >= 0; i--)",
        "        total += weights[(n - 1 - i) & 1] * (digits[i] - '0');",
        "    return (10 - total % 10) % 10;",
        "}",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def write(path: Path = HEADER) -> bool:
    """Write the header if its text changed (so make and setuptools rebuild only then);
    whether it was written."""
    text = header()
    if path.exists() and path.read_text(encoding="ascii") == text:
        return False
    path.write_text(text, encoding="ascii")
    return True


if __name__ == "__main__":
    print(f"{HEADER}: {'written' if write() else 'up to date'}")
