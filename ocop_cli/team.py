"""Working as a team through git: commit what was recorded here, pull the others' work with a
rebase, check what arrived, push. Git itself is run as a program; nothing is ever forced.

History files merge without conflicts because each recorder appends to a file of their own
and `.gitattributes` marks history files `merge=union` (two offices appending to the same
file keep both sets of lines). What can still go wrong (git missing, no remote, a refused
push, a rebase that stops on a plan edited twice) becomes one clear `OcopError`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ocop_cli import storage
from ocop_cli.errors import InvalidData, NotFound, Problem, Refused
from ocop_cli.i18n import _

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
    workspace made before they existed). Returns the names of the files written."""
    written = []
    attributes = root / ".gitattributes"
    probe = f"{storage.HISTORY}/probe.yaml"
    if "merge: union" not in git(root, "check-attr", "merge", "--", probe).stdout:
        old = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
        glue = "" if not old or old.endswith("\n") else "\n"
        attributes.write_text(old + glue + storage.GITATTRIBUTES, encoding="utf-8")
        written.append(attributes.name)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text(storage.GITIGNORE, encoding="utf-8")
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


def sync(ws: storage.Workspace, attempts: int = 5,
         check: Callable[[storage.Workspace], list[Problem]] = storage.validate) -> Synced:
    """Commit the history recorded here, pull the others' with a rebase, check every file,
    push. Retries when someone pushed in between; never forces.

    InvalidData (nothing sent) when the files do not validate after the pull."""
    repo = repository(ws.root)
    result = Synced(repo.shared)
    with storage.locked(ws):
        result.written = ensure_attributes(ws.root)
        commit_history(repo, result.written)
        refuse_dirty(repo)
        for attempt in range(attempts):
            if remote_has_branch(repo):
                result.received += pull(repo)
            problems = check(ws)
            errors = [p for p in problems if not p.warning]
            if errors:
                raise InvalidData(problems, _("{n} problems after pulling from {shared}; "
                                              "nothing was sent").format(n=len(errors),
                                                                         shared=repo.shared))
            result.warnings = problems
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
    return result  # pragma: no cover - the loop always returns or raises
