"""The exceptions spmopt raises; each carries a message written for the planner, not a traceback."""

from __future__ import annotations


class SpmoptError(Exception):
    """Base class: the CLI prints the message and exits non-zero."""


class ConfigError(SpmoptError):
    """A scenario file is malformed or names something that does not exist."""


class DataError(SpmoptError):
    """An input table or geometry file is missing, malformed or inconsistent."""


class InfeasibleModelError(SpmoptError):
    """The requirements cannot all hold at once; the message names the ones that conflict."""


class SolverError(SpmoptError):
    """The solver failed or stopped without any feasible solution."""
