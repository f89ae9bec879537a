"""The run report: every tagged figure equals its CSV cell, the page works offline in a real browser (Debian's
chromium), and the PDF and workbook carry the same content."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from spmopt.manifest import read_manifest
from spmopt.report.html import build_report
from spmopt.report.run_files import read_run
from spmopt.report.summary import recommendation

pytestmark = pytest.mark.slow  # every test reads the session's demo run (about 4 minutes on 2 cores)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _Figures(HTMLParser):
    """Collects every element carrying data-source (a figure read from a CSV) with its shown text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs}
        if "data-source" in data:
            self._open = {**data, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == "span":
            self.found.append(self._open)
            self._open = None


def _shown_value(text: str, unit: str) -> tuple[float, float]:
    """The number a reader sees and half the last shown digit (the rounding allowed), in the CSV's unit."""
    match = re.fullmatch(r"(-?[\d,]+(?:\.(\d+))?)(M?)(%|\u00d7)?", text.strip())
    assert match, f"unreadable figure {text!r}"
    number = float(match.group(1).replace(",", ""))
    half = 0.5 * 10 ** -len(match.group(2) or "")
    scale = 1e6 if match.group(3) else 1.0
    if unit == "fraction":
        scale /= 100
    return number * scale, half * scale


def check_figure(folder: Path, figure: dict[str, str]) -> None:
    """The figure's value is exactly its CSV cell, and its text is that value correctly rounded."""
    frame = pd.read_csv(folder / figure["data-source"])
    mask = pd.Series(True, index=frame.index)
    for name, want in json.loads(figure["data-key"]).items():
        mask &= frame[name].astype(str) == str(want)
    assert mask.sum() == 1, figure
    expected = float(frame.loc[mask, figure["data-column"]].iloc[0])
    assert float(figure["data-value"]) == expected, figure
    shown, half = _shown_value(figure["text"], figure["data-unit"])
    assert abs(shown - expected) <= half * (1 + 1e-9), (figure, shown, expected)


def test_every_figure_equals_its_csv_cell(demo_run: tuple[Path, list[str]]) -> None:
    out, _ = demo_run
    parser = _Figures()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    sources = {f["data-source"] for f in parser.found}
    assert {"decision.csv", "territories.csv", "quotas.csv", "coaching.csv"} <= sources
    assert len(parser.found) > 200
    for figure in parser.found:
        check_figure(out, figure)


def test_recommendation_is_the_decision_tables_best(demo_run: tuple[Path, list[str]]) -> None:
    out, _ = demo_run
    decision = pd.read_csv(out / "decision.csv")
    best = decision[decision["best"]].iloc[0]
    rec = recommendation(read_run(out))
    assert rec is not None
    assert (rec.alignment, rec.plan, rec.coaching) == (best["alignment"], best["plan"], bool(best["coaching"]))
    assert rec.score.mean.value == best["margin_after_pay"]
    assert all(c.value.mean.value <= rec.score.mean.value for c in rec.comparisons)
    # The paired lead over each alternative has the decision table's mean difference, inside its own interval.
    for c in rec.comparisons:
        assert c.lead.mean.value == pytest.approx(rec.score.mean.value - c.value.mean.value)
        assert c.lead.low.value <= c.lead.mean.value <= c.lead.high.value
    html = (out / "report.html").read_text(encoding="utf-8")
    headline = f"adopt the {best['alignment']} alignment, {best['plan']} plan, with"
    assert headline in html
    assert html.index("Executive summary") < html.index("Candidates compared") < html.index("Appendix: run facts")


def test_report_is_self_contained(demo_run: tuple[Path, list[str]]) -> None:
    html = (demo_run[0] / "report.html").read_text(encoding="utf-8")
    # No fetched resources: every src is a data: URI and there are no stylesheet links or scripts.
    assert re.findall(r'src="(?!data:)', html) == []
    assert "<link" not in html
    assert "<script" not in html
    assert "@import" not in html


def test_workbook_holds_the_same_tables(demo_run: tuple[Path, list[str]]) -> None:
    out, _ = demo_run
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["Recommendation", "Decision", "Territories"]
    assert {"Quotas", "Comp summary", "Simulation", "Coaching", "Leaderboard", "Run facts"} <= set(book.sheetnames)
    sheet = pd.read_excel(out / "report.xlsx", sheet_name="Decision")
    decision = pd.read_csv(out / "decision.csv")
    numeric = decision.select_dtypes("number").columns
    # Same numbers to the last bit or two (CSV text and Excel's binary floats are parsed by different readers).
    assert np.allclose(sheet[numeric].to_numpy(), decision[numeric].to_numpy(), rtol=1e-13, atol=0, equal_nan=True)
    quotas = pd.read_excel(out / "report.xlsx", sheet_name="Quotas")
    assert quotas["annual_quota"].sum() == pd.read_csv(out / "quotas.csv")["annual_quota"].sum()


def test_pdf_is_the_same_report(demo_run: tuple[Path, list[str]]) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    out, _ = demo_run
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    document = weasyprint.HTML(string=(out / "report.html").read_text(encoding="utf-8")).render()
    assert len(document.pages) >= 6
    manifest = read_manifest(out)
    assert {"report.html", "report.pdf", "report.xlsx"} <= set(manifest.outputs)


def test_report_without_simulation_says_so(demo_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    folder = tmp_path / "territory-only"
    shutil.copytree(demo_run[0], folder)
    for name in ("decision.csv", "coaching.csv"):
        (folder / name).unlink()
    for name in ("simulation", "alignments", "comp"):
        shutil.rmtree(folder / name)
    (folder / "comp_summary.csv").unlink()
    run = read_run(folder)
    html = build_report(run, recommendation(run))
    assert "no simulation stage, so there is no ranked recommendation" in html
    assert "Candidates compared" not in html
    assert "Quotas (designed alignment)" in html


def _browser_required() -> None:
    if CHROMIUM is None:
        if os.environ.get("SPMOPT_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but SPMOPT_REQUIRE_BROWSER is set (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")


def test_report_in_headless_chromium(demo_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    _browser_required()
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from PIL import Image

    out, _ = demo_run
    messages: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "report.html").as_uri(), wait_until="load")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot))
        figures = page.eval_on_selector_all(
            "[data-source]",
            "els => els.map(e => Object.assign({text: e.innerText}, Object.fromEntries("
            "Array.from(e.attributes).map(a => [a.name, a.value]))))",
        )
        headline = page.inner_text("#recommendation .lead")
        cards = page.eval_on_selector_all(".card .value", "els => els.map(e => e.innerText)")
        svgs = page.eval_on_selector_all("figure svg", "els => els.map(e => e.getBoundingClientRect().height)")
        browser.close()
    assert messages == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (900, 1280)
    assert (image < 200).mean() > 0.05, "screenshot is (nearly) blank"
    assert len(np.unique(image)) > 50
    assert headline.startswith("Recommendation: adopt the ")
    assert len(cards) == 5
    assert all(cards)
    assert len(svgs) >= 7
    assert min(svgs) > 100
    assert len(figures) > 200
    for figure in figures:
        check_figure(out, figure)
