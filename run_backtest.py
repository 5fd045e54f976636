"""Run a backtest from the repository: ``python run_backtest.py --help``.

The command line itself lives in ``xai_backtest.engine.cli`` (installed as ``xai-backtest``).
"""

import sys

from xai_backtest.engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
