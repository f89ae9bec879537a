"""Provenance: content fingerprints of files (manifests, output markers) and of in-memory stage inputs (cache keys),
spmopt's code fingerprint and the versions of the libraries that shape results."""

from __future__ import annotations

import hashlib
import platform
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_VERSIONED = (
    "spmopt",
    "pyomo",
    "highspy",
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "networkx",
    "pydantic",
    "simpy",
    "dask",
    "distributed",
    "zipcodes",
)


def package_versions() -> dict[str, str]:
    """Versions of spmopt and the libraries whose behaviour shapes results."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@cache
def code_fingerprint() -> str:
    """sha256 over spmopt's Python sources."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(value: object) -> str:
    """Hex sha256 of a stage input of any shape: config models and dataclasses field by field, files named by a
    `Path` by their contents (a missing file by its absence), frames and arrays by their values, dtypes and
    labels. Two values with equal fingerprints give a stage the same input."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: hashlib._Hash, value: object) -> None:
    import dataclasses

    import numpy as np
    import pandas as pd
    from pydantic import BaseModel

    def tag(text: str) -> None:
        digest.update(f"<{text}>".encode())

    if value is None or isinstance(value, bool | int | float | str):
        tag(f"{type(value).__name__}:{value!r}")
    elif isinstance(value, Path):
        tag(f"path:{value}")
        tag(sha256_file(value) if value.is_file() else "missing")
    elif isinstance(value, BaseModel):
        tag(type(value).__name__)
        for name, item in value:
            tag(name)
            _feed(digest, item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        tag(type(value).__name__)
        for f in dataclasses.fields(value):
            tag(f.name)
            _feed(digest, getattr(value, f.name))
    elif isinstance(value, pd.DataFrame | pd.Series):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        tag(f"frame:{[str(t) for t in frame.dtypes]}")
        _feed(digest, [str(c) for c in frame.columns])
        _feed(digest, [str(i) for i in frame.index])
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        tag(f"array:{value.dtype}:{value.shape}")
        digest.update(np.ascontiguousarray(value).tobytes() if value.dtype != object else repr(value.tolist()).encode())
    elif isinstance(value, dict):
        tag(f"dict:{len(value)}")
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        tag(f"{type(value).__name__}:{len(items)}")
        for item in items:
            _feed(digest, item)
    else:
        tag(f"{type(value).__name__}:{value!r}")


def config_sha256(config: object) -> str:
    """sha256 of a resolved configuration (a pydantic model) as sorted JSON: the manifest's `config_sha256`,
    and the batch's key for a finished run."""
    import json

    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)  # type: ignore[attr-defined]
    return hashlib.sha256(text.encode()).hexdigest()
