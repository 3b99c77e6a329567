"""Tables of the fx concern.

fx_rates: one row per (bank, currency, effective date), exactly as the bank published it.
`value` and `units` are the published figures; `rate` = value / units (home currency per ONE
unit). All three are exact decimals kept as TEXT, never floats.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "fx-0001-rates",
        """
CREATE TABLE fx_rates (
    bank TEXT NOT NULL,
    home TEXT NOT NULL,
    currency TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    units {BIGINT} NOT NULL,
    value TEXT NOT NULL,
    rate TEXT NOT NULL,
    publication_date TEXT,
    source_url TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (bank, currency, effective_date)
);
CREATE INDEX fx_rates_by_date ON fx_rates (effective_date, bank);
""",
    ),
]
