"""The tearsheet's cache, without QuantStats (the fast tier's cover of
reports/tearsheet.py; writing the HTML takes seconds, in test_tearsheet_writer.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xai_backtest.reports.tearsheet import BackgroundTearsheets, TearsheetJob
from xai_backtest.storage.cache import DiskCache


def _job(path, scale: float = 1.0) -> TearsheetJob:
    index = pd.bdate_range("2020-01-01", periods=30, tz="America/New_York")
    equity = pd.Series(1e5 * np.linspace(1, 1.1, 30) * scale, index)
    return TearsheetJob(path, equity, equity * 0 + 1e5, 1e5, "s vs buy and hold")


def test_a_cached_tearsheet_is_copied_and_its_key_follows_the_equity(tmp_path):
    job = _job(tmp_path / "out" / "tearsheet.html")
    assert job.key() == _job(tmp_path / "out" / "tearsheet.html").key()
    assert job.key() != _job(tmp_path / "out" / "tearsheet.html", scale=1.01).key()
    written = tmp_path / "written.html"
    written.write_text("<html>cached</html>")
    DiskCache(str(tmp_path / "cache")).store_file("tearsheets", job.key(), written)
    (tmp_path / "out").mkdir()
    with BackgroundTearsheets([job], str(tmp_path / "cache")) as writer:
        writer.wait()  # nothing left to write: copied from the cache
    assert job.path.read_text() == "<html>cached</html>"
