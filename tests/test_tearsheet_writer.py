"""Tearsheets written in the background: the same file as in-process, cached by content,
and a failing writer reported in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_backtest.engine.executor import LocalExecutor, WorkerError
from xai_backtest.reports.tearsheet import BackgroundTearsheets, TearsheetJob, write_tearsheet

# QuantStats' HTML in a worker; the cache is covered fast in test_tearsheet_cache.py
pytestmark = pytest.mark.slow


def curves(seed: int = 0, n: int = 300) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=n, tz="America/New_York")
    strategy = pd.Series(1e5 * np.cumprod(1 + rng.normal(4e-4, 0.01, n)), index, name="s")
    benchmark = pd.Series(1e5 * np.cumprod(1 + rng.normal(3e-4, 0.01, n)), index, name="b")
    return strategy, benchmark


def test_background_writer_equals_in_process_and_a_second_run_comes_from_the_cache(tmp_path):
    strategy, benchmark = curves()
    job = TearsheetJob(tmp_path / "a.html", strategy, benchmark, 1e5, "s vs buy and hold")
    with BackgroundTearsheets([job], str(tmp_path / "cache"), LocalExecutor(1)) as writer:
        assert writer.started
        writer.wait()
    write_tearsheet(tmp_path / "b.html", strategy, benchmark, 1e5, "s vs buy and hold")
    html = (tmp_path / "a.html").read_text()
    assert "s vs buy and hold" in html and len(html) > 10_000
    assert len(html) == len((tmp_path / "b.html").read_text())
    (tmp_path / "a.html").unlink()
    again = BackgroundTearsheets([job], str(tmp_path / "cache"), LocalExecutor(1))
    assert not again.started  # nothing to write: copied from the cache at once
    again.wait()
    assert (tmp_path / "a.html").read_text() == html
    changed = TearsheetJob(tmp_path / "a.html", strategy * 1.01, benchmark, 1e5,
                           "s vs buy and hold")
    assert changed.key() != job.key()


def test_a_failing_writer_raises_with_its_reason(tmp_path):
    strategy, benchmark = curves()
    (tmp_path / "a-file").write_text("not a folder")
    job = TearsheetJob(tmp_path / "a-file" / "a.html", strategy, benchmark, 1e5, "t")
    with BackgroundTearsheets([job], executor=LocalExecutor(1)) as writer, pytest.raises(
            WorkerError, match="(?s)a worker failed.*Traceback.*write_tearsheet.*File exists"):
        writer.wait()
