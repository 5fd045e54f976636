"""The run engine: typed configs, backtests through backtrader, and the run folder."""
