"""Stage results kept between runs, keyed by everything that determines them.

A stage's key is the sha256 of: the stage's own configuration, the sha256 of every file it reads, the key of
the stage it builds on, and a fingerprint of spmopt's own source code (so any change to the code recomputes).
Settings that do not change results (Dask workers, scheduler address, output folder) are left out of keys.
Entries are pickles written atomically; a corrupt or unreadable entry is recomputed, never trusted.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from spmopt.hashing import code_fingerprint, fingerprint


def stage_key(stage: str, reads: Any) -> str:
    """The key of a stage from everything it reads (see the module docstring) and spmopt's code."""
    return fingerprint({"stage": stage, "reads": reads, "code": code_fingerprint()})


class StageCache:
    """A folder of stage results, one pickle per (stage, key).

    `spmopt run` keeps it beside the output folder (`.spmopt-cache`)."""

    def __init__(self, folder: Path, reuse: bool = True) -> None:
        self.folder = folder
        self.reuse = reuse
        """False: recompute every stage (and store the new results)."""

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / f"{stage}-{key[:32]}.pickle"

    def get(self, stage: str, key: str) -> Any | None:
        path = self._path(stage, key)
        if not self.reuse or not path.is_file():
            return None
        try:
            with path.open("rb") as fh:
                stored_key, value = pickle.load(fh)  # noqa: S301 - spmopt's own cache folder
        except Exception:  # noqa: BLE001 - a damaged entry is recomputed, whatever the damage
            return None
        return value if stored_key == key else None

    def put(self, stage: str, key: str, value: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{stage}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, value), fh, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(self._path(stage, key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
