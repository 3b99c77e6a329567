"""Build step for the optional C parts: the core of the Event Hash ID
(corridor/epcis/_hashcore.c), the RFC 8785 fast-path check (corridor/ledger/_jcscore.c) and
the core of an event's index rows (corridor/store/_indexcore.c).

Everything else is declared in pyproject.toml. `optional=True`: without a compiler the install
still succeeds and corridor.epcis.hash_fast, corridor.ledger.jcs and corridor.store.events use
their Python paths.

The two EPCIS cores take the identifier and CBV tables they share with Python from
corridor/_epcis_tables.h, a build artifact written here first from corridor/epcis/identifiers.py
and corridor/epcis/cbv.py by corridor/epcis/c_tables.py (loaded by path: the standard library
is all it needs).
"""

import importlib.util

from setuptools import Extension, setup


def write_epcis_tables() -> None:
    spec = importlib.util.spec_from_file_location("_corridor_c_tables",
                                                  "corridor/epcis/c_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write()


write_epcis_tables()
# both time conversions include corridor/_civil_time.h, both EPCIS cores the tables
EPCIS_DEPENDS = ["corridor/_civil_time.h", "corridor/_epcis_tables.h",
                 "corridor/epcis/identifiers.py", "corridor/epcis/cbv.py"]
setup(ext_modules=[Extension("corridor.epcis._hashcore", ["corridor/epcis/_hashcore.c"],
                             depends=EPCIS_DEPENDS, optional=True),
                   Extension("corridor.ledger._jcscore", ["corridor/ledger/_jcscore.c"],
                             optional=True),
                   Extension("corridor.store._indexcore", ["corridor/store/_indexcore.c"],
                             depends=EPCIS_DEPENDS, optional=True)])
