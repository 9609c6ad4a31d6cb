"""Provenance and a STRESS-DES reporting checklist, filled in from a batch manifest.

STRESS-DES (Monks et al. 2019, *Strengthening the reporting of empirical
simulation studies*) lists what a discrete-event simulation study should report:
objectives, logic, data, experimentation, implementation and code access.
:func:`checklist_rows` answers each item from ``OUT/manifest.json`` (the batch
file, every resolved scenario with its ``[sources]`` table, seeds, replications,
versions, run time); text common to every run (how the model works, how intervals
are computed) is written here once.

Every function returns table rows whose last cell is HTML with all text escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["checklist_rows", "flatten", "provenance_rows", "scenario_differences"]

_MODEL_LOGIC = (
    "Each referred claimant is a SimPy process followed from referral to the end of "
    "follow-up: attachment to a prime provider (programme regime) or the Jobcentre Plus "
    "offer (jcp regime), work-focused interviews, failures to attend, referrals to a "
    "decision maker, adverse decisions and sanction spells on the scenario's ladders, "
    "job entry and job loss as competing hazards (entry scaled by distance from work, "
    "adviser time and the labour market index), off-flow from benefit, the job outcome "
    "once days in work reach the group's qualifying days, sustainment payments, programme "
    "end and follow-up. Providers have finite adviser time, triage their caseloads under "
    "the contract's prices (creaming and parking are emergent, not coded per group), are "
    "paid attachment, outcome and sustainment fees, and keep a monthly cash balance. "
    "Contract package areas are independent and simulated one after another."
)

_CI_METHOD = (
    "Each quantity is computed per replication, then summarised over replications as the "
    "mean with a 95% Student t interval, mean ± t(0.975, n−1) · sd / √n (sim.estimates."
    "t_interval). Intervals of rates in the figures are t intervals on the replications' "
    "empirical logits, transformed back, so they stay between 0 and 100%; those of counts "
    "are cut at zero. Impacts are paired: replication r of every scenario uses the same "
    "random keys (common random numbers), so each impact is computed per replication as a "
    "difference on the same claimants and only then summarised; impacts.csv also gives the "
    "unpaired (Welch) interval. The cost per additional job outcome is the ratio of the "
    "mean change in purchaser spending to the mean change in 24-month outcomes, with "
    "Fieller's interval, and is not given unless the change in outcomes is clearly above "
    "zero."
)

_RNG = (
    "Keyed, counter-based streams (sim.rng): every draw is SplitMix64 (applied twice) of "
    "(root seed, replicate, stream name, claimant id, occurrence); stream names are config "
    "paths hashed with BLAKE2b. There is no generator state, so draws do not depend on the "
    "order of events, process or worker, and serial and parallel runs are bit-identical."
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _ul(items: Sequence[str]) -> str:
    """An HTML list of already-escaped items."""
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>" if items else "none"


def _scenarios(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    got = manifest.get("scenarios", {})
    return got if isinstance(got, dict) else {}


def _resolved(entry: Mapping[str, Any]) -> dict[str, Any]:
    got = entry.get("resolved", {})
    return got if isinstance(got, dict) else {}


def flatten(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted.path, value)`` for every leaf of nested dicts (lists are leaves)."""
    if isinstance(tree, Mapping) and tree:
        for key in sorted(tree):
            yield from flatten(tree[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, tree


def scenario_differences(
    scenario: Mapping[str, Any], baseline: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """Parameters whose resolved values differ between two scenarios.

    Parameters
    ----------
    scenario, baseline : Mapping
        Resolved scenarios (``manifest["scenarios"][name]["resolved"]``).

    Returns
    -------
    list of (str, object, object)
        ``(path, value in scenario, value in baseline)``, sorted by path; the
        ``name``, ``description``, ``extends`` and ``sources`` entries are ignored.
    """
    skip = ("name", "description", "extends", "sources")
    a = {k: v for k, v in flatten(scenario) if k.split(".")[0] not in skip}
    b = {k: v for k, v in flatten(baseline) if k.split(".")[0] not in skip}
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def provenance_rows(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rows ``(field, HTML)`` describing where a batch's results came from.

    Parameters
    ----------
    manifest : Mapping
        ``OUT/manifest.json``.
    """
    rows = [
        ("Batch", _e(manifest.get("batch", "unknown"))),
        ("Batch file", _e(manifest.get("batch_file", "unknown"))),
        ("Batch hash", f"<code>{_e(manifest.get('batch_hash', 'unknown'))}</code>"),
        ("Status", _e(manifest.get("status", "unknown"))),
        ("Baseline", _e(manifest.get("baseline", "unknown"))),
        ("Root seed", _e(manifest.get("seed", "unknown"))),
        ("Replications", _e(manifest.get("replications", "unknown"))),
        ("Claimants per replication", _e(manifest.get("claimants", "unknown"))),
        ("Tasks", _e(manifest.get("n_tasks", "unknown"))),
        ("Wall time", _e(_seconds(manifest.get("wall_seconds")))),
        ("Git revision", f"<code>{_e(manifest.get('git_revision', 'unknown'))}</code>"),
    ]
    scen = [
        f"{_e(n)} ({_e(e.get('regime', '?'))}): <code>{_e(e.get('hash', '?'))}</code>"
        for n, e in _scenarios(manifest).items()
    ]
    rows.append(("Scenarios (regime: hash)", _ul(scen)))
    versions = manifest.get("versions", {})
    if isinstance(versions, dict):
        rows.append(("Versions", _e(", ".join(f"{k} {v}" for k, v in sorted(versions.items())))))
    failed = manifest.get("failed_tasks") or []
    if failed:
        rows.append(("Failed tasks", _ul([_e(f) for f in failed])))
    return rows


def _seconds(value: object) -> str:
    if not isinstance(value, int | float):
        return "unknown"
    return f"{value:,.1f} s ({value / 60:.1f} min)"


def _sources_html(manifest: Mapping[str, Any]) -> str:
    blocks: list[str] = []
    seen: dict[str, str] = {}
    for name, entry in _scenarios(manifest).items():
        sources = _resolved(entry).get("sources", {}) or {}
        key = json.dumps(sources, sort_keys=True)
        if key in seen:
            blocks.append(
                f"<p><b>{_e(name)}</b>: the same {len(sources)} entries as {_e(seen[key])}.</p>"
            )
            continue
        seen[key] = name
        items = [f"<code>{_e(k)}</code>: {_e(v)}" for k, v in sorted(sources.items())]
        blocks.append(f"<p><b>{_e(name)}</b> ({len(items)} entries):</p>{_ul(items)}")
    return "".join(blocks) or "No scenario lists sources."


def _assumptions_html(manifest: Mapping[str, Any]) -> str:
    lines = []
    for name, entry in _scenarios(manifest).items():
        resolved = _resolved(entry)
        sources = resolved.get("sources", {}) or {}
        leaves = [
            k
            for k, _ in flatten(resolved)
            if k.split(".")[0] not in ("sources", "name", "description", "extends")
        ]
        sourced = sum(1 for k in leaves if any(k == s or k.startswith(s + ".") for s in sources))
        lines.append(
            f"{_e(name)}: {len(leaves)} parameters, {sourced} with a [sources] entry; the "
            f"other {len(leaves) - sourced} are modelling assumptions or calibrated values"
        )
    return _ul(lines)


def _logic_html(manifest: Mapping[str, Any]) -> str:
    lines = []
    for name, entry in _scenarios(manifest).items():
        r = _resolved(entry)
        run = r.get("run", {})
        groups = r.get("population", {}).get("groups", {})
        names = sorted(groups, key=lambda g: (groups[g].get("code", 0), g))
        primes = r.get("providers", {}).get("primes_per_area", [])
        policy = r.get("providers", {}).get("provider", {}).get("policy", "?")
        regime = r.get("regime", entry.get("regime", "?"))
        providers = (
            "no providers (Jobcentre Plus offer only)"
            if regime == "jcp"
            else f"{len(primes)} contract package areas with {sum(primes)} prime providers, "
            f"triage policy {_e(policy)}"
        )
        lines.append(
            f"<b>{_e(name)}</b> ({_e(regime)}): {_e(r.get('description', ''))}. "
            f"Referrals over {_e(run.get('cohort_months'))} months from "
            f"{_e(run.get('start_month'))}; programme {_e(run.get('programme_weeks'))} weeks, "
            f"follow-up {_e(run.get('follow_up_weeks'))} weeks; {len(names)} payment groups "
            f"({_e(', '.join(names))}); {providers}."
        )
    return f"<p>{_e(_MODEL_LOGIC)}</p>{_ul(lines)}"


def _scenario_logic_html(manifest: Mapping[str, Any]) -> str:
    scen = _scenarios(manifest)
    baseline = str(manifest.get("baseline", ""))
    if baseline not in scen:
        return "No baseline in the manifest."
    base = _resolved(scen[baseline])
    blocks = []
    for name, entry in scen.items():
        if name == baseline:
            continue
        diffs = scenario_differences(_resolved(entry), base)
        items = [
            f"<code>{_e(k)}</code>: {_e(json.dumps(a))} (baseline {_e(json.dumps(b))})"
            for k, a, b in diffs[:40]
        ]
        more = f"<p>… and {len(diffs) - 40} more.</p>" if len(diffs) > 40 else ""
        blocks.append(
            f"<p><b>{_e(name)}</b> differs from the baseline {_e(baseline)} in "
            f"{len(diffs)} parameter{'' if len(diffs) == 1 else 's'}:</p>{_ul(items)}{more}"
        )
    return "".join(blocks) or "Only the baseline was run."


def _run_length(manifest: Mapping[str, Any]) -> str:
    lines = []
    for name, entry in _scenarios(manifest).items():
        run = _resolved(entry).get("run", {})
        lines.append(
            f"{_e(name)}: referrals over {_e(run.get('cohort_months'))} months from "
            f"{_e(run.get('start_month'))}; each claimant is followed to the end of the "
            f"programme ({_e(run.get('programme_weeks'))} weeks after attachment) plus "
            f"{_e(run.get('follow_up_weeks'))} weeks of follow-up"
        )
    return _ul(lines)


def checklist_rows(
    manifest: Mapping[str, Any], figure_titles: Sequence[str], machine: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """Rows ``(number, item, HTML)`` of the STRESS-DES checklist for one batch.

    Parameters
    ----------
    manifest : Mapping
        ``OUT/manifest.json``.
    figure_titles : sequence of str
        Titles of the figures in the report.
    machine : Mapping
        ``platform`` and ``cpu_count`` of the machine that built the report.
    """
    scen = _scenarios(manifest)
    baseline = manifest.get("baseline", "?")
    purpose = [f"{_e(n)}: {_e(_resolved(e).get('description', ''))}" for n, e in scen.items()]
    versions = manifest.get("versions", {})
    version_text = (
        ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        if isinstance(versions, dict)
        else "unknown"
    )
    run_machine = manifest.get("machine")
    machine_text = (
        f"Batch run on: {_e(run_machine)}. "
        if run_machine
        else "The manifest does not record the batch's machine. "
    ) + f"Report built on {_e(machine.get('platform'))} with {_e(machine.get('cpu_count'))} CPUs."
    return [
        (
            "1.1",
            "Purpose of the model",
            f"<p>{_e(manifest.get('description', ''))}</p>{_ul(purpose)}",
        ),
        (
            "1.2",
            "Model outputs",
            _ul([_e(t) for t in figure_titles])
            + "<p>Tables: impacts.csv (paired effects), summary.csv (metrics by scenario), "
            "and one CSV per figure.</p>",
        ),
        (
            "1.3",
            "Experimentation aims",
            f"Compare each scenario with the baseline {_e(baseline)} on the same claimants: "
            "job outcomes, days in work and on benefit, sanctions, provider payments and "
            "benefit savings, by payment group and distance from work.",
        ),
        ("2.1–2.2", "Model logic", _logic_html(manifest)),
        ("2.3", "Scenario logic", _scenario_logic_html(manifest)),
        ("3.1", "Data sources (each scenario's [sources] table)", _sources_html(manifest)),
        (
            "3.3",
            "Input parameters",
            "Every resolved parameter of every scenario is stored in manifest.json "
            "(scenarios → name → resolved); the scenario hash identifies it.",
        ),
        ("3.4", "Assumptions", _assumptions_html(manifest)),
        (
            "4.1",
            "Initialisation",
            "Terminating cohort simulation: no warm-up period; every claimant starts at "
            "referral with an empty history.",
        ),
        ("4.2", "Run length", _run_length(manifest)),
        (
            "4.3",
            "Estimation approach",
            f"<p>{_e(manifest.get('replications', '?'))} replications of "
            f"{_e(manifest.get('claimants', '?'))} claimants per scenario.</p>"
            f"<p>{_e(_CI_METHOD)}</p>",
        ),
        (
            "5.1",
            "Software",
            f"<p>Simulation: {_e(version_text)}.</p>"
            f"<p>Report: {_e(machine.get('report_software', 'unknown'))}.</p>",
        ),
        (
            "5.2",
            "Random sampling",
            f"<p>Root seed {_e(manifest.get('seed', '?'))}.</p><p>{_e(_RNG)}</p>",
        ),
        (
            "5.3",
            "Model execution",
            f"{_e(manifest.get('n_tasks', '?'))} tasks (shards of contract package areas per "
            f"scenario and replication); wall time {_e(_seconds(manifest.get('wall_seconds')))}; "
            f"status {_e(manifest.get('status', '?'))}.",
        ),
        ("5.4", "System specification", machine_text),
        (
            "6",
            "Code access",
            f"pbrsim at git revision <code>{_e(manifest.get('git_revision', 'unknown'))}</code>; "
            f"batch hash <code>{_e(manifest.get('batch_hash', 'unknown'))}</code> (same hash, "
            "same results).",
        ),
    ]
