"""Working as a team through git: commit what was recorded here, pull the others' work with a
rebase, check what arrived, push. Git itself is run as a program; nothing is ever forced.

History files merge without conflicts because each recorder appends to a file of their own
and `.gitattributes` marks history files `merge=union` (two offices appending to the same
file keep both sets of lines). What can still go wrong (git missing, no remote, a refused
push, a rebase that stops on a plan edited twice) becomes one clear `OcopError`.

Which files an office may change, checked on both sides of every sync:

- `history/*.yaml` and the product register `products/*.yaml`: appended to, never
  rewritten. A line already shared is never changed or removed, neither here (nothing is
  sent) nor in what a pull brings (the pull is undone). A line that is no entry (half
  written, a conflict marker) may be removed: that mends a file.
  A wrong entry is corrected by a new one (`ocop undo`, a new `ocop progress`).
- `plan_*.yaml`, `agencies.yaml`: changed only by a commit someone makes on purpose; `ocop
  sync` commits history files only, and refuses while other files have changes.

A pull that brings a history file that does not validate is kept for every other file: that
file's lines from before the pull stay in use (the rest are held back, `git update-index
--skip-worktree`, noted in `.ocop/held.json`) until a mended version arrives; `ocop check`
names it and its sender. A broken plan or agencies file undoes the pull.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocop_cli.core.errors import InvalidData, NotFound, Problem, Refused
from ocop_cli.core.i18n import _
from ocop_cli.store import storage, write

# An entry line in a unified diff: ocop writes one `- {...}` line per entry; an entry written
# by hand in block style also starts with `- `.
_ADDED_ENTRY = re.compile(r"^\+- ", re.MULTILINE)


class GitMissing(NotFound):
    """git is not installed, or not on PATH."""


class NotARepository(NotFound):
    """The workspace is not inside a git working copy."""


class NoRemote(NotFound):
    """The repository has no shared copy to pull from and push to."""


class GitFailed(Refused):
    """git refused or failed; the message carries what git said."""


class PushRejected(GitFailed):
    """Someone pushed first: pull again, then push (never force)."""


class RebaseStopped(GitFailed):
    """Pulling stopped on a file changed here and there; the rebase was undone."""


def git(cwd: Path, *args: str, check: bool = True,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `git ARGS` in `cwd` and capture what it says; GitFailed when it fails and `check`."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", input=input, check=False)
    except FileNotFoundError:
        if not cwd.is_dir():
            raise NotFound(_("{folder}: no such folder").format(folder=cwd)) from None
        raise GitMissing(_("git is not installed (or not on PATH)"),
                         hint=_("Install Git from https://git-scm.com and try again.")) from None
    if check and done.returncode != 0:
        command = next(a for a in args if not a.startswith("-"))
        raise GitFailed(_("git {command} failed: {said}").format(command=command,
                                                                 said=said(done)))
    return done


def said(done: subprocess.CompletedProcess[str]) -> str:
    """What git said about a failure, its hints left out, in a few lines."""
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    return "\n".join(lines[-6:]) or _("exit status {code}").format(code=done.returncode)


@dataclass(frozen=True)
class Repo:
    """Where the workspace sits in git: its branch and the shared copy it follows."""

    workspace: Path  # git runs here, so paths like `history` are the workspace's own
    branch: str
    remote: str
    remote_branch: str
    tracked: bool  # the branch already follows remote/remote_branch

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/{self.remote}/{self.remote_branch}"

    @property
    def shared(self) -> str:
        return f"{self.remote}/{self.remote_branch}"


def repository(root: Path) -> Repo:
    """The repository holding the workspace `root`, its current branch and its remote."""
    inside = git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise NotARepository(
            _("{root} is not in a git repository").format(root=root),
            hint=_("Get the shared copy with: git clone ADDRESS, then work in that folder."))
    refuse_unfinished(root)  # before the branch: during a rebase git is on none
    head = git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if head.returncode != 0:
        raise GitFailed(_("git is not on a branch here (detached HEAD)"),
                        hint=_("Go back to the shared branch, e.g.: git switch main"))
    branch = head.stdout.strip()
    remote = _config(root, f"branch.{branch}.remote")
    merge = _config(root, f"branch.{branch}.merge")
    if remote and remote != "." and merge and merge.startswith("refs/heads/"):
        return Repo(root, branch, remote, merge.removeprefix("refs/heads/"), tracked=True)
    remotes = git(root, "remote").stdout.split()
    if not remotes:
        raise NoRemote(
            _("this repository has no remote (no shared copy to send to)"),
            hint=_("Add the shared one with: git remote add origin ADDRESS"))
    if "origin" in remotes:
        remote = "origin"
    elif len(remotes) == 1:
        remote = remotes[0]
    else:
        raise NoRemote(
            _("branch {branch} follows no remote, and there are several: {remotes}").format(
                branch=branch, remotes=", ".join(remotes)),
            hint=_("Choose one with: git branch --set-upstream-to REMOTE/{branch}").format(
                branch=branch))
    return Repo(root, branch, remote, branch, tracked=False)


def _config(root: Path, name: str) -> str | None:
    value = git(root, "config", "--get", name, check=False).stdout.strip()
    return value or None


def _exists(repo: Repo, ref: str) -> bool:
    return git(repo.workspace, "rev-parse", "--verify", "--quiet", ref, check=False
               ).returncode == 0


def refuse_unfinished(root: Path) -> None:
    """A merge or rebase left half done must be finished by a person before ocop touches git."""
    for marker in ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD"):
        path = git(root, "rev-parse", "--git-path", marker).stdout.strip()
        if (root / path).exists():
            raise GitFailed(
                _("git is in the middle of a merge or rebase here; nothing was done"),
                hint=_("Finish it (git status says how), or cancel it with: git rebase --abort "
                       "(or git merge --abort)"))
    if git(root, "ls-files", "--unmerged").stdout.strip():
        raise GitFailed(_("some files still have unresolved git conflicts; nothing was done"),
                        hint=_("See them with: git status"))


def ensure_attributes(root: Path) -> list[str]:
    """`.gitattributes` and `.gitignore` as `ocop init` writes them, added when missing (a
    workspace made before they existed); a `merge=union` rule that `.gitattributes` lacks
    (the product register's, in a workspace made before it) added to its end. Returns the
    names of the files written."""
    written = []
    attributes = root / ".gitattributes"
    rules = {f"{line.partition('/')[0]}/probe.yaml": line
             for line in storage.GITATTRIBUTES.splitlines()}
    said = git(root, "check-attr", "merge", "--", *rules).stdout.splitlines()
    missing = [rule for probe, rule in rules.items() if f"{probe}: merge: union" not in said]
    if missing:  # its other lines, and the rules already there, are left as they are
        old = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
        glue = "" if not old or old.endswith("\n") else "\n"
        text = old + glue + "".join(f"{rule}\n" for rule in missing)
        write.replace(attributes, text.encode("utf-8"), inside=root, force=True)
        written.append(attributes.name)
    ignore = root / ".gitignore"
    if not ignore.exists():
        write.replace(ignore, storage.GITIGNORE.encode("utf-8"), inside=root)
        written.append(ignore.name)
    return written


def commit_history(repo: Repo, extra: Sequence[str] = ()) -> int:
    """Commit the history files (and `extra` workspace files), only them, whatever else is
    staged. Returns how many entries the commit adds (0: nothing to commit)."""
    paths = [storage.HISTORY, storage.PRODUCTS, *extra]
    present = [p for p in paths if (repo.workspace / p).exists()]
    if not present:
        return 0
    # Additions and changes only: ocop never deletes history, so a missing file is not news.
    git(repo.workspace, "add", "--ignore-removal", "--", *present)
    staged = git(repo.workspace, "diff", "--cached", "--name-only", "--relative", "-z", "--",
                 *present).stdout.split("\0")
    staged = [name for name in staged if name]
    if not staged:
        return 0
    ident = git(repo.workspace, "var", "GIT_COMMITTER_IDENT", check=False)
    if ident.returncode != 0:
        raise GitFailed(
            _("git does not know who you are, so it cannot record your commit"),
            hint=_('Tell it once: git config --global user.name "Phòng NN huyện Gia Lộc" and '
                   'git config --global user.email "you@example.vn"'))
    diff = git(repo.workspace, "diff", "--cached", "-U0", "--", *present).stdout
    count = len(_ADDED_ENTRY.findall(diff))
    message = f"ocop: {count} new entries ({', '.join(sorted(staged))})"
    # Only these files go in, whatever else the person has staged.
    git(repo.workspace, "--literal-pathspecs", "commit", "--quiet", "--only", "-m", message,
        "--", *staged)
    return count


def refuse_dirty(repo: Repo) -> None:
    """git will not rebase over uncommitted changes; say which files and what to do."""
    status = git(repo.workspace, "status", "--porcelain", "--untracked-files=no").stdout
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if changed:
        raise GitFailed(
            _("these files have changes that are not committed: {files}; ocop sync only "
              "commits recorded progress (history/)").format(files=", ".join(changed)),
            hint=_("Commit them yourself (git commit -am \"...\") or undo them "
                   "(git restore FILE), then run ocop sync again."))


def remote_has_branch(repo: Repo) -> bool:
    if repo.tracked:
        return True
    found = git(repo.workspace, "ls-remote", "--heads", repo.remote,
                f"refs/heads/{repo.remote_branch}", check=False)
    if found.returncode != 0:
        raise GitFailed(_("cannot reach the shared copy {remote}: {said}").format(
            remote=repo.remote, said=said(found)))
    return bool(found.stdout.strip())


def pull(repo: Repo) -> int:
    """`git pull --rebase` from the shared copy; returns how many entries arrived.

    When the rebase stops (a file changed both here and there that git cannot combine), it is
    undone, so the working copy is as before, and RebaseStopped names the files."""
    before = _head(repo)
    done = git(repo.workspace, "pull", "--rebase", "--quiet", repo.remote, repo.remote_branch,
               check=False)
    if done.returncode != 0:
        stopped = any((repo.workspace / git(repo.workspace, "rev-parse", "--git-path", marker)
                       .stdout.strip()).exists() for marker in ("rebase-merge", "rebase-apply"))
        if not stopped:
            raise GitFailed(_("could not pull from {shared}: {said}").format(
                shared=repo.shared, said=said(done)))
        files = git(repo.workspace, "diff", "--name-only", "--diff-filter=U").stdout.split()
        git(repo.workspace, "rebase", "--abort", check=False)
        raise RebaseStopped(
            _("{files} changed both here and in the shared copy, and git cannot combine them; "
              "the pull was undone and nothing was sent. Your own work is kept in your "
              "commits.").format(files=", ".join(files) or _("some files")),
            hint=_("Ask whoever looks after the repository to combine them (git pull --rebase, "
                   "edit the files, git add, git rebase --continue), then run ocop sync "
                   "again."))
    return _entries_between(repo, before, _head(repo))


def push(repo: Repo) -> None:
    """`git push` to the shared copy, never forced: PushRejected when someone pushed first."""
    args = ["push", "--porcelain"]
    if not repo.tracked:
        args.append("--set-upstream")
    done = git(repo.workspace, *args, repo.remote,
               f"refs/heads/{repo.branch}:refs/heads/{repo.remote_branch}", check=False)
    if done.returncode == 0:
        return
    for line in done.stdout.splitlines():
        flag, _tab, rest = line.partition("\t")
        if flag != "!":
            continue
        summary = rest.partition("\t")[2]
        if summary.startswith("[rejected]") and ("fetch first" in summary
                                                 or "non-fast-forward" in summary):
            raise PushRejected(_("someone sent changes to {shared} first").format(
                shared=repo.shared))
        if summary.startswith("[remote rejected]") and "failed to update ref" in summary:
            # Another office's push landed while ours was on its way.
            raise PushRejected(_("{shared} changed while your changes were being sent: {why}")
                               .format(shared=repo.shared, why=_remote_reason(summary, done)))
        raise GitFailed(_("the shared copy {shared} refused your changes: {why}").format(
            shared=repo.shared, why=_remote_reason(summary, done)),
            hint=_("Nothing was sent; your work is kept here. Ask whoever looks after the "
                   "repository."))
    raise GitFailed(_("could not push to {shared}: {said}").format(
        shared=repo.shared, said=said(done)))


def _remote_reason(summary: str, done: subprocess.CompletedProcess[str]) -> str:
    remote = [line.removeprefix("remote:").strip() for line in done.stderr.splitlines()
              if line.startswith("remote:") and line.removeprefix("remote:").strip()]
    return "; ".join([summary, *remote[-4:]])


def ahead(repo: Repo) -> int:
    """How many commits here the shared copy does not have (as last fetched)."""
    if _head(repo) is None:
        return 0
    if not _exists(repo, repo.remote_ref):
        return int(git(repo.workspace, "rev-list", "--count", "HEAD").stdout.strip())
    return int(git(repo.workspace, "rev-list", "--count", f"{repo.remote_ref}..HEAD")
               .stdout.strip())


def outgoing_entries(repo: Repo) -> int:
    base = repo.remote_ref if _exists(repo, repo.remote_ref) else None
    return _entries_between(repo, base, _head(repo))


def _head(repo: Repo) -> str | None:
    done = git(repo.workspace, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _entries_between(repo: Repo, old: str | None, new: str | None) -> int:
    if new is None or old == new:
        return 0
    if old is None:
        old = git(repo.workspace, "hash-object", "-t", "tree", "--stdin", input="").stdout.strip()
    diff = git(repo.workspace, "diff", "-U0", "--no-color", "--no-ext-diff", old, new, "--",
               storage.HISTORY).stdout
    return len(_ADDED_ENTRY.findall(diff))


@dataclass
class Synced:
    shared: str
    sent: int = 0  # entries
    received: int = 0  # entries
    pushed: bool = False
    written: list[str] = field(default_factory=list)  # git files ocop added to the workspace
    warnings: list[Problem] = field(default_factory=list)
    retries: int = 0


def sync(ws: storage.Workspace, check: Callable[[storage.Workspace], list[Problem]],
         attempts: int = 5) -> Synced:
    """Commit the history recorded here, pull the others' with a rebase, check every file
    (`check` gives every problem of a workspace), push. Retries when someone pushed in
    between; never forces.

    InvalidData (nothing sent) when a history line shared before was rewritten here or in
    what arrived, or when the plan or agencies do not validate after the pull (undone then);
    a history file that arrives broken is held back at its last good lines."""
    repo = repository(ws.root)
    result = Synced(repo.shared)
    with write.locked(ws):
        held = release_held(repo)
        try:
            result.written = ensure_attributes(ws.root)
            refuse_rewritten_here(repo)
            commit_history(repo, result.written)
            refuse_dirty(repo)
            for attempt in range(attempts):
                before = _head(repo)
                if remote_has_branch(repo):
                    result.received += pull(repo)
                held, result.warnings = _checked_pull(repo, before, held, check)
                if not ahead(repo):
                    return result
                sent = outgoing_entries(repo)
                try:
                    push(repo)
                except PushRejected as exc:
                    if attempt == attempts - 1:
                        exc.hint = _("Nothing was sent; your work is kept here. Run ocop sync "
                                     "again in a moment.")
                        raise
                    result.retries += 1
                    continue
                result.sent, result.pushed = sent, True
                repo = repository(ws.root)  # the branch follows the remote now
                return result
        finally:
            hold(repo, held)
    return result  # pragma: no cover - the loop always returns or raises


# --- append only, on both sides ------------------------------------------------------------

APPEND_ONLY = (storage.HISTORY, storage.PRODUCTS)  # folders whose files ocop only appends to


def first_rewritten(old: str, new: str) -> int | None:
    """The number of the first line of `old` that `new` changes or removes, or None when
    `new` keeps every entry line of `old` in order and only adds after them. A line that is
    no entry (half written, a conflict marker, a comment) may go: that mends a file."""
    kept = new.splitlines()
    at = 0
    for number, line in enumerate(old.splitlines(), 1):
        if at < len(kept) and kept[at] == line:
            at += 1
        elif _is_entry(line):
            return number
    return None


def _is_entry(line: str) -> bool:
    if not line.startswith("- {"):
        return False
    try:
        record = json.loads(line[2:])
    except ValueError:
        return False
    return isinstance(record, dict) and "id" in record


def _history_tree(repo: Repo, rev: str) -> dict[str, str]:
    """path -> git mode of each append-only file (history/, products/) at `rev`, paths as
    from the workspace."""
    listing = git(repo.workspace, "ls-tree", "-r", "-z", rev, "--", *APPEND_ONLY).stdout
    found = {}
    for item in listing.split("\0"):
        meta, _tab, path = item.partition("\t")
        if path:
            found[path] = meta.split(" ")[0]
    return found


def _show(repo: Repo, rev: str, path: str) -> str:
    return git(repo.workspace, "show", f"{rev}:./{path}").stdout


def _shared_base(repo: Repo) -> str | None:
    """The last version this copy shares with the others: where it and the remote part."""
    head = _head(repo)
    if head is None or not _exists(repo, repo.remote_ref):
        return head
    base = git(repo.workspace, "merge-base", "HEAD", repo.remote_ref, check=False)
    return base.stdout.strip() or None


def refuse_rewritten_here(repo: Repo) -> None:
    """InvalidData, before anything is committed or sent, when a history file lost or
    changed a line it had in the last version shared."""
    base = _shared_base(repo)
    if base is None:
        return
    for path, mode in sorted(_history_tree(repo, base).items()):
        here = repo.workspace / path
        if mode == "120000" or (os.path.lexists(here) and not here.is_file()) \
                or here.is_symlink():
            continue  # storage names what is wrong with it
        line = 1 if not here.exists() else first_rewritten(
            _show(repo, base, path), here.read_text(encoding="utf-8", errors="replace"))
        if line is None:
            continue
        error = InvalidData([], _("{path}:{line}: a line already shared was changed or "
                                  "removed here; nothing was sent").format(path=path, line=line))
        error.hint = _(
            "Lines shared with the others are never changed. Put the line back (git diff "
            "{base} -- {path} shows the change; git checkout {base} -- {path} restores the "
            "file as shared, without the lines added here since), then correct a wrong entry "
            "with a new one: ocop undo, or a new ocop progress or ocop note.").format(
            base=base[:10], path=path)
        raise error


def _checked_pull(repo: Repo, before: str | None, held: dict[str, Any],
                  check: Callable[[storage.Workspace], list[Problem]]
                  ) -> tuple[dict[str, Any], list[Problem]]:
    """After a pull: undo it when it rewrote a history line already received here, or when
    a file other than a history file does not validate; hold back a history file that arrived
    broken. Returns the files held back and the warnings."""
    pulled = before is not None and before != _head(repo)
    keep: dict[str, Any] = {}
    try:
        if before is not None:
            arrived = git(repo.workspace, "rev-parse", "FETCH_HEAD").stdout.strip() \
                if pulled else before
            base = git(repo.workspace, "merge-base", before, arrived, check=False).stdout.strip()
            if pulled and base:
                _refuse_rewritten_in(repo, base, arrived, held)
            keep = _hold_broken(repo, before, arrived, held, check)
        problems = check(storage.Workspace(repo.workspace))
        errors = [p for p in problems if not p.warning]
        if errors:
            undone = _("the pull was undone and nothing was sent") if pulled else \
                _("nothing was sent")
            raise InvalidData(problems, _("{n} problems after pulling from {shared}; {undone}"
                                          ).format(n=len(errors), shared=repo.shared,
                                                   undone=undone))
    except InvalidData:
        if pulled:
            for path in set(keep) - set(held):  # back as git has it, so that git can reset
                git(repo.workspace, "update-index", "--no-skip-worktree", "--", path,
                    check=False)
                git(repo.workspace, "checkout", "--", path, check=False)
            git(repo.workspace, "reset", "--quiet", "--keep", str(before))
        raise
    return (keep if before is not None else held), problems


def _sender(repo: Repo, base: str, arrived: str, path: str) -> tuple[str, str]:
    """Who sent the last change to `path` between `base` and `arrived`, and its commit."""
    done = git(repo.workspace, "log", "-1", "--format=%h%x00%an <%ae>", f"{base}..{arrived}",
               "--", path, check=False).stdout.strip()
    commit, _nul, who = done.partition("\0")
    return (who or _("unknown"), commit or arrived[:10])


def _refuse_rewritten_in(repo: Repo, base: str, arrived: str, held: dict[str, Any]) -> None:
    old_tree, new_tree = _history_tree(repo, base), _history_tree(repo, arrived)
    for path in sorted(set(old_tree) | set(new_tree)):
        line: int | None = None
        if new_tree.get(path) == "120000":
            line, what = 1, _("turns it into a symbolic link")
        elif path in old_tree and path not in new_tree:
            line, what = 1, _("removes it")
        elif path in old_tree and old_tree[path] != "120000":
            old = held[path]["good"] if path in held else _show(repo, base, path)
            line = first_rewritten(old, _show(repo, arrived, path))
            what = _("changes or removes a line already received here")
        if line is None:
            continue
        who, commit = _sender(repo, base, arrived, path)
        error = InvalidData([], _(
            "{path}:{line}: the shared copy {what} (commit {commit} by {who}); the pull was "
            "undone and nothing was sent").format(path=path, line=line, what=what,
                                                  commit=commit, who=who))
        error.hint = _("History lines are never changed once shared. Ask {who} to put the file "
                       "back (git revert {commit}) and to correct a wrong entry with a new one "
                       "(ocop undo, ocop progress). Your work is kept here.").format(
            who=who, commit=commit)
        raise error


def _hold_broken(repo: Repo, before: str, arrived: str, held: dict[str, Any],
                 check: Callable[[storage.Workspace], list[Problem]]) -> dict[str, Any]:
    """Hold back each history file the pull changed that now fails to validate: its lines
    from before the pull stay in use. A broken plan or agencies file is left to the caller."""
    changed = set(git(repo.workspace, "diff", "--name-only", "--relative", "-z", before,
                      "HEAD", "--", *APPEND_ONLY).stdout.split("\0")) - {""}
    broken = {_relative(repo, p.file) for p in check(storage.Workspace(repo.workspace))
              if not p.warning}
    keep = {path: info for path, info in held.items() if path in broken}
    before_tree = _history_tree(repo, before)
    for path in sorted((broken & changed) - set(keep)):
        here = repo.workspace / path
        if here.is_symlink() or not here.is_file():
            continue  # no lines to keep: the check names it
        good = _show(repo, before, path) if path in before_tree else ""
        who, commit = _sender(repo, before, arrived, path)
        keep[path] = {"good": good, "lines": len(good.splitlines()), "sender": who,
                      "commit": commit}
    hold(repo, keep)
    return keep


def _relative(repo: Repo, file: str) -> str:
    try:
        return Path(file).relative_to(repo.workspace).as_posix()
    except ValueError:
        return file


def read_held(root: Path) -> dict[str, Any]:
    """The history files held back at their last good lines, as `.ocop/held.json` says."""
    try:
        found = json.loads((root / storage.STATE / storage.HELD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def release_held(repo: Repo) -> dict[str, Any]:
    """Put each held-back file back as git has it, so that git can pull; lines recorded here
    while it was held back are kept after it. Returns what was held."""
    held = read_held(repo.workspace)
    places = _places(repo, held)
    for path, info in held.items():
        here = places[path]
        try:
            now = "" if here.is_symlink() else here.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            now = ""
        git(repo.workspace, "update-index", "--no-skip-worktree", "--", path, check=False)
        git(repo.workspace, "checkout", "--", path, check=False)
        good = str(info.get("good", ""))
        added = now[len(good):] if now.startswith(good) else ""
        if added:  # recorded here while held back: kept, and in use while it stays held
            write.append(here, added, inside=repo.workspace, header="")
            info["good"] = good + added
            info["lines"] = len(info["good"].splitlines())
    return held


def hold(repo: Repo, held: dict[str, Any]) -> None:
    """Keep each file of `held` at its good lines in the working copy, out of git's sight,
    and note them in `.ocop/held.json`; the note goes when nothing is held."""
    places = _places(repo, held)
    for path, info in held.items():
        here = places[path]
        if here.read_text(encoding="utf-8", errors="replace") != info["good"]:
            write.replace(here, info["good"].encode("utf-8"), inside=repo.workspace,
                          force=True)
        git(repo.workspace, "update-index", "--skip-worktree", "--", path, check=False)
    note = write.state_folder(storage.Workspace(repo.workspace)) / storage.HELD
    if held:
        write.replace(note, json.dumps(held, ensure_ascii=False).encode("utf-8"),
                      inside=repo.workspace, force=True)
    else:
        note.unlink(missing_ok=True)


def _places(repo: Repo, held: dict[str, Any]) -> dict[str, Path]:
    """Each held-back file's place in the workspace; `.ocop/held.json` naming one outside
    it, or through a symbolic link, is refused before anything is touched."""
    return {path: write.checked(repo.workspace / path, repo.workspace) for path in held}


def attribute_problems(root: Path) -> list[Problem]:
    """A warning for each `merge=union` rule of `ocop init` that the workspace's
    `.gitattributes` lacks: without it, two offices appending to one file conflict in a git
    merge. Read from the file, without git; a workspace without the file is not in git."""
    from ocop_cli.store.yamlio import decode, read_bytes

    path = root / ".gitattributes"
    if not path.exists():
        return []
    try:
        have = {" ".join(line.split()) for line in decode(path, read_bytes(path)).splitlines()}
    except InvalidData as exc:
        return exc.problems or [Problem(str(path), str(exc))]
    return [Problem(str(path), _("no rule {rule!r}: two offices' lines in the same file would "
                                 "conflict in a git merge; `ocop sync` adds it").format(
        rule=rule), warning=True)
        for rule in storage.GITATTRIBUTES.splitlines() if rule not in have]
