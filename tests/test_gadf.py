from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xai_backtest.signals.gadf import gadf, gasf, rescale

# pyts compiles its numba kernels eagerly at import (about a minute on 2 busy cores); the
# reference runs in a subprocess with the JIT off, where the same kernels run as Python.
_PYTS_REFERENCE = """
import sys
import numpy as np
from pyts.image import GramianAngularField
windows = np.load(sys.argv[1])
np.save(sys.argv[2], GramianAngularField(method="difference").fit_transform(windows))
np.save(sys.argv[3], GramianAngularField(method="summation").fit_transform(windows))
"""


@pytest.fixture
def windows() -> np.ndarray:
    rng = np.random.default_rng(3)
    return 15_000 * np.exp(np.cumsum(rng.normal(0, 0.001, (7, 59)), axis=1))


@pytest.mark.slow
def test_matches_pyts(windows, tmp_path: Path):
    source, diff_file, sum_file = (tmp_path / f"{n}.npy" for n in ("x", "gadf", "gasf"))
    np.save(source, windows)
    subprocess.run([sys.executable, "-c", _PYTS_REFERENCE, source, diff_file, sum_file],
                   check=True, env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    difference, summation = np.load(diff_file), np.load(sum_file)
    np.testing.assert_allclose(gadf(windows), difference, atol=1e-6)
    np.testing.assert_allclose(gasf(windows), summation, atol=1e-6)


def test_gadf_is_antisymmetric_with_zero_diagonal(windows):
    images = gadf(windows)
    assert images.shape == (7, 59, 59)
    np.testing.assert_allclose(images, -np.swapaxes(images, 1, 2), atol=1e-6)
    assert np.abs(np.diagonal(images, axis1=1, axis2=2)).max() < 1e-6
    assert images.min() >= -1 and images.max() <= 1


def test_gasf_is_symmetric(windows):
    images = gasf(windows)
    np.testing.assert_allclose(images, np.swapaxes(images, 1, 2), atol=1e-6)


def test_rescale_spans_minus_one_to_one_and_flat_rows_are_zero(windows):
    scaled = rescale(np.vstack([windows, np.full(59, 100.0)]))
    np.testing.assert_allclose(scaled[:-1].min(axis=1), -1)
    np.testing.assert_allclose(scaled[:-1].max(axis=1), 1)
    assert np.all(scaled[-1] == 0)
    assert np.all(gadf(np.full((1, 5), 3.0)) == 0)


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        gadf(np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        gadf(np.array([[1.0, np.nan, 2.0]]))
