"""What happens to a claimant and what state they are in: the codes, defined once.

:class:`Event` numbers the events a journey records (the event log stores the number,
the monthly counts are indexed by it, and :data:`EVENT_CODES` are their names in the
outputs). ``ON_BENEFIT``, ``IN_WORK`` and ``OFF_BENEFIT`` are a claimant's status.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = ["EVENT_CODES", "EVENT_DESCRIPTIONS", "IN_WORK", "OFF_BENEFIT", "ON_BENEFIT", "Event"]

# a claimant's benefit and work status (plain integers: compared on every event)
ON_BENEFIT: Final = 0
IN_WORK: Final = 1
OFF_BENEFIT: Final = 2


class Event(IntEnum):
    """An event in a claimant's record; its lower-case name is its code in the outputs."""

    REFERRAL = 0
    ATTACH = 1
    """Attachment to a provider; value: the attachment fee (GBP)."""
    INTERVIEW = 2
    FTA = 3
    """A failure to attend a mandatory or voluntary contact."""
    SANCTION_REFERRAL = 4
    SANCTION_START = 5
    """Value: the ladder level (0 = first)."""
    SANCTION_END = 6
    OVERTURN = 7
    JOB_START = 8
    JOB_END = 9
    OUTCOME = 10
    """The job outcome trigger; value: the fee paid (0 off the programme)."""
    SUSTAINMENT = 11
    OFFFLOW = 12
    """Leaving benefit without a job."""
    PROGRAMME_END = 13
    INTENSITY_CHANGE = 14
    """The provider changed the interview interval; value: the new interval (days)."""
    END = 15
    SANCTION_DECISION = 16
    """Value: 1 for a wrong decision (ill health not accepted as good reason)."""
    WRONG_SANCTION_DECISION = 17
    INTERVENTION_START = 18
    """Value: the intervention's index in the scenario."""
    INTERVENTION_END = 19
    """Value: the change in distance from work on completion."""
    RECLAIM = 20
    """A repeat claim after leaving benefit (with or without a job)."""
    WCA = 21
    """The Work Capability Assessment's outcome; value: the new ``BenefitState`` (0 JSA,
    2 work-related activity group, 3 support group)."""


EVENT_CODES: tuple[str, ...] = tuple(e.name.lower() for e in Event)
"""Event names in code order, as written in the event log and the monthly counts."""

EVENT_DESCRIPTIONS: dict[str, str] = {
    "referral": "a claimant is referred",
    "attach": "a claimant attaches to a provider",
    "interview": "an interview is attended (event log only; settled in bulk)",
    "fta": "a failure to attend an interview",
    "sanction_referral": "a failure referred to a decision maker (value: its requirement route, "
    "0 Jobcentre attendance, 1 provider attendance, 2 activity, 3 job search, 4 leaving a job)",
    "sanction_start": "a sanction spell starts",
    "sanction_end": "a sanction spell ends",
    "overturn": "a sanction is overturned",
    "job_start": "a job starts",
    "job_end": "a job ends",
    "outcome": "cumulative days in work reach the group's qualifying days (job outcome)",
    "sustainment": "a sustainment payment is triggered",
    "offflow": "the claimant leaves benefit without a job",
    "programme_end": "the programme ends for the claimant",
    "intensity_change": "the provider changes the claimant's interview interval",
    "end": "follow-up ends (event log only)",
    "sanction_decision": "an adverse decision (event log value 1: a wrong decision)",
    "wrong_sanction_decision": "an adverse decision although ill health was the reason",
    "intervention_start": "an intervention (CMP, option, placement, daily signing) starts",
    "intervention_end": "an intervention ends",
    "reclaim": "a repeat claim after leaving benefit, with or without a job",
    "wca": "the Work Capability Assessment's outcome (value: 0 fit for work, 2 work-related "
    "activity group, 3 support group)",
}
"""What each event of :data:`EVENT_CODES` is (tested to cover every code)."""
