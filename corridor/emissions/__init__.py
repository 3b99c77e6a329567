"""corridor.emissions: one emissions model for the green-metal credentials and EU CBAM.

Pure (no SQL, no HTTP): events (LoggedEvent and the careful reading of its figures), batch
(a producing event's emissions: direct, electricity by source with its factors, upstream),
cbam_data (the CBAM data files as typed objects, the EU Member States), cbam (scope,
specific embedded emissions by the Annex IV method, default values with the year's mark-up,
the 50-tonne de minimis, certificates due and their cost) and declaration (an importer's
declaration lines per CN code, country of origin and installation, from its imports and the
actual values its suppliers communicated). corridor.credentials and corridor.cbam import this
package, never the reverse.
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
from corridor.emissions.declaration import (
    ActualValues,
    Declaration,
    DeclarationLine,
    ImportedLot,
    LotFigure,
    declaration,
)
from corridor.emissions.events import FiguresMissing, LoggedEvent

__all__ = [
    "ActualValues", "BatchEmissions", "Declaration", "DeclarationLine", "ElectricityFactors",
    "EmissionTotals", "FiguresMissing", "ImportedLot", "LoggedEvent", "LotFigure",
    "declaration", "electricity_factors", "produces", "read_batch", "totals",
]
