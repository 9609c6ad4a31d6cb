"""The journey's record and event codes are named once and line up with the outputs."""

from __future__ import annotations

import inspect

import numpy as np

from sim.events import EVENT_CODES, Event
from sim.records import JOURNEY_FIELDS, JourneyRecords


def test_put_keywords_are_the_journey_fields_in_order() -> None:
    params = list(inspect.signature(JourneyRecords.put).parameters)
    assert params[:2] == ["self", "i"]
    assert params[2:] == list(JOURNEY_FIELDS)


def test_put_writes_each_value_under_its_name() -> None:
    rec = JourneyRecords(3)
    values = {name: float(k) + 0.5 for k, name in enumerate(JOURNEY_FIELDS)}
    rec.put(1, **values)
    assert np.isnan(rec.data[[0, 2]]).all()
    row = rec.frame(np.array([1])).row(0, named=True)
    for name, value in values.items():
        expected = int(value) if name.startswith("n_") else value
        assert row[name] == expected, name


def test_event_codes_are_the_enum_names_in_order() -> None:
    assert tuple(e.name.lower() for e in Event) == EVENT_CODES
    assert [int(e) for e in Event] == list(range(len(Event)))
    # names in the outputs (event log, monthly counts) that readers rely on
    assert EVENT_CODES[:4] == ("referral", "attach", "interview", "fta")
    assert EVENT_CODES[Event.OFFFLOW] == "offflow"
    assert EVENT_CODES[Event.INTENSITY_CHANGE] == "intensity_change"
    assert EVENT_CODES[Event.WRONG_SANCTION_DECISION] == "wrong_sanction_decision"
