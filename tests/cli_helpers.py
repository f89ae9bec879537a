"""Shared assertions for command-line tests."""

from __future__ import annotations

from pathlib import Path

from typer.testing import Result


def assert_clean_failure(result: Result, root: Path, *fragments: str) -> str:
    """Exit 2, one error naming every fragment, no traceback, and no output folder (nor staging folder) left."""
    text = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}, exception {result.exception!r}:\n{text}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert text.startswith("error: "), text
    assert sum(line.startswith("error:") for line in text.splitlines()) == 1, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert not (root / "out").exists(), "a failed command must not create the output folder"
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")], "staging folder left behind"
    return text
