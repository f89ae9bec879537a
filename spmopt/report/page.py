"""Render spmopt's self-contained HTML pages (run report, batch comparison) from Jinja templates."""

from __future__ import annotations

import base64
import io
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment over spmopt/report/templates, autoescaping HTML."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("spmopt.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a missing fact is a bug, not a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["stylesheet"] = files("spmopt.report").joinpath("templates/style.css").read_text(encoding="utf-8")
    return env


def render(template: str, **context: Any) -> str:
    """One page as a string: styles inline, images as data: URIs, no external requests."""
    return environment().get_template(template).render(**context)


def png_data_uri(data: bytes) -> str:
    """A PNG as a data: URI, so the page opens offline."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG markup (text kept as text, so it is searchable and crisp)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "spmopt"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE, which are invalid inside HTML
