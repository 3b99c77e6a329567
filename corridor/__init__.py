"""Corridor: a verifiable supply-chain transparency ledger for the Middle Corridor."""

__all__ = ["__version__"]

__version__ = "0.1.0"
