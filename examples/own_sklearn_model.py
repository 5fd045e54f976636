"""Bring your own scikit-learn model: gradient boosting on features of past bars,
refitted walk-forward, each trade explained by SHAP (TreeExplainer, additivity checked).

    python examples/own_sklearn_model.py
"""

import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

from xai_backtest import Backtest, SklearnSignal


def features(bars: pd.DataFrame) -> pd.DataFrame:
    """Each row from that bar and earlier ones only."""
    close = bars["close"]
    return pd.DataFrame({
        "return_5": close.pct_change(5),
        "return_20": close.pct_change(20),
        "volatility_20": close.pct_change().rolling(20).std(),
        "gap_sma_50": close / close.rolling(50).mean() - 1,
        "range_10": (bars["high"] - bars["low"]).rolling(10).mean() / close,
    })


signal = SklearnSignal(model=GradientBoostingClassifier(n_estimators=50, max_depth=2),
                       features=features)
result = Backtest({"source": "sample", "sample": "sp500", "start": "2005-01-01"},
                  signals={"gbm": signal}, tearsheet=False,
                  walk_forward={"min_train": 756, "retrain_every": 126},
                  strategy={"kind": "signal", "threshold": 0.55}).run()
print(result.comparison.loc[["total_return", "sharpe", "max_drawdown", "trades"]])
first = result.trades.dropna(subset=["entry_explanation_id"]).iloc[0]
print(first["entry_time"], first["entry_explanation"])
print("fold models:", len(result.signals["gbm"].fold_models()), "report:", result.report)
