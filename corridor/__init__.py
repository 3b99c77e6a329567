"""Corridor: a verifiable supply-chain transparency ledger for the Middle Corridor."""

__version__ = "0.1.0"
