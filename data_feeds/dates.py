"""Day-first or month-first: one reading for a whole date column, never row by row.

``01/08/2014`` is 1 August day-first and 8 January month-first. pandas guesses per
column from the first row, or per row with ``format="mixed"``, and either way may read
some rows in the other order without a word: bars that move by months, and headlines
used before they were published. Here the order is read off the whole column: a first
field above 12 proves day-first, a second field above 12 month-first; a column that
fits both is refused unless the user says which (``data.dayfirst``).
"""

from __future__ import annotations

import re

import pandas as pd

from xai_backtest.data_feeds.errors import DataError

__all__ = ["day_first"]

_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?:\D|$)")


def day_first(text: pd.Series, dayfirst: bool | None, source: str) -> bool | None:
    """Whether the column's ``nn/nn/yyyy`` dates are day-first; None when it has none."""
    parts = text.astype(str).str.extract(_NUMERIC_DATE).dropna()
    if parts.empty:
        return None
    first, second = parts[0].astype(int), parts[1].astype(int)
    proves_day, proves_month = bool((first > 12).any()), bool((second > 12).any())
    if proves_day and proves_month:
        raise DataError(source, "some dates are day-first (e.g. "
                        f"{text[first.idxmax()]!r}) and some month-first (e.g. "
                        f"{text[second.idxmax()]!r})", "write every date in one order, "
                        "ideally ISO (2014-08-01)")
    found = True if proves_day else False if proves_month else None
    if dayfirst is not None:
        if found is not None and found != dayfirst:
            example = text[first.idxmax()] if found else text[second.idxmax()]
            raise DataError(source, f"data.dayfirst is {dayfirst}, but {example!r} can only be "
                            f"read {'day' if found else 'month'}-first",
                            f"set data.dayfirst: {str(found).lower()}")
        return dayfirst
    if found is None:
        example = text[parts.index[0]]
        raise DataError(source, f"dates such as {example!r} read either day-first or "
                        "month-first, and no date in the column tells which",
                        "set data.dayfirst: true (dd/mm/yyyy) or false (mm/dd/yyyy)")
    return found
