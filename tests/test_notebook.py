"""examples/quickstart.ipynb runs top to bottom in a fresh kernel, and shows what it says."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def _outputs(notebook: nbformat.NotebookNode, tag: str) -> list[nbformat.NotebookNode]:
    cells = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}"
    return cells[0].outputs


def _shown(notebook: nbformat.NotebookNode, tag: str, kind: str = "text/plain") -> str:
    return "".join(o.get("data", {}).get(kind, "") for o in _outputs(notebook, tag))


def test_the_quickstart_notebook_runs_and_shows_its_tables(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert not any(c.get("outputs") for c in notebook.cells)  # shipped without outputs
    NotebookClient(notebook, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback") if errors else ""
    comparison = _shown(notebook, "comparison", "text/html")
    assert "buy_and_hold" in comparison and "above_sma" in comparison and "sharpe" in comparison
    trades = _shown(notebook, "trades", "text/html")
    assert "above_sma" in trades and trades.count("</tr>") == 1 + 5
    trials = _shown(notebook, "trials", "text/html")
    assert "strategy.position_size" in trials and trials.count("</tr>") == 1 + 9
    assert "Best(params={'strategy.position_size'" in _shown(notebook, "best")
    assert _shown(notebook, "heatmap", "image/png")  # the figure, drawn
    assert list(tmp_path.glob("runs/*-above_sma/report.html"))  # the run wrote its report
