"""Who sent a commit, by git's own SSH signatures, and which files that office may change.

A workspace whose `offices/allowed_signers` exists is a signed team. The file is git's own
allowed-signers format, one line per office: `<office-id> namespaces="git" <public key>`, and
`province` for the plan's owner. Each clone signs its commits (`gpg.format ssh`,
`user.signingkey`, `commit.gpgsign true`: `ocop sync --setup` sets them), and sync asks git to
verify each commit it receives (`gpg.ssh.allowedSignersFile`), against the file as the commit
before it has it: a key is trusted once a commit of the province's has added it.

A commit may change only its signer's files: `history/<office-id>.yaml` and
`products/<office-id>.yaml`, and for `province` also the plan, agencies, rules, `offices/` and
git's rule files. An unsigned commit, one signed by a key the file does not list, or one that
changes another's file is refused: nothing it brings counts (see `lines`). Without the file,
sync trusts whoever may push, as git does.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ocop_cli.core.errors import NotFound, Problem, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.sync.git import Repo, config, git, short, show
from ocop_cli.sync.layout import OFFICES, owner

ALLOWED = f"{OFFICES}/allowed_signers"
PROVINCE = "province"  # the office that owns the plan, the agencies and the rules
VERIFIED = "refs/ocop/verified"  # the last received commit checked here (local, never sent)
OFFICE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_KEY = re.compile(r"(?:^|\s)((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+)\s+([A-Za-z0-9+/=]+)")
def _status(code: str) -> str:
    why = {"N": _("is not signed"),
           "U": _("is signed with a key offices/allowed_signers does not list"),
           "B": _("has a bad signature"),
           "E": _("has a signature git could not check"),
           "X": _("has an expired signature"),
           "Y": _("is signed with an expired key"),
           "R": _("is signed with a revoked key")}
    return why.get(code, why["E"])


class Team(NamedTuple):
    """A signed team: `offices/allowed_signers` as trusted here, and each office's keys."""

    text: str
    keys: dict[str, str]  # "ssh-ed25519 AAAA…" -> office id


def parse(text: str) -> Team:
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        principals = line.split(None, 1)[0]
        found = _KEY.search(line)
        if found and OFFICE_ID.fullmatch(principals):
            keys[f"{found.group(1)} {found.group(2)}"] = principals
    return Team(text, keys)


def team_at(repo: Repo, rev: str | None) -> Team | None:
    """The team as the commit `rev` has it; None when it is not a signed team."""
    text = show(repo, rev, ALLOWED) if rev else None
    return parse(text) if text is not None else None


def may_change(office: str, path: str) -> bool:
    """Whether a commit signed by `office` may change the workspace file `path`."""
    own = owner(path)
    return own == office if own is not None else office == PROVINCE


class Verdict(NamedTuple):
    """What was decided about one commit received."""

    commit: str
    who: str  # its author, as git has it
    signer: str | None  # the office whose signature is good, None when unsigned or unchecked
    refused: tuple[tuple[str, str], ...] = ()  # (path, why), empty when it counts
    paths: tuple[str, ...] = ()  # the workspace files it changes

    @property
    def counts(self) -> bool:
        return not self.refused

    def problems(self) -> list[Problem]:
        return [Problem(path, _("commit {commit} by {who} {why}; refused, nothing from it "
                                "counts").format(commit=short(self.commit), who=self.who,
                                                 why=why)) for path, why in self.refused]


def verify(repo: Repo, trusted: Team | None, commits: list[str]) -> list[Verdict]:
    """A verdict on each of `commits` (oldest first), each checked against the team as the
    commits before it left it; with no team (`trusted` None) every commit counts, until one
    that counts brings `offices/allowed_signers`."""
    touched = _paths(repo, commits)
    verdicts: list[Verdict] = []
    team, start = trusted, 0
    while start < len(commits):
        # A run of commits checked against one team: up to the first that changes it.
        end = next((i + 1 for i in range(start, len(commits))
                    if ALLOWED in touched[commits[i]][1]), len(commits))
        run = commits[start:end]
        signed = _signatures(repo, team, run)
        for commit in run:
            who, paths = touched[commit]
            verdicts.append(_judge(commit, who, paths, team, signed.get(commit)))
        last = verdicts[-1]
        if ALLOWED in last.paths and last.counts:
            team = team_at(repo, last.commit)
        start = end
    return verdicts


def _judge(commit: str, who: str, paths: tuple[str, ...], team: Team | None,
           signature: tuple[str, str] | None) -> Verdict:
    if team is None or not paths:
        return Verdict(commit, who, None, (), paths)
    status, signer = signature or ("E", "")
    if status != "G":
        why = _status(status)
        return Verdict(commit, who, None, tuple((p, why) for p in paths), paths)
    if not OFFICE_ID.fullmatch(signer):
        why = _("is signed as {signer!r}, which is no office id").format(signer=signer)
        return Verdict(commit, who, None, tuple((p, why) for p in paths), paths)
    refused = tuple((p, _("is signed by {office}, and this is not a file of {office}'s")
                     .format(office=signer)) for p in paths if not may_change(signer, p))
    return Verdict(commit, who, signer, refused, paths)


def _paths(repo: Repo, commits: list[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """commit -> (its author, the workspace files it changes); a merge changes the files
    that differ from every one of its parents."""
    if not commits:
        return {}
    out = git(repo.workspace, "log", "--no-walk=unsorted", "--stdin", "--raw", "-z",
              "--no-renames", "--diff-merges=combined", "--format=%x01%H%x00%an <%ae>",
              input="\n".join(commits) + "\n").stdout
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for chunk in out.split("\x01")[1:]:
        tokens = chunk.split("\0")
        commit, who, rest = tokens[0], tokens[1], tokens[2:]
        paths, at = [], 0
        while at + 1 < len(rest):
            if not rest[at].lstrip("\n").startswith(":"):
                at += 1
                continue
            path, at = rest[at + 1], at + 2
            if path.startswith(repo.prefix):
                paths.append(path.removeprefix(repo.prefix))
        found[commit] = (who, tuple(paths))
    return found


def _signatures(repo: Repo, team: Team | None, commits: list[str]
                ) -> dict[str, tuple[str, str]]:
    """commit -> (git's `%G?`, the office whose key signed it) against `team`."""
    if team is None or not commits:
        return {}
    if shutil.which("ssh-keygen") is None:
        raise NotFound(_("this team signs its commits (offices/allowed_signers), and checking "
                         "them needs ssh-keygen, which is not installed; nothing was done"),
                       hint=_("Install OpenSSH (Debian, Ubuntu: apt install openssh-client; "
                              "Windows: Git for Windows has it), then run ocop sync again."))
    handle, name = tempfile.mkstemp(prefix="ocop-allowed-signers-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(team.text)
        done = git(repo.workspace, "-c", f"gpg.ssh.allowedSignersFile={name}", "log",
                   "--no-walk=unsorted", "--stdin", "--format=%H%x00%G?%x00%GS",
                   input="\n".join(commits) + "\n").stdout
    finally:
        os.unlink(name)
    found = {}
    for line in done.splitlines():
        parts = line.split("\0")
        if len(parts) == 3:
            found[parts[0]] = (parts[1], parts[2])
    return found


# --- this clone: who it signs as -------------------------------------------------------------


def public_key(repo_root: Path, key: str | None = None) -> str | None:
    """`type base64` of the key this clone signs with (`user.signingkey`, or `key`)."""
    key = key or config(repo_root, "user.signingkey")
    if not key:
        return None
    if key.startswith("key::"):
        text = key.removeprefix("key::")
    else:
        path = Path(key).expanduser()
        path = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    found = _KEY.search(text)
    return f"{found.group(1)} {found.group(2)}" if found else None


def office_of(repo_root: Path, team: Team) -> str | None:
    """The office this clone signs as: the one whose key in the team is its signing key,
    when git is set to sign every commit with it."""
    if config(repo_root, "gpg.format") != "ssh" or \
            (config(repo_root, "commit.gpgsign") or "").lower() not in ("true", "yes", "on", "1"):
        return None
    key = public_key(repo_root)
    return team.keys.get(key) if key else None


def refuse_unsigned_here(repo: Repo, team: Team) -> str:
    """The office this clone signs as; NotFound, before anything is done, when it signs as
    none of the team."""
    office = office_of(repo.workspace, team)
    if office is None:
        raise NotFound(
            _("this team signs its commits (offices/allowed_signers), and this copy does not "
              "sign as any office listed there; nothing was done"),
            hint=_("Set it up once: ocop sync --setup --key ~/.ssh/KEY (made with ssh-keygen), "
                   "then have the province add the line it prints to offices/allowed_signers."))
    return office


def refuse_unsigned_outgoing(verdicts: list[Verdict], office: str) -> None:
    """NotFound naming the first of `verdicts` (commits to send) that `office` did not sign."""
    if verdicts:
        raise NotFound(
            _("commit {commit} is not signed by {office}, which this copy signs as; nothing "
              "was sent").format(commit=short(verdicts[0].commit), office=office),
            hint=_("Check the key: ocop sync --setup --key ~/.ssh/KEY, then run ocop sync "
                   "again."))


def refuse_others_files(repo: Repo, office: str, changed: Iterable[str]) -> None:
    """In a signed team an office sends only its own files: NotFound naming any other."""
    others = sorted(p for p in changed if not may_change(office, p))
    if others:
        raise NotFound(
            _("{files}: not a file of {office}'s, which this copy signs as; nothing was sent"
              ).format(files=", ".join(others), office=office),
            hint=_("Entries of this office go to history/{office}.yaml. Take the others out "
                   "(git restore FILE; git reset --soft for a commit), then run ocop sync "
                   "again.").format(office=office))


def setup(repo_root: Path, key: str, office: str | None) -> str:
    """Set git here to sign every commit with the SSH key `key` (its private file, or its
    `.pub` with the private key in an agent); returns the line of `offices/allowed_signers`
    that names this office with it. The office id is `office`, else the key's comment; this
    copy records as that office (`ocop.office`)."""
    path = Path(key).expanduser().absolute()
    public = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
    try:
        text = public.read_text(encoding="utf-8", errors="replace")
    except OSError:
        raise NotFound(_("{path}: no such public key").format(path=public), hint=_(
            'Make one with: ssh-keygen -t ed25519 -f ~/.ssh/ocop_office -C "office-id"'
        )) from None
    found = _KEY.search(text)
    if found is None:
        raise UsageError(_("{path} is not an SSH public key").format(path=public))
    office = office or text[found.end():].strip()
    if not OFFICE_ID.fullmatch(office):
        raise UsageError(
            _("{office!r} is no office id (lower-case letters, digits and dashes, e.g. "
              "gia-loc)").format(office=office),
            hint=_("Name it: ocop sync --setup --key {key} --office gia-loc").format(key=key))
    signing = path if path.suffix != ".pub" and path.exists() else public
    for name, value in (("gpg.format", "ssh"), ("user.signingkey", str(signing)),
                        ("commit.gpgsign", "true"), ("ocop.office", office),
                        ("gpg.ssh.allowedSignersFile", str(repo_root.absolute() / ALLOWED))):
        git(repo_root, "config", "--local", name, value)
    return f'{office} namespaces="git" {found.group(1)} {found.group(2)}'


def trust(root: Path) -> str | None:
    """How this workspace trusts what sync receives, in a few words for `ocop info`; None
    when it is not in git. Read from files, without running git."""
    if (root / ALLOWED).is_file():
        return _("signed: each commit is checked against {file}").format(file=ALLOWED)
    if not any((folder / ".git").exists() for folder in (root, *root.parents)):
        return None
    return _("unsigned: ocop sync trusts whoever may push (no {file})").format(file=ALLOWED)
