"""Output folders spmopt owns: checked before a run, written whole or not at all, never touching a user's file.

A folder spmopt writes carries a marker (`.spmopt-output.json`) listing every file it wrote with its sha256.
A later run may replace the folder only when every file in it is one the marker lists, unchanged; a folder
holding anything else (a user's notes, another tool's `manifest.json`, an input of the run, the scenario) is
refused before anything is computed, naming the file. Folders written before the marker existed are recognised
by their `manifest.json`, whose `outputs` lists the same hashes.

Writing happens in a hidden staging folder beside the target, swapped into place by two renames; the staging
folder and the displaced old folder carry the writing process's id, so a later run removes those a killed
process left behind (and only those).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from spmopt.errors import SpmoptError
from spmopt.hashing import sha256_file

MARKER = ".spmopt-output.json"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.spmopt-(?:staging|old)-(?P<pid>\d+)(?:-[0-9a-f]+)?$")


def resolve_folder(out_dir: Path) -> Path:
    """The absolute folder, refusing what cannot be an output folder (a file, a symlink loop)."""
    try:
        resolved = Path(out_dir).resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # a symlink loop is a RuntimeError before Python 3.13
        raise SpmoptError(f"{out_dir}: cannot be used as an output folder: {exc}") from None
    if resolved.exists() and not resolved.is_dir():
        raise SpmoptError(f"{out_dir}: output folder is an existing file; choose a folder path")
    return resolved


def check_output_folder(out_dir: Path, inputs: Iterable[Path] = ()) -> Path:
    """Refuse, before anything is computed, an output folder spmopt may not replace; return its absolute path.

    Refused: a path that is a file or a symlink loop; a folder that is, or lies above, any input of the run
    (the scenario, its data, plans, an earlier run's alignment or quotas); a folder holding a file spmopt did
    not write or a written file since edited; a parent folder spmopt cannot write in."""
    folder = resolve_folder(out_dir)
    for path in inputs:
        try:
            item = Path(path).resolve(strict=False)
        except (RuntimeError, OSError):
            continue  # unreadable inputs are reported by their readers
        if item == folder or folder in item.parents:
            raise SpmoptError(
                f"{out_dir}: output folder contains {path}, an input of this run; spmopt replaces its output "
                "folder whole, so write to a new folder (e.g. a sibling) instead"
            )
    _check_owned(folder, out_dir)
    _check_writable(folder, out_dir)
    remove_leftovers(folder)
    return folder


def owned_files(folder: Path) -> dict[str, str] | None:
    """Relative path -> sha256 of what spmopt wrote in `folder` (None: not a folder spmopt wrote)."""
    for name, key in ((MARKER, "files"), ("manifest.json", "outputs")):
        path = folder / name
        if not path.is_file():
            continue
        try:
            facts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        listed = facts.get(key) if isinstance(facts, dict) else None
        versions = facts.get("versions") if isinstance(facts, dict) else None
        is_ours = name == MARKER or (isinstance(versions, dict) and "spmopt" in versions)
        if is_ours and isinstance(listed, dict) and all(isinstance(v, str) for v in listed.values()):
            return dict(listed)
    return None


def _check_owned(folder: Path, shown: Path) -> None:
    if not folder.is_dir():
        return
    present = sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    if not present:
        return
    listed = owned_files(folder)
    if listed is None:
        raise SpmoptError(
            f"{shown}: output folder exists and was not written by spmopt ({_names(present, folder)}); spmopt "
            "replaces its output folder whole, so choose an empty or new folder"
        )
    foreign, edited = [], []
    for path in present:
        rel = path.relative_to(folder).as_posix()
        if rel in (MARKER, "manifest.json"):
            continue
        if rel not in listed or path.is_symlink():
            foreign.append(path)
        elif sha256_file(path) != listed[rel]:
            edited.append(path)
    if foreign:
        raise SpmoptError(
            f"{shown}: output folder holds {_names(foreign, folder)}, which spmopt did not write; a rerun would "
            "replace the folder, so move it out or choose another output folder"
        )
    if edited:
        raise SpmoptError(
            f"{shown}: {_names(edited, folder)} changed since spmopt wrote it; a rerun would replace it, so copy "
            "your edits out of the folder or choose another output folder"
        )


def _names(paths: list[Path], folder: Path) -> str:
    shown = ", ".join(p.relative_to(folder).as_posix() for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _check_writable(folder: Path, shown: Path) -> None:
    parent = folder.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpmoptError(f"{shown}: cannot write in {parent} (permission denied); choose another output folder")


def remove_leftovers(folder: Path) -> None:
    """Delete staging and displaced folders of `folder` left by spmopt processes that no longer run."""
    parent = folder.parent
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        found = _LEFTOVER.match(entry.name)
        if found is None or found["name"] != folder.name or not entry.is_dir() or _alive(int(found["pid"])):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_folder(out_dir: Path, fill: Callable[[Path], None], inputs: Iterable[Path] = ()) -> list[Path]:
    """Run `fill(staging)` in a hidden folder beside `out_dir`, mark the result as spmopt's and swap it into
    place; on any failure or interrupt nothing outside the staging folder changes."""
    folder = check_output_folder(out_dir, inputs)  # again: the folder may have changed during the run
    folder.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = folder.with_name(f".{folder.name}.spmopt-staging-{tag}")
    try:
        staging.mkdir(mode=0o755)
        fill(staging)
        files = {p.relative_to(staging).as_posix(): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        marker = {"run_id": uuid.uuid4().hex, "files": files}
        (staging / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        backup = None
        if folder.exists():
            backup = folder.with_name(f".{folder.name}.spmopt-old-{tag}")
            folder.rename(backup)
        try:
            staging.rename(folder)
        except BaseException:
            if backup is not None:
                backup.rename(folder)
            raise
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except OSError as exc:
        _discard(staging)
        raise SpmoptError(f"{out_dir}: cannot write outputs: {exc}") from None
    except BaseException:
        _discard(staging)
        raise
    return sorted(folder.iterdir())


def _discard(staging: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)


def mismatched_pair(alignment: Path, quotas: Path) -> str | None:
    """A warning when `quotas` comes from an spmopt run whose own alignment.csv differs from `alignment` (quotas
    set on one alignment, reused with another); None when they match or either file has no run to compare."""
    listed = owned_files(quotas.resolve().parent)
    if listed is None or "alignment.csv" not in listed or not alignment.is_file():
        return None
    if sha256_file(alignment) == listed["alignment.csv"]:
        return None
    return (
        f"{quotas} was set on the alignment of its own run ({quotas.parent / 'alignment.csv'}), which differs from "
        f"{alignment}: the quotas may not fit these territories; use the pair from one run"
    )


def atomic_write_folder(
    out_dir: Path,
    writers: dict[str, Callable[[Path], None]],
    manifest: Callable[[Path], dict[str, object]],
    finish: Callable[[Path], list[str]] | None = None,
    inputs: Sequence[Path] = (),
) -> list[Path]:
    """Write files into a staging folder, then swap it into place (see `spmopt.folder`); on failure nothing
    changes, and a folder holding anything spmopt did not write, or any of `inputs`, is refused.

    `finish` runs after manifest.json is written (the report reads the manifest); the files it adds join the
    manifest's output hashes and its warnings the manifest's warnings."""

    def fill(staging: Path) -> None:
        for name, write in writers.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            write(staging / name)
        facts = manifest(staging)
        (staging / "manifest.json").write_text(json.dumps(facts, indent=2, default=str), encoding="utf-8")
        if finish is not None:
            facts.setdefault("warnings", []).extend(finish(staging))
            facts["outputs"] = {k: v for k, v in output_hashes(staging).items() if k != "manifest.json"}
            (staging / "manifest.json").write_text(json.dumps(facts, indent=2, default=str), encoding="utf-8")

    return write_folder(out_dir, fill, inputs)


def output_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file written so far, keyed by its path inside the folder."""
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
