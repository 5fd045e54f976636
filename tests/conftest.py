"""Shared fixtures: synthetic bars, the real data folder (skipped when absent), a headless
Chromium for the browser tests (skipped when absent)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="backtrader")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Debian's Chromium, driven by Playwright (no browser download)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository; tests needing it skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real market data folder {SHARED_DATA} is absent (it sits beside the repo "
                    "on developer machines and in CI only)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the ``shared_data`` fixture carry the ``shared_data`` marker, so
    ``-m "not shared_data"`` selects the tests that run on any machine."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


@pytest.fixture
def one_thread():
    """torch on one thread for the test (small nets train faster and bit-identically)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
