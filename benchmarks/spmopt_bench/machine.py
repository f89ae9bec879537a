"""The machine facts a timing depends on, for stored suite results and for comparisons alike.

Suites, the planner suite and the comparisons all record them; they live here, below all three, so none of those
modules has to import another for them.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def machine_facts() -> dict[str, object]:
    """Cores, CPU model, memory, HiGHS version and the date: the facts a timing depends on."""
    from spmopt.hashing import code_fingerprint
    from spmopt.optim.solve import highs_version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory, 1),
        "highs_version": highs_version(),
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "code_fingerprint": code_fingerprint(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def comparison_facts(threads: int | None, time_limit: float, mip_gap: float) -> dict[str, object]:
    """Where and how a comparison ran: cores, load average, versions and the common settings."""
    from importlib.metadata import PackageNotFoundError, version

    from spmopt.optim.solve import highs_version

    packages = {}
    for package in ("pyomo", "spopt", "pulp"):
        try:
            packages[package] = version(package)
        except PackageNotFoundError:
            packages[package] = None
    return {
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "highs": highs_version(),
        **packages,
        "threads": threads,
        "time_limit": time_limit,
        "mip_gap": mip_gap,
    }


def load_text(values: object) -> str:
    """Load averages as a/b/c with two decimals ("?" when not measured)."""
    if not isinstance(values, list | tuple):
        return "?"
    return "/".join(f"{v:.2f}" for v in values)
