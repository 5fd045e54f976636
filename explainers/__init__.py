"""Explanations of signal decisions: one value object, one wrapper per explanation library."""

from xai_backtest.explainers.base import Explanation, explanation_id

__all__ = ["Explanation", "explanation_id"]
