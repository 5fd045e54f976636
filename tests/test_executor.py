"""One way to run work elsewhere: fresh interpreters that never re-run the caller's
script, results in order, and a worker's failure raised here with its traceback."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from xai_backtest.engine.executor import LocalExecutor, WorkerError


def _fails(value: int) -> int:
    if value == 3:
        raise ValueError(f"planted failure on {value}")
    return value


def test_fresh_interpreters_give_the_results_in_order_and_report_progress():
    done = []
    found = LocalExecutor(2).map(math.factorial, list(range(12)), on_done=lambda: done.append(1))
    assert found == [math.factorial(n) for n in range(12)]
    assert len(done) == 12


def test_a_failing_task_raises_with_the_workers_traceback():
    with pytest.raises(WorkerError) as caught:
        LocalExecutor(2).map(_fails, list(range(6)))
    message = str(caught.value)
    assert "Traceback" in message and "in _fails" in message
    assert "ValueError: planted failure on 3" in message


def test_submit_runs_in_the_background_and_joins():
    with LocalExecutor(1).submit(math.factorial, [5, 6]) as pending:
        assert pending.result() == [120, 720]


SCRIPT = textwrap.dedent("""
    import math
    from xai_backtest.engine.executor import LocalExecutor
    print("top-level ran")
    print(sum(LocalExecutor(2).map(math.factorial, list(range(8)))))
""")


def test_a_script_without_a_main_guard_is_not_run_again(tmp_path):
    (tmp_path / "unguarded_executor_script.py").write_text(SCRIPT)
    done = subprocess.run([sys.executable, "unguarded_executor_script.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("top-level ran") == 1
    assert str(sum(math.factorial(n) for n in range(8))) in done.stdout
