"""report.pdf: the same page as report.html, laid out for print by WeasyPrint."""

from __future__ import annotations

import logging
from pathlib import Path

from spmopt.errors import SpmoptError


def write_pdf(html: str, path: Path) -> None:
    """Render `html` (self-contained) to a PDF at `path`."""
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint is installed but the system's Pango is not
        raise SpmoptError(
            f"{path.name}: cannot load WeasyPrint's text layout library ({exc}); install Pango "
            "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0) to get the PDF report"
        ) from None
    # WeasyPrint logs every CSS property it does not support; the page is written for browsers first.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    weasyprint.HTML(string=html).write_pdf(path)
