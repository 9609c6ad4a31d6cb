"""A shard of areas is the whole run restricted to its areas, bit for bit.

A batch splits each (scenario, replicate) into shards of contract package areas, and
each shard draws only its own referrals (:func:`sim.population.build_population` with
``areas``): every draw about a claimant is keyed by the claimant's id in the whole run,
so a shard's rows, event log, provider rows and monthly counts are exactly the whole
run's for those areas, and the shards' monthly counts add up to the whole run's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import sim
from sim.population import build_population
from sim.rng import Streams
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
N_CLAIMANTS = 1_500
SEED = 7
SHARDS = [(0, 1, 2), (3,), tuple(range(4, 18))]
"""Cover the WP's 18 areas unevenly: a shard of one area, one of several, one of most."""


def _shards_of(n_areas: int) -> list[tuple[int, ...]]:
    if n_areas >= 18:
        return SHARDS
    return [tuple(range(0, n_areas, 2)), tuple(range(1, n_areas, 2))]


@pytest.mark.parametrize(
    "scenario",
    [
        "calibrated/work_programme.toml",  # providers, triage, market
        "jcp_offer.toml",  # no providers
        "pathways_provider.toml",  # interventions (keyed take-up), activity fees
        "wp_supply_chain.toml",  # specialists
    ],
)
def test_shards_are_the_whole_run_restricted(scenario: str) -> None:
    sc = load_scenario(ROOT / "scenarios" / scenario)
    whole = sim.run(sc, n_claimants=N_CLAIMANTS, seed=SEED, replicate=1, event_log=True)
    n_areas = len(sc.providers.primes_per_area)
    shards = _shards_of(n_areas)
    assert sorted(a for s in shards for a in s) == list(range(n_areas))
    monthly: list[pl.DataFrame] = []
    for areas in shards:
        part = sim.run(
            sc, n_claimants=N_CLAIMANTS, seed=SEED, replicate=1, event_log=True, areas=areas
        )
        mine = whole.ledger.filter(pl.col("area").is_in(list(areas)))
        assert part.ledger.height == mine.height
        assert_frame_equal(part.ledger, mine)
        ids = mine["claimant_id"]
        assert part.events is not None and whole.events is not None
        assert_frame_equal(
            part.events, whole.events.filter(pl.col("claimant_id").is_in(ids.implode()))
        )
        if whole.providers.height:
            assert_frame_equal(
                part.providers, whole.providers.filter(pl.col("area").is_in(list(areas)))
            )
        monthly.append(part.monthly)
    keys = [c for c in whole.monthly.columns if c != "n"]
    added = pl.concat(monthly).group_by(keys, maintain_order=True).agg(pl.col("n").sum())
    assert_frame_equal(added.sort(keys), whole.monthly.sort(keys), check_dtypes=False)


def test_shard_population_draws_only_its_own_rows() -> None:
    sc = load_scenario(ROOT / "scenarios" / "calibrated" / "work_programme.toml")
    streams = Streams(SEED, 0)
    whole = build_population(sc, N_CLAIMANTS, streams)
    part = build_population(sc, N_CLAIMANTS, streams, areas=[3, 5])
    rows = np.flatnonzero(np.isin(whole.area, [3, 5]))
    assert part.n == len(rows) < whole.n // 4
    np.testing.assert_array_equal(part.ids, rows)
    for name in ("group", "distance", "signal", "referred_at", "attach_at", "provider", "u_prime"):
        np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[rows])
    assert part.last_attach_at == whole.last_attach_at == float(whole.attach_at.max())
    np.testing.assert_array_equal(whole.ids, np.arange(N_CLAIMANTS))
