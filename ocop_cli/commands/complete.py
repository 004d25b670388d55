"""Shell completion of task ids and agency ids, each described by its title or name (bash,
zsh, fish and PowerShell, through typer's `--install-completion`).

Runs while a person presses Tab: quick, silent, and it never creates or writes anything. A
missing or broken workspace just means fewer suggestions; with no workspace yet the bundled
plan is read where it lies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.model import Plan

HELP_WIDTH = 60


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= HELP_WIDTH else text[: HELP_WIDTH - 1] + "…"


def _data(ctx: typer.Context | None) -> tuple[Plan | None, Directory | None]:
    """The plan and agencies the command being typed would use."""
    # start-up: store.index, 13 ms, only for completion (not help or a usage error)
    from ocop_cli.store import documents, index, storage

    params: dict[str, Any] = dict(ctx.params) if ctx is not None else {}
    try:
        ws = storage.find(params.get("data"))
        if ws is not None:
            loaded = index.load(ws, params.get("plan"))
            return loaded.plan, loaded.directory
        bundled = storage.Workspace(storage.bundled_dir())
        directory, _problems = documents.read_agencies(bundled.agencies_path)
        if directory is None:
            return None, None
        plan, _problems = documents.read_plan(bundled.plan_path(params.get("plan")), directory)
        return plan, directory
    except Exception:  # whatever is wrong, `ocop check` will say it; Tab just offers nothing
        return None, None


def task_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Every task id, each with its title; typer keeps those that start with what is typed."""
    plan, _directory = _data(ctx)
    return [(t.id, _short(t.title)) for t in plan.tasks] if plan is not None else []


def agencies(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Every agency id, each with its name. Ids, not names: they hold no spaces or accents, so
    every shell inserts them as typed, and every option taking an agency accepts them."""
    _plan, directory = _data(ctx)
    if directory is None:
        return []
    return [(a.id, _short(a.short if a.short == a.name else f"{a.short}: {a.name}"))
            for a in directory.agencies]
