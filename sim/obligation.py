"""One actor's schedule of contacts with a claimant, and the claimant's attendance at it.

A claimant can have several obligations at once (Jobcentre Plus signing goes on while a
provider sees them on the programme). Contact ``j`` of the current schedule is on day
``anchor + j * interval``; ``j`` is the next one and ``k`` counts this obligation's
contacts so far (attended or not). Attendance is an integrated-hazard clock over
contacts: each contact uses ``w_miss = -log(1 - p_miss)`` of a unit-exponential clock
``e_att`` drawn at the last failure, and the contact at which the clock runs out is the
next failure (``fta_k``). With a constant ``p_miss`` the number attended before a failure
is geometric; when ``p_miss`` changes (a new interval, a sanction), the clock carries over,
so a change moves the next failure earlier or later rather than redrawing it.
"""

from __future__ import annotations

from typing import Final

from sim.hazards import INF

__all__ = ["JCP", "NEVER", "PROVIDER", "Obligation"]

JCP: Final = 0
"""Jobcentre Plus: signing and work-focused interviews."""
PROVIDER: Final = 1
"""The programme's provider: mandatory activities and adviser meetings."""

NEVER: Final = 1 << 62
"""A contact count that is never reached (no failure to come)."""


class Obligation:
    """One actor's schedule of contacts and the claimant's attendance clock at it.

    Parameters
    ----------
    actor : int
        :data:`JCP` or :data:`PROVIDER`.
    """

    __slots__ = (
        "active",
        "actor",
        "anchor",
        "e_att",
        "fta_k",
        "interval",
        "j",
        "k",
        "k_ref",
        "mand_k_end",
        "minutes",
        "n_fail",
        "override",
        "saved",
        "switch_at",
        "switch_interval",
        "w_compulsory",
        "w_interval",
        "w_n_fta",
        "w_n_sanctions",
        "w_voluntary",
    )

    def __init__(self, actor: int) -> None:
        self.actor = actor
        self.active = False
        self.anchor = 0.0
        self.interval = 1.0
        self.j = 0
        self.k = 0
        self.minutes = 0.0
        self.mand_k_end = NEVER
        """Contacts with ``k`` below this are compulsory; later ones voluntary."""
        self.switch_at = INF
        self.switch_interval = 0.0
        self.override = False
        """An intervention has replaced the schedule until it ends."""
        self.saved: tuple[float, float, float, float, float] = (0.0, 1.0, 0.0, INF, 0.0)
        """(anchor, interval, minutes, switch_at, switch_interval) an intervention replaced."""
        self.e_att = 0.0
        """What is left of the attendance clock at contact ``k_ref``."""
        self.k_ref = 0
        self.w_compulsory = 0.0
        self.w_voluntary = 0.0
        self.fta_k = NEVER
        self.n_fail = 0
        self.w_interval = -1.0
        """The interval, failures and sanctions the weights were computed for."""
        self.w_n_fta = -1
        self.w_n_sanctions = -1

    def time(self, k: int) -> float:
        """Return the day of contact ``k`` of the current schedule."""
        return self.anchor + k * self.interval

    def next_at(self) -> float:
        """Return the day of the next contact (``inf`` if inactive)."""
        return self.anchor + self.j * self.interval if self.active else INF

    def next_failure_at(self) -> float:
        """Return the day of the next failure to attend (``inf`` if none is to come)."""
        if not self.active or self.fta_k == NEVER:
            return INF
        return self.anchor + (self.j + self.fta_k - self.k) * self.interval

    def hours_per_week(self) -> float:
        """Return the contact hours a week this schedule gives (0 if inactive)."""
        return self.minutes * 7.0 / self.interval / 60.0 if self.active else 0.0

    def clock_left(self) -> float:
        """Return what is left of the attendance clock after the ``k`` contacts so far."""
        n_comp = max(0, min(self.k, self.mand_k_end) - min(self.k_ref, self.mand_k_end))
        n_vol = (self.k - self.k_ref) - n_comp
        left = self.e_att - n_comp * self.w_compulsory - n_vol * self.w_voluntary
        return left if left > 0.0 else 0.0

    def set_attendance(self, e_left: float, w_compulsory: float, w_voluntary: float) -> None:
        """Restart the clock at contact ``k`` with ``e_left`` and per-contact weights.

        A weight of 0 means the contact is always attended. The next failure is the
        contact at which the clock runs out: compulsory contacts first, then voluntary.
        """
        self.e_att, self.k_ref = e_left, self.k
        self.w_compulsory, self.w_voluntary = w_compulsory, w_voluntary
        n_comp = self.mand_k_end - self.k if self.mand_k_end > self.k else 0
        if w_compulsory > 0.0 and e_left < n_comp * w_compulsory:
            self.fta_k = self.k + int(e_left / w_compulsory)
            return
        rest = e_left - n_comp * w_compulsory
        if w_voluntary <= 0.0 or self.mand_k_end >= NEVER:
            self.fta_k = NEVER
            return
        self.fta_k = self.k + n_comp + int((rest if rest > 0.0 else 0.0) / w_voluntary)
