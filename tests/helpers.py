"""Small readers the tests share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def recorded(ws: Path) -> list[dict[str, Any]]:
    """Every entry line of a workspace's history, as written."""
    found = []
    for path in sorted((ws / "history").glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("- {"):
                found.append(json.loads(line[2:]))
    return found
