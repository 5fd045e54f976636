"""Every broken input of the corpus (tests/bad_inputs.py) is refused clearly or repaired
and reported; and a fuzzed CSV loader raises nothing but DataError."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bad_inputs import CASES
from xai_backtest.data_feeds import DataError, load_bars


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path):
    if case.outcome == "error":
        with pytest.raises(case.raises) as info:
            case.run(tmp_path)
        message = str(info.value)
        assert case.match in message
        if case.raises is DataError:
            assert "Fix:" in message
        if case.category == "bars" and "Fix:" in message:
            assert "bars." in message  # the file is named
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = case.run(tmp_path)
        assert case.match in str(report)


_cell = st.one_of(st.text(max_size=12), st.floats(allow_nan=True).map(str),
                  st.integers().map(str), st.sampled_from(["2021-01-04", "2021-13-45",
                                                           "", "NaN", "-1", "1e309"]))
_row = st.lists(_cell, min_size=0, max_size=8).map(lambda cells: ",".join(cells))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.sampled_from(["date,open,high,low,close,volume", "", "a,b",
                               "timestamp,Open,HIGH,low,close,volume,x"]),
       rows=st.lists(_row, max_size=6), raw=st.binary(max_size=60))
def test_fuzzed_csv_raises_only_data_errors(header, rows, raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_bytes((header + "\n" + "\n".join(rows)).encode("utf-8", "surrogatepass")
                         + raw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(DataError):
                load_bars(path, tz="UTC")
