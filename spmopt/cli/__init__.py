"""Command line (thin: parsing, progress and error display; the work is in the stage modules). Each command group
is its own module; importing them registers their commands on `app`, in the order `spmopt --help` lists them."""

from __future__ import annotations

# isort: off
from spmopt.cli.common import app
from spmopt.cli import scenario, assess, workbench, comp, batch, bench

# isort: on

__all__ = ["app", "assess", "batch", "bench", "comp", "scenario", "workbench"]
