"""Build step for the optional C parts: the core of the Event Hash ID
(corridor/epcis/_hashcore.c), the RFC 8785 fast-path check (corridor/ledger/_jcscore.c) and
the core of an event's index rows (corridor/store/_indexcore.c).

Everything else is declared in pyproject.toml. `optional=True`: without a compiler the install
still succeeds and corridor.epcis.hash_fast, corridor.ledger.jcs and corridor.store.events use
their Python paths.
"""

from setuptools import Extension, setup

# both time conversions include corridor/_civil_time.h
setup(ext_modules=[Extension("corridor.epcis._hashcore", ["corridor/epcis/_hashcore.c"],
                             depends=["corridor/_civil_time.h"], optional=True),
                   Extension("corridor.ledger._jcscore", ["corridor/ledger/_jcscore.c"],
                             optional=True),
                   Extension("corridor.store._indexcore", ["corridor/store/_indexcore.c"],
                             depends=["corridor/_civil_time.h"], optional=True)])
