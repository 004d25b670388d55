"""The entries a plan counts from the product register: a task that counts the products
reaching a stage (`products_at`) is replayed with one entry for each such product, beside the
history's own. They are never written or undone."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ocop_cli.core.errors import InvalidData
from ocop_cli.core.model import Entry, Plan
from ocop_cli.store.storage import Loaded, owned_years
from ocop_cli.tracker.product_lines import Line, live, read_register


def counted_entries(plan: Plan, lines: Sequence[Line], years: Collection[int]) -> list[Entry]:
    """For each task that counts products at a stage (`products_at`), one entry for each
    product that reached that stage within the plan's `years` (`storage.owned_years`: a
    year with its own plan inside a plan over several years is that plan's): quantity 1,
    place its district unit, dated the day of the stage (the first such line in them)."""
    tasks = [t for t in plan.tasks if t.products_at]
    if not tasks:
        return []
    kept = live(lines)
    districts: dict[str, str | None] = {}
    for line in kept:
        if line.action == "registered":
            districts.setdefault(line.product, line.district)
    entries: list[Entry] = []
    for task in tasks:
        counted: set[str] = set()
        for line in kept:
            if line.action != task.products_at or line.date.year not in years \
                    or line.product in counted or line.product not in districts:
                continue
            counted.add(line.product)
            entries.append(Entry(f"{line.id}:{task.id}", line.at, line.date, task.id,
                                 "progress", line.by, 1, districts[line.product], line.ref,
                                 None, None, plan.year, line.source))
    return entries


def count_into(loaded: Loaded) -> None:
    """Give `loaded` the entries its plan counts from the register (the index replays the
    tasks that count products with them on every run)."""
    if not any(t.products_at for t in loaded.plan.tasks):
        return
    lines, problems = read_register(loaded.workspace, loaded.directory, None)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise InvalidData(errors)
    loaded.counted = counted_entries(loaded.plan, lines,
                                     owned_years(loaded.workspace, loaded.plan))
