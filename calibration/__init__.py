"""Calibration of pbrsim scenarios to published figures.

Targets are data (``targets.csv``: each published figure, its source, unit and
exactness, and the model quantity it maps to); free parameters, their bounds and
priors, and the settings of the two methods are a spec (``work_programme.toml``).
:func:`calibration.cli.calibrate` fits them by a simulated-moments optimiser, by
ABC-PMC or by history matching with Gaussian-process emulators, writes a fit report
and the calibrated scenario files. The package depends
on :mod:`sim`, never the reverse.

Modules: :mod:`~calibration.targets` (targets file), :mod:`~calibration.spec` (spec
and parameters), :mod:`~calibration.mapping` (ledger to model quantities),
:mod:`~calibration.evaluate` (simulation through the batch runner, cache),
:mod:`~calibration.objective`, :mod:`~calibration.optimise`, :mod:`~calibration.abc`,
:mod:`~calibration.emulator`, :mod:`~calibration.history_matching`,
:mod:`~calibration.report` and :mod:`~calibration.cli` (the entry point).
"""
