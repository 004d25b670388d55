"""A report as PDF, printed by a program installed beside ocop: LibreOffice prints the DOCX,
else Chromium prints the HTML page; in a temporary folder of their own, within a time limit.
The PDF is then handed to the one door (`store.write`) by the formatter that asked for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ocop_cli.core.errors import Refused
from ocop_cli.core.i18n import _
from ocop_cli.core.text import visible

TIMEOUT_S = 180  # LibreOffice takes some 5 s for a year's report; a stuck one is stopped
# Which program prints which of ocop's files, in the order they are tried.
PRINTERS = (("soffice", "docx"), ("libreoffice", "docx"), ("chromium", "html"),
            ("chromium-browser", "html"))
PACKAGES = "libreoffice-writer-nogui, chromium"  # Debian's packages for them


def printer() -> tuple[str, str] | None:
    """The first printing program installed, and the file it prints (docx or html)."""
    for name, kind in PRINTERS:
        found = shutil.which(name)
        if found:
            return found, kind
    return None


def print_pdf(write: dict[str, Callable[[Path], None]]) -> bytes:
    """The PDF of the file `write[kind]` makes, printed by the first program installed."""
    found = printer()
    if found is None:
        raise Refused(_("no program here prints a PDF: install LibreOffice or Chromium "
                        "(Debian: {packages}), or write .docx or .html").format(
                            packages=PACKAGES))
    program, kind = found
    with tempfile.TemporaryDirectory(prefix="ocop-pdf-") as folder:
        source = Path(folder) / f"report.{kind}"
        write[kind](source)
        profile = Path(folder) / "profile"
        pdf = Path(folder) / "report.pdf"
        if kind == "docx":
            args = [program, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", folder, str(source)]
        else:
            args = [program, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", source.as_uri()]
        _run(args, Path(program).name, {**os.environ, "HOME": str(profile)})
        if not pdf.is_file() or pdf.stat().st_size == 0:
            raise Refused(_("{program} printed no PDF").format(program=Path(program).name))
        return pdf.read_bytes()


def _run(args: list[str], name: str, env: dict[str, str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, timeout=TIMEOUT_S, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise Refused(_("{program} did not print the PDF within {n} seconds").format(
            program=name, n=TIMEOUT_S)) from None
    except OSError as error:
        raise Refused(_("{program} could not be run: {error}").format(
            program=name, error=error.strerror or error)) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise Refused(_("{program} could not print the PDF (exit {code}): {said}").format(
            program=name, code=done.returncode, said=visible(said[-1][:200]) if said else "-"))
