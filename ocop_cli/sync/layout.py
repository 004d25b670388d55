"""The paths a workspace may hold, as git sees them, and the checks sync makes with them.

A workspace holds `plan_YYYY.yaml`, `agencies.yaml`, `ocop_rules.yaml`, `office.yaml`,
`schema/*.json`, `offices/*` (who may sign, see `signers`), `.gitignore`, `.gitattributes`, and
each office's `history/<office>.yaml` and `products/<office>.yaml`. Nothing else arrives
through sync: a symbolic link or a submodule anywhere, anything under `.ocop` (derived and
local), a path outside this list, each is refused by name before anything of the pull is
applied. The rules `ocop init` writes into `.gitattributes` (history files merge line by line)
and `.gitignore` (`/.ocop`, whatever it is: a folder, a file or a link) are made here too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _
from ocop_cli.store import storage
from ocop_cli.sync.git import APPEND_ONLY, Repo, git, short

RULES = "ocop_rules.yaml"  # tracker.products.RULES: the point bands and product groups
OFFICE = "office.yaml"  # output.office.FILE: the letterhead
OFFICES = "offices"  # who may sign for which office (see `signers`)
GIT_FILES = (".gitignore", ".gitattributes")
SHARED = (storage.AGENCIES, RULES, OFFICE, *GIT_FILES)  # the province's, beside the plans
_PLAN = re.compile(r"plan_\d{4}\.yaml")
# One file name: not hidden (ocop's temporary files start with a dot), no control character.
_NAME = r"[^/.\x00-\x1f\x7f][^/\x00-\x1f\x7f]*"
_IN_FOLDER = {storage.SCHEMA: re.compile(_NAME + r"\.json"), OFFICES: re.compile(_NAME),
              storage.HISTORY: re.compile(_NAME + r"\.yaml"),
              storage.PRODUCTS: re.compile(_NAME + r"\.yaml")}
_REGULAR = ("100644", "100755")
IGNORE_RULE = "/" + storage.STATE  # matches .ocop whatever it is, only at the top


def holds(path: str) -> bool:
    """Whether a workspace may hold the file `path` (relative to the workspace)."""
    folder, slash, name = path.rpartition("/")
    if not slash:
        return path in SHARED or _PLAN.fullmatch(path) is not None
    pattern = _IN_FOLDER.get(folder)
    return pattern is not None and pattern.fullmatch(name) is not None


def owner(path: str) -> str | None:
    """The office whose own file `path` is (`history/gia-loc.yaml`: gia-loc), or None for a
    file of the province's (the plan, agencies, rules and the rest)."""
    folder, slash, name = path.rpartition("/")
    if slash and folder in APPEND_ONLY and name.endswith(".yaml"):
        return name.removesuffix(".yaml")
    return None


def appended(path: str) -> bool:
    """Whether `path` is a file ocop only appends to (a history file, the product register)."""
    return path.partition("/")[0] in APPEND_ONLY and holds(path)


class Change(NamedTuple):
    """One path a range of commits changes: as from the workspace, with its new git mode."""

    path: str
    mode: str  # "000000" when removed
    status: str  # A, M, D, T


def changes(repo: Repo, old: str | None, new: str, limit: tuple[str, ...] = ()
            ) -> tuple[list[Change], list[str]]:
    """The paths that differ from `old` to `new`: those of the workspace, and the folders
    above it that changed (a workspace in a folder of a larger repository). Paths elsewhere
    in the repository are not the workspace's and are left out."""
    base = old or git(repo.workspace, "hash-object", "-t", "tree", "--stdin", input=""
                      ).stdout.strip()
    within = [f":(top,literal){repo.prefix}{path}" for path in limit] or [":(top)"]
    raw = git(repo.workspace, "diff", "--raw", "-z", "--no-renames", "--no-ext-diff",
              "--ignore-submodules=none", base, new, "--", *within).stdout
    tokens = raw.split("\0")
    found, above = [], []
    for meta, path in zip(tokens[::2], tokens[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        fields = meta[1:].split()
        inside = path.removeprefix(repo.prefix)
        if repo.prefix and not path.startswith(repo.prefix):
            if repo.prefix.startswith(path + "/"):
                above.append(path)
            continue
        found.append(Change(inside, fields[1], fields[-1][:1]))
    return found, above


def refusals(found: list[Change]) -> list[tuple[str, str]]:
    """(path, why) for each change a workspace cannot take."""
    refused = []
    for change in found:
        if change.path == storage.STATE or change.path.startswith(storage.STATE + "/"):
            if change.status != "D":  # taking .ocop out of git is how it is mended
                refused.append((change.path, _("is under .ocop, which is derived and local "
                                               "to each computer")))
        elif change.status == "D":
            continue  # a file removed: `lines` keeps every line it had
        elif change.mode == "120000":
            refused.append((change.path, _("is a symbolic link")))
        elif change.mode not in _REGULAR:
            refused.append((change.path, _("is not a regular file (a submodule)")))
        elif not holds(change.path):
            refused.append((change.path, _("is not a file a workspace holds")))
    return refused


def refuse_arrivals(repo: Repo, here: str | None, fetched: str) -> list[Change]:
    """The changes the pull of `fetched` brings, when a workspace may take every one of
    them; else InvalidData naming each path and the commit that brought it, and nothing of
    the pull is applied."""
    base = None
    if here is not None:
        base = git(repo.workspace, "merge-base", here, fetched, check=False).stdout.strip()
    found, above = changes(repo, base or None, fetched)
    refused = refusals(found)
    refused += [(path, _("is a folder above the workspace")) for path in above]
    if not refused:
        return found
    problems = []
    for path, why in refused:
        full = path if path in above else repo.prefix + path
        since = f"{here}..{fetched}" if here else fetched
        commit = git(repo.workspace, "log", "-1", "--format=%H%x00%an <%ae>", "--full-history",
                     since, "--", f":(top,literal){full}").stdout.strip()
        sha, _nul, who = commit.partition("\0")
        problems.append(Problem(path, _("{why} (commit {commit} by {who}); refused").format(
            why=why, commit=short(sha or fetched), who=who or _("unknown"))))
    raise InvalidData(problems, _(
        "{shared} holds what a workspace does not: {paths}; nothing of that pull was "
        "applied and nothing was sent").format(shared=repo.shared,
                                               paths=", ".join(p for p, _w in refused)))


def refuse_here(repo: Repo) -> None:
    """Before sync touches anything: git must track neither `.ocop` (this computer's own)
    nor a link or a submodule in the workspace. (A `.ocop` that is a link the one door for
    writes refuses, when sync takes the workspace's lock.)"""
    listing = git(repo.workspace, "ls-files", "--stage", "-z", "--", ".").stdout
    tracked_state, links = [], []
    for item in listing.split("\0"):
        meta, _tab, path = item.partition("\t")
        if not path:
            continue
        if path == storage.STATE or path.startswith(storage.STATE + "/"):
            tracked_state.append(path)
        elif meta.split(" ")[0] not in _REGULAR:
            links.append(path)
    if tracked_state:
        error = InvalidData([Problem(tracked_state[0], _(
            "is tracked by git: .ocop is derived and local to each computer and never "
            "shared; nothing was done"))])
        error.hint = _('Take it out of git (your files stay): git rm -r --cached .ocop && '
                       'git commit -m "ocop: .ocop is local", then run ocop sync again.')
        raise error
    if links:
        raise InvalidData([Problem(path, _(
            "is a symbolic link or a submodule tracked by git; a workspace holds only regular "
            "files; nothing was done")) for path in links])


# --- the rules git needs: merge line by line, ignore .ocop -----------------------------------


def missing_rules(root: Path) -> dict[str, str]:
    """`.gitattributes` and `.gitignore` as they should read, for each that lacks a rule of
    `ocop init`'s (or is missing): a missing file as `ocop init` writes it, a missing rule
    added to the end, every other line left as it is."""
    wanted: dict[str, str] = {}
    attributes = root / ".gitattributes"
    rules = {f"{line.partition('/')[0]}/probe.yaml": line
             for line in storage.GITATTRIBUTES.splitlines()}
    said = git(root, "check-attr", "merge", "--", *rules).stdout.splitlines()
    missing = [rule for probe, rule in rules.items() if f"{probe}: merge: union" not in said]
    if missing:
        wanted[attributes.name] = _with_lines(attributes, missing)
    ignore = root / ".gitignore"
    if not ignore.exists():
        wanted[ignore.name] = storage.GITIGNORE
    elif not _ignores_state(ignore.read_text(encoding="utf-8", errors="replace")):
        wanted[ignore.name] = _with_lines(ignore, [IGNORE_RULE])
    return wanted


def _with_lines(path: Path, lines: list[str]) -> str:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    glue = "" if not old or old.endswith("\n") else "\n"
    return old + glue + "".join(f"{line}\n" for line in lines)


def _ignores_state(text: str) -> bool:
    return any(line.strip() in (IGNORE_RULE, storage.STATE) for line in text.splitlines())
