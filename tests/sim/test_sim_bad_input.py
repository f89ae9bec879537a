"""Bad simulation inputs fail with one clear error: behaviour parameters outside their hard limits name the file
and the key, values merely outside their plausible range only warn, plans counting products the simulation never
produces are refused, and CLI mistakes exit with code 2 before any territory is designed."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_clean_failure
from sim_helpers import DEFAULTS, ROOT, defaults, demo_plan, with_revenue
from typer.testing import CliRunner, Result

from spmopt.cli import app
from spmopt.comp.plan import Credit, load_plan
from spmopt.errors import ConfigError
from spmopt.sim.incentives import check_plan
from spmopt.sim.params import load_behaviour

DEMO = ROOT / "scenarios" / "demo.yaml"
TEXT = DEFAULTS.read_text(encoding="utf-8")


def variant(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The default behaviour file with each (old, new) text replaced once (line numbers stay the same)."""
    text = TEXT
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} is not unique in {DEFAULTS}"
        text = text.replace(old, new)
    path = tmp_path / "behaviour.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(needle: str) -> int:
    return next(n for n, line in enumerate(TEXT.splitlines(), start=1) if needle in line)


def value_of(key: str, old: str, new: str) -> tuple[str, str]:
    """Edit of `key: {value: old ...}` (the value sits on the line after the key)."""
    return f"{key}:\n    value: {old}\n", f"{key}:\n    value: {new}\n"


# (edits, words the message must contain, line of the section the key is in, line of the key itself)
BAD = {
    "negative-rate": ([value_of("deal_size_share", "0.32", "-1")], ["deal_size_share", "-1"], "pipeline:"),
    "zero-capture": ([value_of("capture", "0.5", "0")], ["capture"], "pipeline:"),
    "probability-above-1-stage": (
        [("pass_probability: 0.6}", "pass_probability: 1.5}")],
        ["pipeline.stages[1].pass_probability"],
        "pipeline:",
    ),
    "probability-above-1-param": ([value_of("new_logo_share", "0.15", "1.2")], ["new_logo_share", "1.2"], "pipeline:"),
    "shares-not-adding-to-1": (
        [("license: {share: 0.7,", "license: {share: 0.8,")],
        ["product shares", "1.1"],
        "pipeline:",
    ),
    "effort-min-above-max-1": (
        [value_of("effort_min", "0.6", "0.9"), value_of("effort_max", "1.4", "0.8")],
        ["effort_max", "0.8"],
        "motivation:",
    ),
    "effort-min-above-max-2": (
        [value_of("effort_min", "0.6", "1.2"), value_of("effort_max", "1.4", "1.1")],
        ["effort_min", "1.2"],
        "motivation:",
    ),
    "quit-probability-above-1": (
        [value_of("quit_probability", "0.15", "1.5")],
        ["quit_probability", "1.5"],
        "turnover:",
    ),
}
KEY_LINE = {
    "negative-rate": "deal_size_share:",
    "zero-capture": "capture:",
    "probability-above-1-stage": "name: propose",
    "probability-above-1-param": "new_logo_share:",
    "shares-not-adding-to-1": "license: {share",
    "effort-min-above-max-1": "effort_max:",
    "effort-min-above-max-2": "effort_min:",
    "quit-probability-above-1": "quit_probability:",
}


@pytest.mark.parametrize("case", list(BAD))
def test_out_of_limits_behaviour_names_file_key_and_line(tmp_path: Path, case: str) -> None:
    edits, words, section = BAD[case]
    path = variant(tmp_path, *edits)
    with pytest.raises(ConfigError) as info:
        load_behaviour(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid behaviour parameters"), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    # The line given lies on the path from the section to the offending key (the section, or the key itself).
    lines = [int(n) for n in re.findall(r"\(line (\d+)\)", message)]
    assert len(lines) == 1, message
    assert line_of(section) <= lines[0] <= line_of(KEY_LINE[case]), message


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_non_finite_behaviour_value_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="deal_size_share"):
        load_behaviour(variant(tmp_path, value_of("deal_size_share", "0.32", value)))


def test_implausible_but_legal_value_warns_and_loads(tmp_path: Path) -> None:
    assert defaults().warnings() == []
    # skill_sigma: plausible 0-0.4 (the file's range), hard limit 0-2.
    params = load_behaviour(variant(tmp_path, value_of("skill_sigma", "0.15", "0.9")))
    assert params.reps.skill_sigma.value == 0.9
    warnings = params.warnings()
    assert len(warnings) == 1, warnings
    assert "skill_sigma = 0.9" in warnings[0]
    assert "0-0.4" in warnings[0]
    # Two stress-tested values: two warnings, still no error.
    params = load_behaviour(
        variant(tmp_path, value_of("skill_sigma", "0.15", "0.9"), value_of("elasticity", "0.3", "1.5"))
    )
    assert sorted(w.split(" = ")[0] for w in params.warnings()) == [
        "behaviour parameter elasticity",
        "behaviour parameter skill_sigma",
    ]


# ------------------------------------------------------------------------------------------ plans


def test_check_plan_refuses_a_measure_on_a_product_never_simulated() -> None:
    plan = with_revenue(demo_plan("target_incentive"), credit=Credit(products=("hardware",)))
    with pytest.raises(ConfigError) as info:
        check_plan(plan, defaults(), "plans/hw.yaml")
    message = str(info.value)
    for word in ("plans/hw.yaml", "measure revenue", "hardware", "license, services"):
        assert word in message, message
    # The demo plans pass.
    for name in ("target_incentive", "commission"):
        check_plan(demo_plan(name), defaults(), name)


def test_check_plan_refuses_a_spif_on_a_product_never_simulated_and_a_plan_without_dates() -> None:
    plan = demo_plan("target_incentive")
    spif = plan.spifs[0].model_copy(update={"credit": Credit(field="new_logos", products=("hardware",))})
    with pytest.raises(ConfigError, match="SPIF q1_new_logos counts products hardware"):
        check_plan(plan.model_copy(update={"spifs": (spif,)}), defaults(), "p")
    with pytest.raises(ConfigError, match="year_start"):
        check_plan(plan.model_copy(update={"year_start": None}), defaults(), "p")


# ------------------------------------------------------------------------------------------ CLI


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def simulate(*args: str) -> Result:
    return CliRunner().invoke(app, ["simulate", str(DEMO), "--out", "out", *args])


@pytest.fixture
def no_solving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Territory design must not start: these failures are in the inputs."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("territory design started before the input error was reported")

    monkeypatch.setattr("spmopt.pipeline.design_territories", refuse)  # after every input check


@pytest.mark.usefixtures("no_solving")
@pytest.mark.parametrize(("value", "word"), [("0", "greater than or equal to 1"), ("-3", "greater than or equal")])
def test_cli_zero_replications(tmp_path: Path, value: str, word: str) -> None:
    text = assert_clean_failure(simulate("--replications", value), tmp_path, "simulation.replications", word)
    assert f"{DEMO}" in text or "demo.yaml" in text


@pytest.mark.usefixtures("no_solving")
def test_cli_unknown_mode_and_half_given_inputs(tmp_path: Path) -> None:
    assert_clean_failure(simulate("--mode", "lazy"), tmp_path, "simulation.mode")
    (tmp_path / "alignment.csv").write_text("unit_id,territory_id\n", encoding="utf-8")
    assert_clean_failure(simulate("--alignment", "alignment.csv"), tmp_path, "--alignment", "--quotas")


def earlier_run(root: Path) -> list[str]:
    """An alignment (every demo unit in one territory) and quotas written by hand, as an earlier run would."""
    units = pd.read_csv(ROOT / "scenarios" / "demo" / "units.csv", dtype={"unit_id": str})["unit_id"]
    pd.DataFrame({"unit_id": units, "territory_id": "T1"}).to_csv(root / "alignment.csv", index=False)
    (root / "quotas.csv").write_text("territory_id,rep_id,annual_quota,expected_sales\nT1,R01,1000000,1000000\n")
    return ["--alignment", "alignment.csv", "--quotas", "quotas.csv"]


@pytest.mark.usefixtures("no_solving")
def test_cli_bad_behaviour_file_names_file_and_key(tmp_path: Path) -> None:
    bad = variant(tmp_path, value_of("deal_size_share", "0.32", "-1"))
    args = [*earlier_run(tmp_path), "--set", f"simulation.behaviour={bad}"]
    assert_clean_failure(simulate(*args), tmp_path, str(bad), "pipeline.deal_size_share (line", "value -1 must be > 0")


@pytest.mark.usefixtures("no_solving")
def test_cli_plan_on_an_unknown_product(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "plans" / "commission.yaml").read_text(encoding="utf-8")
    assert text.count("credit: {field: margin}") == 1
    plan = tmp_path / "hardware.yaml"
    plan.write_text(text.replace("credit: {field: margin}", "credit: {field: margin, products: [hardware]}"))
    load_plan(plan)  # a valid plan in itself
    plans = f"comp.plans=[{ROOT / 'scenarios' / 'plans' / 'target_incentive.yaml'}, {plan}]"
    assert_clean_failure(
        simulate(*earlier_run(tmp_path), "--set", plans), tmp_path, str(plan), "measure margin counts products hardware"
    )


@pytest.mark.usefixtures("no_solving")
def test_cli_bad_behaviour_file_fails_before_territory_design(tmp_path: Path) -> None:
    bad = variant(tmp_path, value_of("deal_size_share", "0.32", "-1"))
    assert_clean_failure(simulate("--set", f"simulation.behaviour={bad}"), tmp_path, str(bad), "deal_size_share")
