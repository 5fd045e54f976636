"""The one error type of the data layer (defined with the whole family in
``xai_backtest/errors.py``)."""

from __future__ import annotations

from xai_backtest.errors import DataError

__all__ = ["DataError"]
