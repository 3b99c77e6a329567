"""A batch's emissions read from its logged event, and its specific embedded emissions by the
Annex IV method; every expected figure is worked by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from corridor.emissions.batch import electricity_factors, read_batch, totals
from corridor.emissions.cbam import Precursor, specific_embedded_emissions
from corridor.emissions.cbam_data import CbamError
from corridor.emissions.events import FiguresMissing, LoggedEvent
from tests.emissions.conftest import LOT, ROD_LOT, logged, smelting

D = Decimal


def test_the_batch_reads_the_events_figures(aluminium_event: LoggedEvent) -> None:
    batch = read_batch(aluminium_event, LOT, upstream=True)
    assert batch.cn == "76011000" and batch.lot_number == "AL26-0901"
    assert batch.tonnes == D("75.65")  # 75 650 kg / 1000
    assert batch.direct == {"anode_consumption": D(121000), "pfc": D("27576.6")}
    assert batch.upstream == {"alumina": D(190000)}
    sums = totals([batch], electricity_factors())
    # coal: 1 134 750 kWh x 0.8 = 907 800 kWh x 820 g/kWh = 744 396 000 g = 744.396 t
    # hydro: 1 134 750 kWh x 0.2 = 226 950 kWh x 24 g/kWh = 5 446 800 g = 5.4468 t
    assert sums.kwh_by_source == {"coal": D(907800), "hydro": D(226950)}
    assert sums.electricity == D("749.8428")  # 744.396 + 5.4468
    assert sums.direct == D("148.5766")  # (121 000 + 27 576.6) kg / 1000


def test_see_of_a_demo_like_aluminium_batch(aluminium_event: LoggedEvent) -> None:
    see = specific_embedded_emissions([read_batch(aluminium_event, LOT)])
    assert see.category == "Unwrought aluminium"
    assert see.activity_level == D("75.65")
    # direct: 148.5766 t / 75.65 t = 1.964 t/t  (75.65 x 1.964 = 148.5766)
    assert see.direct == D("1.964")
    # indirect: 749.8428 t / 75.65 t = 9.912 t/t  (15 000 kWh/t x (0.8 x 0.820 + 0.2 x 0.024)
    # = 15 x 0.6608 = 9.912)
    assert see.indirect == D("9.912")
    # aluminium is an Annex II good: only the direct SEE is charged
    assert not see.indirect_charged and see.charged == D("1.964")
    assert see.evidence == (aluminium_event.hash_id,) and see.basis == "actual"
    # importing 20 t of it embeds 20 x 1.964 = 39.28 tCO2e
    assert see.charged * 20 == D("39.28")


def test_a_grid_factor_replaces_the_batchs_mix(aluminium_event: LoggedEvent) -> None:
    see = specific_embedded_emissions([read_batch(aluminium_event, LOT)],
                                      grid_factor=D("0.5"))
    # 1 134.75 MWh x 0.5 t/MWh = 567.375 t; / 75.65 t = 7.5 t/t
    assert see.attributed_indirect == D("567.375") and see.indirect == D("7.5")
    assert see.direct == D("1.964")


def test_precursors_add_their_embedded_emissions_by_mass() -> None:
    ilmd = {"cor:cnCode": "76042910", "cor:electricityKWh": 5000,
            "cor:electricitySource": [{"cor:source": "hydro", "cor:share": 1}],
            "cor:directEmissions": [{"cor:source": "furnace_gas", "cor:co2eKg": 2000}]}
    batch = read_batch(logged(smelting(ROD_LOT, 10000, ilmd)), ROD_LOT)
    ingot = Precursor("76011000", D("10.2"), D("1.964"), D("9.912"))
    see = specific_embedded_emissions([batch], precursors=[ingot])
    assert see.category == "Aluminium products"
    # precursor direct: 10.2 t x 1.964 t/t = 20.0328 t; indirect: 10.2 x 9.912 = 101.1024 t
    assert see.precursors_direct == D("20.0328")
    assert see.precursors_indirect == D("101.1024")
    # direct SEE: (2 t + 20.0328 t) / 10 t = 2.20328 t/t
    assert see.direct == D("2.20328") and see.charged == D("2.20328")
    # indirect SEE: (5 000 kWh x 24 g = 0.12 t + 101.1024 t) / 10 t = 10.12224 t/t
    assert see.indirect == D("10.12224")


def test_missing_figures_are_named(aluminium_event: LoggedEvent) -> None:
    event = smelting()
    del event["ilmd"]["cor:electricityKWh"]
    del event["ilmd"]["cor:directEmissions"]
    broken = logged(event)
    with pytest.raises(FiguresMissing) as refused:
        read_batch(broken, LOT)
    assert any("cor:electricityKWh" in m for m in refused.value.missing)
    assert any("cor:directEmissions" in m for m in refused.value.missing)


def test_an_out_of_scope_good_has_no_see() -> None:
    ilmd = {"cor:cnCode": "76151010", "cor:electricityKWh": 10,
            "cor:electricitySource": [{"cor:source": "hydro", "cor:share": 1}],
            "cor:directEmissions": [{"cor:source": "gas", "cor:co2eKg": 1}]}
    batch = read_batch(logged(smelting(ROD_LOT, 100, ilmd)), ROD_LOT)
    with pytest.raises(CbamError, match="7615"):
        specific_embedded_emissions([batch])
