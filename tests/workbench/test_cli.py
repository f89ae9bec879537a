"""`spmopt workbench` as a planner starts it: it prints the page's address, serves the page there (and only there:
without the signed session id the server answers 403), and Ctrl-C stops it cleanly, having written nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from grid import make_grid

pytestmark = pytest.mark.slow


def test_the_command_serves_the_page_on_the_printed_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    scenario = make_grid(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    env = {**os.environ, "COLUMNS": "400"}  # the address on one line
    proc = subprocess.Popen(
        [sys.executable, "-m", "spmopt", "workbench", str(scenario), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "http://" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
        url = re.search(r"http://127\.0\.0\.1:\d+/workbench\?bokeh-session-id=\S+", line).group(0)
        with urllib.request.urlopen(url, timeout=30) as page:
            html = page.read().decode()
        assert page.status == 200
        assert "spmopt workbench: grid" in html
        assert "https://" not in html  # every script from the installed package, none from a CDN
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.split("?")[0], timeout=10)
        assert refused.value.code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err + out
    assert "workbench stopped" in out
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
