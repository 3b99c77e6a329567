"""corridor.emissions: one emissions model for the green-metal credentials and EU CBAM.

Pure (no SQL, no HTTP): events (LoggedEvent and the careful reading of its figures), batch
(a producing event's emissions: direct, electricity by source with its factors, upstream),
cbam_data (the CBAM data files as typed objects) and cbam (scope, specific embedded emissions
by the Annex IV method, default values with the year's mark-up, the 50-tonne de minimis,
certificates due and their cost). corridor.credentials imports this package, never the
reverse.
"""

from corridor.emissions.batch import (
    BatchEmissions,
    ElectricityFactors,
    EmissionTotals,
    electricity_factors,
    produces,
    read_batch,
    totals,
)
from corridor.emissions.events import FiguresMissing, LoggedEvent

__all__ = [
    "BatchEmissions", "ElectricityFactors", "EmissionTotals", "FiguresMissing", "LoggedEvent",
    "electricity_factors", "produces", "read_batch", "totals",
]
