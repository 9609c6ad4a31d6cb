"""Leave-one-programme-out on emulators (calibration.cross_validation): a programme whose
targets share a parameter with the others is predicted well; one whose parameter only its
own targets inform is not, and the table says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_joint_calibration import START, _case

from calibration.cross_validation import leave_one_programme_out, weighted_quantile
from calibration.history_matching import Observations, _sobol
from calibration.spec import load_spec
from sim.rng import Streams

TRUTH_Z = np.array([0.3, 0.6])


def _simulate(z: np.ndarray) -> np.ndarray:
    """A: the shared parameter; B: the shared parameter again; C: the other one."""
    return np.column_stack([z[:, 0], 0.5 + 0.5 * z[:, 0], z[:, 1]])


def test_a_left_out_programme_is_predicted_from_the_shared_parameter(tmp_path: Path) -> None:
    cal = load_spec(_case(tmp_path, {}, START))
    z = _sobol(2, 64, Streams(1, 0), 0)
    truth = _simulate(TRUTH_Z[None, :])[0]
    obs = Observations(
        names=("A", "B", "C"),
        low=truth,
        high=truth,
        var=np.full(3, 0.02**2),
        weights=np.ones(3),
    )
    table = leave_one_programme_out(
        cal, z, _simulate(z), obs, ["a", "b", "b"], Streams(2, 0), restarts=0
    )
    error = dict(zip(table["target_id"], table["abs_error"], strict=True))
    assert table["left_out"].to_list() == ["a", "b", "b"]
    assert error["A"] < 0.05  # B pins the shared parameter
    assert error["C"] > 0.05  # nothing else informs C's parameter
    row = table.filter(table["target_id"] == "A").row(0, named=True)
    assert row["pred_low"] <= row["predicted"] <= row["pred_high"]


def test_weighted_quantile_by_hand() -> None:
    x = np.array([3.0, 1.0, 2.0, 4.0])
    w = np.array([0.1, 0.4, 0.4, 0.1])
    assert weighted_quantile(x, w, 0.3) == 1.0
    assert weighted_quantile(x, w, 0.5) == 2.0
    assert weighted_quantile(x, w, 0.95) == 4.0
