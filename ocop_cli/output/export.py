"""Files ocop writes whole, through the one door (`store.write`): into a temporary file beside
the destination, then renamed over it, so a reader never sees half a file; an existing file is
replaced only with `--force`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocop_cli.store.write import output


def save(path: Path, force: bool, data: bytes | Callable[[Path], Any],
         workspace: Path | None = None) -> None:
    """`data`, or what `data` writes into the temporary file it is given, put in place at
    `path` through the one door (`store.write.output`): over a file only with `force`; no
    link inside `workspace` is followed."""
    output(path, data, workspace=workspace, force=force)
