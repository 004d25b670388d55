"""A workspace as a command reads it: its plan, agencies and history (from the index, which
reads the files it has not read yet, or from the files with OCOP_NO_INDEX=1), and the entries
its plan counts from the product register."""

from __future__ import annotations

from ocop_cli.store import index
from ocop_cli.store.storage import Loaded, Workspace
from ocop_cli.tracker.counted import count_into


def load(ws: Workspace, year: int | None = None) -> Loaded:
    """The plan of `year` (the latest by default) with its agencies and history, and the
    products it counts; InvalidData with every error when a file is broken."""
    loaded = index.load(ws, year)
    if any(task.products_at for task in loaded.plan.tasks):

        count_into(loaded)
    return loaded
