"""Ctrl-C: a run stops within seconds, even inside a HiGHS solve, says "interrupted", exits 130 and writes nothing;
a batch stops instead of marking the scenario failed and going on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
SLOW = ["--set", "territory.solver.time_limit=600", "--set", "territory.solver.node_limit=10000000"]


def interrupt_after(args: list[str], seconds: float, cwd: Path) -> tuple[int, str, float]:
    """Run `spmopt ARGS`, send SIGINT after `seconds`; exit code, stderr and seconds from signal to exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "spmopt", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell may inherit SIGINT ignored; a terminal user's process never does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(seconds)
    assert proc.poll() is None, proc.communicate()
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.perf_counter() - sent


@pytest.mark.slow
def test_ctrl_c_during_a_solve_stops_the_run_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, err, waited = interrupt_after(["run", str(DEMO), "--out", str(out), "--fresh", *SLOW], 6.0, tmp_path)
    assert code == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert "HiGHS stopped" not in err
    assert waited < 15, f"took {waited:.1f} s to stop"
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".spmopt-cache"]


@pytest.mark.slow
def test_ctrl_c_stops_a_batch_instead_of_failing_one_scenario(tmp_path: Path) -> None:
    scenarios = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"extends: {DEMO}\nname: {name}\n", encoding="utf-8")
        scenarios.append(str(path))
    out = tmp_path / "batch"
    args = ["batch", *scenarios, "--out", str(out), "--workers", "1", *SLOW]
    code, err, _ = interrupt_after(args, 6.0, tmp_path)
    assert code == 130, err
    assert "interrupted" in err
    ledger = out / "batch.json"
    if ledger.exists():
        statuses = {s["name"]: s["status"] for s in json.loads(ledger.read_text(encoding="utf-8"))["scenarios"]}
        assert "failed" not in statuses.values(), statuses
