"""Running git for `ocop sync`: the repository a workspace sits in, its branch and the shared
copy it follows, and each operation sync uses (commit, fetch, rebase, push), every failure
turned into one clear `OcopError`. Git is run as a program; nothing is ever forced.

What may arrive, and what is kept when it arrives, is decided elsewhere: `layout` (which
paths), `signers` (who sent them), `lines` (no line lost).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ocop_cli.core.errors import NotFound, Refused
from ocop_cli.core.i18n import _
from ocop_cli.store import storage

# An entry line in a unified diff: ocop writes one `- {...}` line per entry; an entry written
# by hand in block style also starts with `- `.
ADDED_ENTRY = re.compile(r"^\+- ", re.MULTILINE)
APPEND_ONLY = (storage.HISTORY, storage.PRODUCTS)  # folders whose files ocop only appends to
# What git itself would otherwise add to the output sync reads: a signature check per commit
# of `git log`, colours, an external diff program.
_QUIET = ("-c", "log.showSignature=false", "-c", "color.ui=false", "-c", "core.quotePath=false")


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
        done = subprocess.run(["git", *_QUIET, *args], cwd=cwd, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", input=input, check=False)
    except FileNotFoundError:
        if not cwd.is_dir():
            raise NotFound(_("{folder}: no such folder").format(folder=cwd)) from None
        raise GitMissing(_("git is not installed (or not on PATH)"),
                         hint=_("Install Git from https://git-scm.com and try again.")) from None
    if check and done.returncode != 0:
        command = next(a for a in args if not a.startswith("-") and "=" not in a)
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
    prefix: str = ""  # the workspace's folder in the repository, "" or ending with "/"

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/{self.remote}/{self.remote_branch}"

    @property
    def shared(self) -> str:
        return f"{self.remote}/{self.remote_branch}"


def repository(root: Path) -> Repo:
    """The repository holding the workspace `root`, its current branch and its remote."""
    inside = git(root, "rev-parse", "--is-inside-work-tree", "--show-prefix", check=False)
    answer = inside.stdout.splitlines()
    if inside.returncode != 0 or not answer or answer[0].strip() != "true":
        raise NotARepository(
            _("{root} is not in a git repository").format(root=root),
            hint=_("Get the shared copy with: git clone ADDRESS, then work in that folder."))
    prefix = answer[1] if len(answer) > 1 else ""
    refuse_unfinished(root)  # before the branch: during a rebase git is on none
    head = git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if head.returncode != 0:
        raise GitFailed(_("git is not on a branch here (detached HEAD)"),
                        hint=_("Go back to the shared branch, e.g.: git switch main"))
    branch = head.stdout.strip()
    remote = config(root, f"branch.{branch}.remote")
    merge = config(root, f"branch.{branch}.merge")
    if remote and remote != "." and merge and merge.startswith("refs/heads/"):
        return Repo(root, branch, remote, merge.removeprefix("refs/heads/"), True, prefix)
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
    return Repo(root, branch, remote, branch, False, prefix)


def config(root: Path, name: str) -> str | None:
    """The value git's configuration gives `name` here, or None."""
    value = git(root, "config", "--get", name, check=False).stdout.strip()
    return value or None


def commit_of(repo: Repo, ref: str) -> str | None:
    """The commit `ref` names, or None when there is none."""
    done = git(repo.workspace, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
               check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def head(repo: Repo) -> str | None:
    return commit_of(repo, "HEAD")


def short(commit: str) -> str:
    return commit[:10]


def refuse_unfinished(root: Path) -> None:
    """A merge or rebase left half done must be finished by a person before ocop touches git."""
    markers = ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD")
    paths = git(root, "rev-parse", *(a for m in markers for a in ("--git-path", m))).stdout
    if any((root / path).exists() for path in paths.splitlines()):
        raise GitFailed(
            _("git is in the middle of a merge or rebase here; nothing was done"),
            hint=_("Finish it (git status says how), or cancel it with: git rebase --abort "
                   "(or git merge --abort)"))
    if git(root, "ls-files", "--unmerged").stdout.strip():
        raise GitFailed(_("some files still have unresolved git conflicts; nothing was done"),
                        hint=_("See them with: git status"))


def refuse_anonymous(repo: Repo) -> None:
    """git cannot commit (or rebase) without knowing who commits."""
    if git(repo.workspace, "var", "GIT_COMMITTER_IDENT", check=False).returncode != 0:
        raise GitFailed(
            _("git does not know who you are, so it cannot record your commit"),
            hint=_('Tell it once: git config --global user.name "Phòng NN huyện Gia Lộc" and '
                   'git config --global user.email "you@example.vn"'))


def commit_files(repo: Repo, paths: Sequence[str], message: str | None = None) -> int:
    """Commit `paths` (workspace paths), only them, whatever else is staged; their removal
    is never committed. Returns how many entries the commit adds (0: nothing to commit)."""
    present = [p for p in paths if (repo.workspace / p).exists()]
    if not present:
        return 0
    git(repo.workspace, "--literal-pathspecs", "add", "--ignore-removal", "--", *present)
    staged = git(repo.workspace, "--literal-pathspecs", "diff", "--cached", "--name-only",
                 "--relative", "-z", "--", *present).stdout.split("\0")
    staged = [name for name in staged if name]
    if not staged:
        return 0
    refuse_anonymous(repo)
    diff = git(repo.workspace, "--literal-pathspecs", "diff", "--cached", "-U0", "--",
               *staged).stdout
    count = len(ADDED_ENTRY.findall(diff))
    message = message or f"ocop: {count} new entries ({', '.join(sorted(staged))})"
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


def fetch(repo: Repo) -> str:
    """Fetch the shared branch into its remote-tracking ref; returns its commit. Nothing in
    the working copy changes: what arrived is checked before `rebase` applies it."""
    done = git(repo.workspace, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules",
               repo.remote, f"+refs/heads/{repo.remote_branch}:{repo.remote_ref}", check=False)
    fetched = commit_of(repo, repo.remote_ref) if done.returncode == 0 else None
    if fetched is None:
        raise GitFailed(_("could not pull from {shared}: {said}").format(
            shared=repo.shared, said=said(done)))
    return fetched


def rebase(repo: Repo, onto: str, since: str | None) -> None:
    """Put the commits made here since `since` (the shared copy as last seen) on top of
    `onto`, as `git pull --rebase` does. When the rebase stops (a file changed both here and
    there that git cannot combine), it is undone, and RebaseStopped names the files."""
    now = head(repo)
    if now is None:  # nothing here yet: take the shared copy as it is
        git(repo.workspace, "reset", "--quiet", "--keep", onto)
        return
    args = ["--onto", onto, since] if since else [onto]
    done = git(repo.workspace, "rebase", "--quiet", "--no-autostash", *args, check=False)
    if done.returncode == 0:
        return
    stopped = git(repo.workspace, "rev-parse", "--git-path", "rebase-merge", "--git-path",
                  "rebase-apply").stdout.splitlines()
    if not any((repo.workspace / path).exists() for path in stopped):
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


def undo_pull(repo: Repo, before: str) -> None:
    """Put the branch back where it was before a pull, the working copy with it."""
    git(repo.workspace, "reset", "--quiet", "--keep", before)


def push(repo: Repo) -> None:
    """`git push` to the shared copy, never forced: PushRejected when someone pushed first."""
    args = ["push", "--porcelain", "--no-recurse-submodules"]
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
    if head(repo) is None:
        return 0
    if commit_of(repo, repo.remote_ref) is None:
        return int(git(repo.workspace, "rev-list", "--count", "HEAD").stdout.strip())
    return int(git(repo.workspace, "rev-list", "--count", f"{repo.remote_ref}..HEAD")
               .stdout.strip())


def entries_between(repo: Repo, old: str | None, new: str | None) -> int:
    """How many entry lines the history files gain from `old` to `new`."""
    if new is None or old == new:
        return 0
    if old is None:
        old = git(repo.workspace, "hash-object", "-t", "tree", "--stdin", input="").stdout.strip()
    diff = git(repo.workspace, "diff", "-U0", "--no-color", "--no-ext-diff", old, new, "--",
               storage.HISTORY).stdout
    return len(ADDED_ENTRY.findall(diff))


def show(repo: Repo, rev: str, path: str) -> str | None:
    """The text of the workspace file `path` at `rev`, or None when it has none there."""
    done = git(repo.workspace, "--literal-pathspecs", "show", f"{rev}:./{path}", check=False)
    return done.stdout if done.returncode == 0 else None


def texts(repo: Repo, rev: str, paths: Sequence[str]) -> dict[str, str | None]:
    """The text of each workspace file of `paths` at `rev` (None where it has none), read
    with one git command whatever their number."""
    if not paths:
        return {}
    query = "".join(f"{rev}:{repo.prefix}{path}\n" for path in paths).encode("utf-8")
    try:
        done = subprocess.run(["git", "cat-file", "--batch"], cwd=repo.workspace, input=query,
                              capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise GitFailed(_("git {command} failed: {said}").format(
            command="cat-file", said=exc)) from None
    out, at = done.stdout, 0
    found: dict[str, str | None] = {}
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[at:at + size].decode("utf-8", errors="replace")
            at += size + 1
        else:
            found[path] = None
    return found


def author(repo: Repo, commit: str) -> str:
    """`Name <email>` of the author of `commit`, as git has it."""
    return git(repo.workspace, "log", "-1", "--format=%an <%ae>", commit).stdout.strip()
