"""Command-line faults from a fault probe: malformed overrides and unreadable scenario files get one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_clean_failure
from test_bad_input import invoke, make_instance


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param("territory.balance=[unclosed", "not valid YAML", id="unclosed-list"),
        pytest.param("territory.solver.time_limit=: :", "not valid YAML", id="stray-colon"),
        pytest.param("territory.solver.time_limit=!!python/object:os.system ls", "not valid YAML", id="python-tag"),
        pytest.param("territory..contiguity=false", "empty section name", id="empty-part"),
    ],
)
def test_malformed_override_is_one_clear_error(tmp_path: Path, value: str, fragment: str) -> None:
    path = make_instance(tmp_path)
    assert_clean_failure(invoke("run", path, "--set", value), tmp_path, fragment, value)


def test_scenario_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    result = invoke("run", tmp_path / "a.yaml")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "a.yaml" in result.output


@pytest.mark.parametrize("content", [b"name: x\n\xff\xfe", b"\x89PNG\r\n\x1a\n\x00\x00"], ids=["latin1", "binary"])
def test_scenario_that_is_not_utf8_text_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    assert_clean_failure(invoke("validate", path), tmp_path, "scenario.yaml", "not UTF-8")
