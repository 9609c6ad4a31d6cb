"""History matching with Gaussian-process emulators: emulator, implausibility rule,
recovery on a toy simulator and on the model, resume from the cache, bad settings.

The toy simulator is a known smooth function of three parameters plus keyed noise; the
third parameter moves nothing, so the method must recover the first two inside its
posterior intervals and flag the third as not identified. The model recovery reuses the
small scenario of ``test_calibration`` (targets simulated at known parameters, fitted
from another start).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from test_calibration import OPTS, START, TRUTH, _case
from typer.testing import CliRunner

from calibration.abc import weighted_quantile
from calibration.cli import CalibrationResult, calibrate, choose_estimate
from calibration.emulator import fit_emulator
from calibration.evaluate import Evaluator, make_executor
from calibration.history_matching import (
    Observations,
    history_match,
    implausibility,
    kth_largest,
    sensitivity,
)
from calibration.spec import HistoryMatchingSettings, Parameter, load_spec
from pbrsim.cli import app
from sim.rng import Streams

FloatArray = npt.NDArray[np.float64]


def _grid(n: int, d: int, key: int) -> FloatArray:
    streams = Streams(seed=11, replicate=0)
    ids = np.repeat(np.arange(n), d)
    occ = np.tile(np.arange(d), n)
    return streams.uniforms("test.grid", ids + key * 100_000, occ).reshape(n, d)


def _smooth(z: FloatArray) -> FloatArray:
    return np.asarray(np.sin(3.0 * z[:, 0]) + z[:, 1] ** 2, dtype=np.float64)


# --------------------------------------------------------------------------- emulator


def test_emulator_recovers_a_smooth_function_within_its_sd() -> None:
    train = _grid(40, 2, 0)
    em = fit_emulator(train, _smooth(train), random_state=0)
    test = _grid(300, 2, 1)
    mean, sd = em.predict(test)
    err = np.abs(mean - _smooth(test))
    assert float(np.max(err)) < 0.05
    assert float(np.mean(err <= 3.0 * sd + 1e-6)) >= 0.95
    # noise-free data: almost no noise, sd near 0 at the training points, larger away
    assert em.noise_sd < 1e-2
    _, sd_train = em.predict(train)
    assert float(np.max(sd_train)) < 1e-3
    far = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert float(np.min(em.predict(far)[1])) > 10.0 * float(np.max(sd_train))
    again = fit_emulator(train, _smooth(train), random_state=0)
    assert np.array_equal(again.predict(test)[0], mean)


def test_emulator_sees_noise_and_irrelevant_inputs() -> None:
    train = _grid(60, 3, 2)
    noise = 0.05 * Streams(seed=3, replicate=0).normals("test.noise", np.arange(60))
    em = fit_emulator(train, _smooth(train) + noise, random_state=0)
    assert em.noise_sd == pytest.approx(0.05, rel=0.5)
    # the third input does nothing: its length scale is the longest
    assert em.length_scales[2] > max(em.length_scales[:2])


def test_emulator_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        fit_emulator(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        fit_emulator(np.zeros((4, 1)), np.array([0.0, 1.0, math.nan, 2.0]))
    em = fit_emulator(_grid(10, 2, 3), _smooth(_grid(10, 2, 3)))
    with pytest.raises(ValueError, match="inputs"):
        em.predict(np.zeros((1, 3)))


# --------------------------------------------------------------------------- implausibility


def _obs(low: list[float], high: list[float], var: list[float]) -> Observations:
    n = len(low)
    return Observations(
        tuple(f"T{k}" for k in range(n)),
        np.array(low),
        np.array(high),
        np.array(var),
        np.ones(n),
    )


@pytest.mark.parametrize(
    ("mean", "var_em", "low", "high", "var", "expected"),
    [
        (10.0, 0.0, 10.0, 10.0, 1.0, 0.0),  # on the point
        (13.0, 0.0, 10.0, 10.0, 1.0, 3.0),  # 3 sd above
        (7.0, 3.0, 10.0, 10.0, 1.0, 1.5),  # emulator variance adds: 3 / sqrt(4)
        (11.0, 0.0, 9.0, 12.0, 1.0, 0.0),  # inside a range
        (14.0, 0.0, 9.0, 12.0, 4.0, 1.0),  # 2 above the range, sd 2
        (5.0, 0.0, 9.0, math.inf, 1.0, 4.0),  # open-ended range
        (math.nan, 0.0, 9.0, 9.0, 1.0, math.inf),  # no emulator
    ],
)
def test_implausibility_table(
    mean: float, var_em: float, low: float, high: float, var: float, expected: float
) -> None:
    imp = implausibility(np.array([[mean]]), np.array([[var_em]]), _obs([low], [high], [var]))
    assert float(imp[0, 0]) == pytest.approx(expected)


def test_second_and_third_largest_implausibility_rule() -> None:
    imp = np.array([[5.0, 0.1, 2.0, 0.5], [3.5, 3.2, 0.0, 1.0], [2.9, 2.8, 2.7, 9.0]])
    assert kth_largest(imp, 1).tolist() == [5.0, 3.5, 9.0]
    assert kth_largest(imp, 2).tolist() == [2.0, 3.2, 2.9]
    assert kth_largest(imp, 3).tolist() == [0.5, 1.0, 2.8]
    assert kth_largest(imp, 9).tolist() == [0.1, 0.0, 2.7]  # capped at the targets
    # at cutoff 3: one bad target rules a point out under the max rule, not the 2nd
    assert (kth_largest(imp, 1) <= 3.0).tolist() == [False, False, False]
    assert (kth_largest(imp, 2) <= 3.0).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="k must be"):
        kth_largest(imp, 0)


# --------------------------------------------------------------------------- toy recovery

TOY_TRUTH = np.array([0.3, 0.7, 0.5])
TOY_NOISE_SD = 0.01


def _toy(z: FloatArray) -> FloatArray:
    return np.column_stack(
        [
            z[:, 0] + 0.5 * z[:, 1],
            z[:, 0] * z[:, 1] + 0.2,
            np.sin(3.0 * z[:, 1]),
            0.3 * z[:, 0] ** 2 + z[:, 1],
        ]
    )


def _toy_params() -> list[Parameter]:
    return [
        Parameter(name, (name,), 0.0, 1.0, "linear", "uniform", 0.9, "toy")
        for name in ("a", "b", "c")
    ]


class _ToySimulator:
    """The toy function plus noise keyed by the point (so a point always gets the same)."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.streams = Streams(seed=5, replicate=0)

    def __call__(self, zs: list[FloatArray], wave: int) -> FloatArray:
        z = np.array(zs)
        self.calls.append(len(z))
        ids = np.repeat((z[:, 0] * 1e9).astype(np.int64), 4)
        occ = np.tile(np.arange(4), len(z))
        eps = self.streams.normals("test.toy", ids, occ).reshape(len(z), 4)
        return np.asarray(_toy(z) + TOY_NOISE_SD * eps, dtype=np.float64)


TOY_SETTINGS = HistoryMatchingSettings(
    points_per_wave=20,
    max_waves=3,
    n_candidates=2000,
    posterior_draws=2000,
    predictive_draws=10,
    emulator_restarts=0,
)


@pytest.fixture(scope="module")
def toy() -> dict[str, Any]:
    y = _toy(TOY_TRUTH[None, :])[0]
    obs = Observations(("A", "B", "C", "D"), y, y, np.full(4, 0.02**2), np.ones(4))
    sim = _ToySimulator()
    result = history_match(sim, _toy_params(), obs, TOY_SETTINGS, Streams(seed=1, replicate=0))
    return {"obs": obs, "sim": sim, "result": result}


def test_toy_recovery_within_posterior_intervals(toy: dict[str, Any]) -> None:
    res = toy["result"]
    w = res.posterior_weights
    assert w.sum() == pytest.approx(1.0)
    assert res.ess > 50
    widths = []
    for j in range(3):
        lo = weighted_quantile(res.posterior_z[:, j], w, 0.05)
        hi = weighted_quantile(res.posterior_z[:, j], w, 0.95)
        assert lo <= TOY_TRUTH[j] <= hi, (j, lo, hi)
        widths.append(hi - lo)
    assert widths[0] < 0.15 and widths[1] < 0.1  # identified
    assert widths[2] > 0.6  # moves nothing: the posterior stays near its prior
    assert res.posterior_mean[:2] == pytest.approx(TOY_TRUTH[:2], abs=0.05)
    assert res.predictive_z.shape == (TOY_SETTINGS.predictive_draws, 3)


def test_toy_waves_shrink_and_are_deterministic(toy: dict[str, Any]) -> None:
    res = toy["result"]
    fractions = [w.nroy_fraction for w in res.waves]
    assert 1 <= len(res.waves) <= TOY_SETTINGS.max_waves
    assert fractions[0] < 0.2
    assert all(b <= a for a, b in itertools.pairwise(fractions))
    assert toy["sim"].calls == [TOY_SETTINGS.points_per_wave] * len(res.waves)
    again = history_match(
        _ToySimulator(), _toy_params(), toy["obs"], TOY_SETTINGS, Streams(seed=1, replicate=0)
    )
    for w1, w2 in zip(res.waves, again.waves, strict=True):
        assert np.array_equal(w1.z, w2.z)
    assert np.array_equal(again.posterior_weights, res.posterior_weights)


def test_toy_sensitivity_says_which_parameter_moves_which_target(toy: dict[str, Any]) -> None:
    res = toy["result"]
    sens = sensitivity(res.waves[-1].emulators, res.nroy[:300])
    assert sens.shape == (4, 3)
    # target C = sin(3 b) does not depend on a; no target depends on c
    assert sens[2, 1] > 5.0 * sens[2, 0]
    assert np.all(sens[:, 2] < 0.1 * np.max(sens[:, :2], axis=1))


def test_no_plausible_point_falls_back_to_the_least_implausible() -> None:
    y = _toy(TOY_TRUTH[None, :])[0]
    y[:2] = 5.0  # out of reach: every point is ruled out by the 2nd largest implausibility
    obs = Observations(("A", "B", "C", "D"), y, y, np.full(4, 0.02**2), np.ones(4))
    settings = TOY_SETTINGS.model_copy(update={"max_waves": 2})
    res = history_match(_ToySimulator(), _toy_params(), obs, settings, Streams(seed=1, replicate=0))
    assert "no candidate is non-implausible" in res.waves[0].note
    assert res.waves[0].nroy_fraction == 0.0
    assert np.isfinite(res.posterior_weights).all()
    assert res.posterior_weights.sum() == pytest.approx(1.0)
    # the least implausible points lie towards the reachable corner (a and b large)
    assert np.all(res.posterior_mean[:2] > 0.6)


# --------------------------------------------------------------------------- the model

HM_SETTINGS = """
[history_matching]
points_per_wave = 12
max_waves = 3
n_candidates = 2000
posterior_draws = 2000
predictive_draws = 6
emulator_restarts = 0
"""


@pytest.fixture(scope="module")
def model_fit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Targets simulated at TRUTH; history matching from START (method set in the spec);
    the same run again into the same folder."""
    base = tmp_path_factory.mktemp("hm_recovery")
    cal = load_spec(_case(base / "truth", 7, {}, TRUTH))
    executor, shards = make_executor(1, None, None)
    ev = Evaluator(cal, base / "truth" / "cache", executor, shards).evaluate([cal.z_start()])[0]
    values = {t.target_id: ev.moments[t.key].value for t in cal.targets}
    spec = _case(base / "fit", 7, values, START)
    text = spec.read_text().replace(
        'name = "recovery"', 'name = "recovery"\nmethod = "history_matching"'
    )
    spec.write_text(text + HM_SETTINGS)
    first = calibrate(spec, base / "out", **OPTS)
    again = calibrate(spec, base / "out", **OPTS)
    return {"spec": spec, "first": first, "again": again}


def test_model_recovery_within_posterior_intervals(model_fit: dict[str, Any]) -> None:
    res: CalibrationResult = model_fit["first"]
    assert res.method == "history_matching"
    assert res.objective < 0.5 < res.objective_start
    for row in res.parameters.iter_rows(named=True):
        truth = TRUTH[row["parameter"]]
        assert row["posterior_low"] <= truth <= row["posterior_high"], row
        assert row["identified"] is True, row
        assert row["estimate"] == pytest.approx(truth, rel=0.1)
    for name in ("waves.csv", "sensitivity.csv", "fit.csv", "parameters.csv", "fit_report.md"):
        assert (res.out / name).is_file(), name
    report = (res.out / "fit_report.md").read_text()
    assert "History-matching waves" in report and "What each target informs" in report
    assert len(res.scenario_files) == 2


def test_model_rerun_simulates_nothing_new(model_fit: dict[str, Any]) -> None:
    first, again = model_fit["first"], model_fit["again"]
    assert first.n_simulated > 0 and first.n_cached == 0
    assert again.n_simulated == 0
    assert again.n_cached == first.n_simulated
    assert again.n_calls == first.n_calls
    assert again.estimate == first.estimate


# --------------------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("points_per_wave = 0", "history_matching.points_per_wave"),
        ("cutoff = -1.0", "history_matching.cutoff"),
        ("implausibility_rank = 4", "history_matching.implausibility_rank"),
        ("n_candidates = 10", "history_matching.n_candidates"),
        ("mcmc_steps = 0", "history_matching.mcmc_steps"),
        ("smc_ess_share = 1.0", "history_matching.smc_ess_share"),
        ("wave_size = 10", "history_matching.wave_size"),
    ],
)
def test_bad_settings_exit_2_naming_file_key_value(tmp_path: Path, setting: str, key: str) -> None:
    spec = _case(tmp_path / "bad", 7, {}, START)
    spec.write_text(spec.read_text() + f"\n[history_matching]\n{setting}\n")
    result = CliRunner().invoke(app, ["calibrate", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    value = setting.split(" = ")[1]
    assert str(spec) in result.stderr and key in result.stderr and value in result.stderr


def test_bad_spec_method_exit_2(tmp_path: Path) -> None:
    spec = _case(tmp_path / "bad", 7, {}, START)
    spec.write_text(
        spec.read_text().replace('name = "recovery"', 'name = "recovery"\nmethod = "hm"')
    )
    result = CliRunner().invoke(app, ["calibrate", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "method" in result.stderr and "hm" in result.stderr


@pytest.mark.parametrize(
    ("objectives", "chosen"),
    [
        ([5.6, 5.2, 7.1, 7.5, 9.0], 0),  # the mean fits like a typical draw: the mean
        ([7.1, 5.2, 7.0, 7.2, 9.0], 0),  # equal to the median draw: still the mean
        ([8.0, 5.2, 7.0, 7.5, 9.0], 1),  # worse than the median draw: the best draw
        ([8.5, 9.0, 5.2, 7.5, 9.0], 2),
        ([3.0], 0),  # no draws
    ],
)
def test_the_estimate_is_the_posterior_mean_unless_it_fits_worse_than_a_typical_draw(
    objectives: list[float], chosen: int
) -> None:
    assert choose_estimate(objectives) == chosen
