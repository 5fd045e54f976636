"""Shared fixtures: synthetic bars, the real data folder (skipped when absent)."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="backtrader")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository; tests needing it skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent (it sits beside the repo "
                    "on developer machines and in CI only)")
    return SHARED_DATA


def make_daily_bars(n: int = 600, seed: int = 0, start: str = "2015-01-02",
                    tz: str = "America/New_York") -> pd.DataFrame:
    """A random-walk daily OHLCV frame on business days, consistent OHLC."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n, tz=tz, name="timestamp")
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    volume = rng.integers(1_000, 10_000, n).astype(float)
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": volume}, index=index)


@pytest.fixture
def daily_bars() -> pd.DataFrame:
    return make_daily_bars()


#: tests marked ``slow`` from here, in files whose own marks are kept by other hands (a
#: module that moves its mark into the file can drop its line): each takes seconds
#: (a full run, a second interpreter or a CLI run), and a fast test covers its module
SLOW_ELSEWHERE = (
    "tests/test_prefit.py::test_models_fitted_by_the_second_interpreter_equal_those_fitted_here",
    "tests/test_tearsheet_writer.py::",  # QuantStats' HTML in a worker (test_tearsheet_cache.py)
    "tests/test_config.py::test_a_session_on_daily_bars_is_one_clear_error",
    "tests/test_config.py::test_a_fold_error_is_one_line_and_leaves_no_run_folder",
    "tests/test_lookahead_properties.py::",  # per model in test_lookahead_models.py
    "tests/test_lookahead_at_run_time.py::test_the_cli_stops_a_leaking_signal_in_a_few_lines",
    "tests/test_lookahead_at_run_time.py::test_a_pass_is_kept_with_the_fold_models_and_a_leak",
    "tests/test_lookahead_at_run_time.py::test_turned_off_the_report_says_it_was_not_checked",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the ``shared_data`` fixture carry the ``shared_data`` marker, so
    ``-m "not shared_data"`` selects the tests that run on any machine; the tests of
    ``SLOW_ELSEWHERE`` carry ``slow``."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)
        if item.nodeid.startswith(SLOW_ELSEWHERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def one_thread():
    """torch on one thread for the test (small nets train faster and bit-identically)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
