"""The lines kept across a pull: no history or product line this office had is ever lost.

History files and the product register are appended to, never rewritten. Before a pull,
sync refuses to send a shared line changed here (`refuse_rewritten_here`). After it, it
compares the office's own copy from before with what git made of it (`reconcile`): a line
that was there and is gone (a force push, an amended or reverted commit, a removed file) is
put back; a line that arrived and does not count (brought by a refused commit, or a shared
line rewritten: an entry id this file had, in other words) is left out. A line that is no
entry (half written, a conflict marker) may go: that mends a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ocop_cli.core.errors import InvalidData
from ocop_cli.core.i18n import _
from ocop_cli.sync.git import APPEND_ONLY, Repo, commit_of, git
from ocop_cli.sync.layout import appended

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # a line as git counts lines: up to a newline


def entry_id(line: str) -> str | None:
    """The id of the entry a line holds as ocop writes it (`- {"id": …}`), else None."""
    if not line.startswith("- {"):
        return None
    try:
        record = json.loads(line[2:])
    except (ValueError, RecursionError):
        return None
    found = record.get("id") if isinstance(record, dict) else None
    return str(found) if found is not None else None


def lines_of(text: str | None) -> list[str]:
    """The lines of `text` with their newlines, as git splits them (at "\\n" only)."""
    return _LINE.findall(text or "")


def _entries(text: str | None) -> list[str]:
    return [bare for line in lines_of(text) if entry_id(bare := line.rstrip("\n")) is not None]


def diff_lines(out: str) -> Iterator[tuple[str, str, str, int, str]]:
    """(commit, path, "+" or "-", line number in the old file, text) for each line a
    unified diff of git's (-U0) adds or removes; a commit starts at a line `\\x01<commit>`.
    Each hunk is read by the counts its header gives, so no line of a file can pass for a
    header. A path is "/dev/null" on the side a file is missing from."""
    rows = out.split("\n")
    at, commit, old, path = 0, "", "", ""
    while at < len(rows):
        row = rows[at]
        at += 1
        if row.startswith("\x01"):
            commit = row[1:]
        elif row.startswith("--- "):
            old = row[6:] if row.startswith("--- a/") else row[4:]
        elif row.startswith("+++ "):
            path = row[6:] if row.startswith("+++ b/") else old
        elif row.startswith("@@"):
            found = _HUNK.match(row)
            if found is None:
                continue
            number = int(found.group(1))
            removed = int(found.group(2) or "1") if found.group(2) != "0" else 0
            adding = int(found.group(3) or "1") if found.group(3) != "0" else 0
            while (removed or adding) and at < len(rows):
                body = rows[at]
                at += 1
                if body.startswith("-") and removed:
                    yield commit, path, "-", number, body[1:]
                    number, removed = number + 1, removed - 1
                elif body.startswith("+") and adding:
                    yield commit, path, "+", 0, body[1:]
                    adding -= 1
                elif not body.startswith("\\"):  # "\\ No newline at end of file"
                    break


# --- before sending: nothing shared changed here ---------------------------------------------


def refuse_rewritten_here(repo: Repo) -> None:
    """InvalidData, before anything is committed or sent, when a history file lost or
    changed a line it had in the last version shared."""
    here = commit_of(repo, "HEAD")
    if here is None:
        return
    remote = commit_of(repo, repo.remote_ref)
    base = here if remote is None else \
        git(repo.workspace, "merge-base", "HEAD", remote, check=False).stdout.strip()
    if not base:
        return
    # Changed or removed files only: a link or a folder at a file's place is storage's to name.
    diff = git(repo.workspace, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
               "--relative", "--diff-filter=MD", base, "--", *APPEND_ONLY).stdout
    path, line = _first_removed(diff)
    if path is None:
        return
    error = InvalidData([], _("{path}:{line}: a line already shared was changed or "
                              "removed here; nothing was sent").format(path=path, line=line))
    error.hint = _(
        "Lines shared with the others are never changed. Put the line back (git diff "
        "{base} -- {path} shows the change; git checkout {base} -- {path} restores the "
        "file as shared, without the lines added here since), then correct a wrong entry "
        "with a new one: ocop undo, or a new ocop progress or ocop note.").format(
        base=base[:10], path=path)
    raise error


def _first_removed(diff: str) -> tuple[str | None, int]:
    """The first entry line a unified diff (-U0) removes: its file and line number there
    (1 for a file removed whole)."""
    gone = set(re.findall(r"^--- a/(.*)\n\+\+\+ /dev/null$", diff, re.MULTILINE))
    for _commit, path, sign, number, text in diff_lines(diff):
        if sign == "-" and entry_id(text) is not None:
            return path, 1 if path in gone else max(number, 1)
    return None, 0


# --- after a pull: put back what was lost, leave out what does not count ---------------------


class Added(NamedTuple):
    """The lines a range of commits adds to each file: those that count, those refused."""

    counted: dict[str, dict[str, str]]  # path -> line -> the commit that added it
    refused: dict[str, dict[str, str]]


def added(repo: Repo, counted: Iterable[str], refused: Iterable[str]) -> Added:
    """The lines each of the commits adds to history and product files (merges add none
    of their own: their lines come from the commits they join)."""
    result = Added({}, {})
    for commits, into in ((list(counted), result.counted), (list(refused), result.refused)):
        if not commits:
            continue
        out = git(repo.workspace, "log", "--no-walk=unsorted", "--stdin", "--no-merges", "-p",
                  "-U0", "--no-renames", "--no-ext-diff", "--relative", "--format=%x01%H",
                  "--", *APPEND_ONLY, input="\n".join(commits) + "\n").stdout
        for commit, path, sign, _number, text in diff_lines(out):
            if sign == "+" and appended(path):
                into.setdefault(path, {}).setdefault(text, commit)
    return result


class Kept(NamedTuple):
    """What one file should hold after a pull, when git's version will not do."""

    path: str
    lost: tuple[str, ...]  # lines this office had that git's version no longer has
    left_out: tuple[str, ...]  # lines of git's version that do not count
    send: str | None  # git's version with the lost lines this office may send put back
    use: str  # what this office uses: git's, less what does not count, plus what was lost


def reconcile(path: str, before: str | None, result: str | None, counted: dict[str, str],
              refused: dict[str, str], may_send: bool) -> Kept | None:
    """The file `path` as it must be after a pull, or None when git's version `result` keeps
    every entry line of the office's own copy `before` and brings only lines that count.
    `counted` and `refused`: the lines the commits received add to it, by their verdict."""
    had = _entries(before)
    had_set, had_ids = set(had), {entry_id(line) for line in had}
    now = lines_of(result)
    now_set = {line.rstrip("\n") for line in now}
    lost = tuple(line for line in had if line not in now_set and line not in refused)
    left_out = tuple(
        line for line in _entries(result)
        if (line in refused and line not in counted)
        or (line not in had_set and (line not in counted or entry_id(line) in had_ids)))
    if not lost and not left_out:
        return None
    drop = set(left_out)
    if result is None:  # the file went: it comes back with its head as it was
        now = [line for line in lines_of(before) if entry_id(line.rstrip("\n")) is None]
    use = _joined([line for line in now if line.rstrip("\n") not in drop], lost)
    send = _joined(now, lost) if may_send and lost else None
    return Kept(path, lost, left_out, send, use)


def _joined(lines: list[str], more: tuple[str, ...]) -> str:
    text = "".join(lines)
    if text and not text.endswith("\n") and more:
        text += "\n"
    return text + "".join(f"{line}\n" for line in more)
