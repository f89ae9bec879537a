"""Output folders: spmopt replaces only folders it wrote, refuses anything else before computing, and cleans up
only its own leftovers (`spmopt.folder`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from inputs.test_bad_input import make_instance, scenario
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.errors import SpmoptError
from spmopt.folder import MARKER, check_output_folder, mismatched_pair, remove_leftovers, write_folder


def run(path: Path, *extra: str):
    return CliRunner().invoke(app, ["run", str(path), *extra])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(result, *fragments: str) -> str:
    text = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.exception!r}\n{text}"
    assert "Traceback" not in text
    for fragment in fragments:
        assert fragment in " ".join(text.split()), f"{fragment!r} not in {text}"
    return text


@pytest.fixture
def finished(tmp_path: Path) -> tuple[Path, Path]:
    """A scenario and the output folder of one successful run."""
    path = make_instance(tmp_path)
    first = run(path)
    assert first.exit_code == 0, first.output
    return path, tmp_path / "out"


def test_rerun_replaces_its_own_folder(finished: tuple[Path, Path]) -> None:
    path, out = finished
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["files"]) == set(snapshot(out)) - {MARKER}
    again = run(path, "--fresh")
    assert again.exit_code == 0, again.output
    assert json.loads((out / MARKER).read_text())["run_id"] != marker["run_id"]


def test_users_notes_in_an_output_folder_are_never_deleted(finished: tuple[Path, Path]) -> None:
    path, out = finished
    (out / "notes.txt").write_text("call the VP about the north", encoding="utf-8")
    before = snapshot(out)
    refused(run(path), "notes.txt", "spmopt did not write")
    assert snapshot(out) == before


def test_an_edited_output_is_not_replaced(finished: tuple[Path, Path]) -> None:
    path, out = finished
    with (out / "alignment.csv").open("a", encoding="utf-8") as fh:
        fh.write("# moved u00 by hand\n")
    before = snapshot(out)
    refused(run(path), "alignment.csv", "changed since spmopt wrote it")
    assert snapshot(out) == before


def test_another_tools_manifest_does_not_make_a_folder_ours(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    web = tmp_path / "out"
    web.mkdir()
    (web / "manifest.json").write_text('{"name": "my web app", "icons": []}', encoding="utf-8")
    (web / "index.html").write_text("<html></html>", encoding="utf-8")
    before = snapshot(web)
    refused(run(path), "not written by spmopt")
    assert snapshot(web) == before


def test_output_folder_holding_the_scenario_is_refused_even_with_a_manifest(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    spec = scenario()
    spec["output"]["dir"] = "."
    path = make_instance(plan, spec)
    (plan / "manifest.json").write_text(json.dumps({"versions": {"spmopt": "0"}, "outputs": {}}), encoding="utf-8")
    before = snapshot(plan)
    refused(run(path), "an input of this run")
    assert snapshot(plan) == before


def test_comp_evaluate_into_the_run_it_reads_is_refused(finished: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = finished
    before = snapshot(out)
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: p\n", encoding="utf-8")
    tx = tmp_path / "tx.csv"
    tx.write_text("transaction_id,date,amount,unit_id\n", encoding="utf-8")
    args = ["comp", "evaluate", str(plan), "--transactions", str(tx), "--quotas", str(out / "alignment.csv")]
    args += ["--alignment", str(out / "alignment.csv"), "--out", str(out)]
    refused(CliRunner().invoke(app, args), "an input of this run")
    assert snapshot(out) == before


def test_out_naming_a_file_is_refused_before_solving(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    (tmp_path / "result.txt").write_text("keep me", encoding="utf-8")
    refused(run(path, "--out", str(tmp_path / "result.txt")), "is an existing file")
    assert (tmp_path / "result.txt").read_text() == "keep me"


def test_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    refused(run(path, "--out", str(tmp_path / "a" / "out")), "cannot be used as an output folder")


def test_unwritable_parent_is_refused_before_solving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_instance(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    solved: list[str] = []
    monkeypatch.setattr("spmopt.pipeline.design_territories", lambda *a, **k: solved.append("x"))
    refused(run(path, "--out", str(locked / "out")), "permission denied")
    assert not solved, "the folder must be checked before any stage runs"


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    dead = 2**22 + 12345  # above Linux's default pid_max, so no process has it
    stale = tmp_path / f".out.spmopt-staging-{dead}-0a1b2c3d"
    old = tmp_path / f".out.spmopt-old-{dead}-0a1b2c3d"
    mine = tmp_path / f".out.spmopt-staging-{os.getpid()}-0a1b2c3d"
    other = tmp_path / f".other.spmopt-staging-{dead}-0a1b2c3d"
    user = tmp_path / ".out.backup"
    for d in (stale, old, mine, other, user):
        d.mkdir()
        (d / "f.csv").write_text("x", encoding="utf-8")
    remove_leftovers(folder)
    assert [d.exists() for d in (stale, old, mine, other, user)] == [False, False, True, True, True]


def test_failure_while_writing_leaves_the_old_folder_and_no_staging(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_folder(folder, lambda d: (d / "a.csv").write_text("1", encoding="utf-8"))
    before = snapshot(folder)

    def broken(staging: Path) -> None:
        (staging / "a.csv").write_text("2", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder(folder, broken)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_folder_written_before_the_marker_is_recognised_by_its_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.csv").write_text("1", encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(b"1").hexdigest()
    manifest = {"versions": {"spmopt": "0.1.0"}, "outputs": {"a.csv": digest}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    check_output_folder(folder)
    (folder / "b.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(SpmoptError, match="b.csv"):
        check_output_folder(folder)


def test_batch_skips_a_scenario_whose_folder_holds_a_users_file(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    spec = yaml.safe_load(path.read_text())
    batch_out = tmp_path / "batch"
    target = batch_out / spec["name"]
    target.mkdir(parents=True)
    (target / "plan.docx").write_text("draft", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(path), "--out", str(batch_out), "--workers", "1"])
    assert result.exit_code == 1, result.output
    assert "plan.docx" in " ".join(result.output.split())
    assert (target / "plan.docx").read_text() == "draft"


def test_alignment_and_quotas_from_different_runs_are_flagged(tmp_path: Path) -> None:
    def run_folder(name: str, owner: str) -> Path:
        def fill(d: Path) -> None:
            (d / "alignment.csv").write_text(f"unit_id,territory_id\nu1,{owner}\n", encoding="utf-8")
            (d / "quotas.csv").write_text(f"territory_id,rep_id,annual_quota\n{owner},R1,100\n", encoding="utf-8")

        write_folder(tmp_path / name, fill)
        return tmp_path / name

    one, two = run_folder("one", "T1"), run_folder("two", "T2")
    assert mismatched_pair(one / "alignment.csv", one / "quotas.csv") is None
    warning = mismatched_pair(two / "alignment.csv", one / "quotas.csv")
    assert warning is not None
    assert "differs from" in warning
    assert str(two / "alignment.csv") in warning
    loose = tmp_path / "quotas.csv"
    loose.write_text("territory_id,rep_id,annual_quota\nT1,R1,100\n", encoding="utf-8")
    assert mismatched_pair(two / "alignment.csv", loose) is None  # no run to compare with
