"""Build step for the optional C core of the Event Hash ID (corridor/epcis/_hashcore.c).

Everything else is declared in pyproject.toml. `optional=True`: without a compiler the install
still succeeds and corridor.epcis.hash_fast uses its pure-Python path.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("corridor.epcis._hashcore", ["corridor/epcis/_hashcore.c"],
                             optional=True)])
