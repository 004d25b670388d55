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


# The peak memory of the process that runs it, for scripts run in a child process: the high
# water mark of its own pages (VmHWM). ru_maxrss is no use there: Linux carries it over from
# the parent at fork and exec, so a child of a large test runner reports the runner's size.
PEAK_MB = """
def peak_mb():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (2**20 if sys.platform == "darwin" else 2**10)
"""
