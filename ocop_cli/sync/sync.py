"""`ocop sync`, step by step: commit what was recorded here, fetch the shared copy, check what
arrived before any of it is applied, apply it, keep every line this office had, send.

1. Nothing is done in a repository that tracks `.ocop` or a link, nor through a `.ocop` link
   (`layout.refuse_here`); a shared line changed here is never sent (`lines`).
2. Only this office's files are committed: every history and product file in a team without
   `offices/allowed_signers`; in a signed team, the signer's own (`signers`).
3. The shared branch is fetched, and what arrived is checked against the workspace's layout:
   a path it may not hold refuses the whole pull, nothing of it applied (`layout`).
4. Each commit received is verified (`signers`); then the commits made here are rebased on
   the shared copy. A line the office had and git's version has lost is put back and sent
   again, or kept here when it is another office's in a signed team; a line that does not
   count is left out of the version in use (`lines`, `held`).
5. What arrived is read, and only that (`arrived`): a broken history file is held back, a
   broken plan undoes the pull; plan changes are reported task by task. An entry id that
   arrives in a second file counts once, from the file that had it first in git's history;
   the copy is named and left out, as a refused commit's lines are, and so is an undo that
   names another file's entry (an office takes back only its own).
6. The push is never forced; when another office sent first, sync pauses a moment (at
   random, so that offices racing do not meet again) and tries again, for a bounded time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _, ngettext
from ocop_cli.store import storage, write
from ocop_cli.sync import arrived, held, layout, lines, signers
from ocop_cli.sync.git import (
    APPEND_ONLY,
    PushRejected,
    Repo,
    ahead,
    commit_files,
    commit_of,
    entries_between,
    fetch,
    git,
    head,
    push,
    rebase,
    refuse_dirty,
    remote_has_branch,
    repository,
    short,
    texts,
    undo_pull,
)

Check = Callable[[storage.Workspace], list[Problem]]  # every problem of a workspace
PATIENCE = 120.0  # seconds a sync keeps trying while other offices send first
TRUSTED = "refs/ocop/signers"  # the allowed signers trusted here, as a blob (local)


@dataclass
class Synced:
    """What one `ocop sync` did, and what the office must be told."""

    shared: str
    sent: int = 0  # entries
    received: int = 0  # entries
    pushed: bool = False
    written: list[str] = field(default_factory=list)  # git files ocop added to the workspace
    warnings: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)  # commits that do not count
    restored: list[Problem] = field(default_factory=list)  # lines the shared copy dropped
    retries: int = 0


def sync(ws: storage.Workspace, check: Check, patience: float = PATIENCE) -> Synced:
    """Commit the history recorded here, receive the others' work, check it, send. Never
    forces. InvalidData (nothing sent) when a shared line was changed here, when what arrived
    holds a path a workspace does not, or when a plan or agencies file arrived broken (the
    pull undone); a history file that arrives broken is held back at its last good lines.
    `check` gives every problem of a workspace, for what arrived beside the history."""
    repo = repository(ws.root)
    layout.refuse_here(repo)
    result = Synced(repo.shared)
    with write.locked(ws):
        kept = held.release(repo)
        try:
            trust = _trusted(repo)
            me = signers.office_of(repo.workspace, trust.team) if trust.team else None
            result.written = _write_rules(repo, trust.team, me)
            lines.refuse_rewritten_here(repo)
            _commit_own(repo, trust.team, me, result.written)
            refuse_dirty(repo)
            deadline = time.monotonic() + patience
            while True:
                kept, trust = _pull(repo, ws, check, kept, trust, result)
                if not ahead(repo):
                    break
                brings_team = _refuse_outgoing(repo, trust.team)
                sent = entries_between(repo, commit_of(repo, repo.remote_ref), head(repo))
                try:
                    push(repo)
                except PushRejected as exc:
                    if time.monotonic() >= deadline:
                        exc.hint = _("Nothing was sent; your work is kept here. Run ocop sync "
                                     "again in a moment.")
                        raise
                    result.retries += 1
                    # A short random pause, longer as the race goes on: offices that lost
                    # the same race do not all come back at the same instant.
                    time.sleep(random.uniform(0.05, 0.25) * min(result.retries, 8))
                    kept = held.release(repo)
                    continue
                result.sent, result.pushed = sent, True
                _pushed(repo, trust, brings_team)
                break
        finally:
            held.hold(repo, kept)
    result.warnings += held.problems(ws.root)
    return result


# --- before the pull ---------------------------------------------------------------------------


class Trust(NamedTuple):
    """Where checking what arrives starts, and the team as trusted there."""

    anchor: str | None  # the last commit received and checked here
    team: signers.Team | None  # None: a team without signatures
    checked: bool  # whether this clone has checked what it received before


def _trusted(repo: Repo) -> Trust:
    """The trust this clone keeps (`refs/ocop/…`, never sent). A clone that never checked
    starts where the team began to sign (the commit that brought `offices/allowed_signers`),
    or else at its own HEAD."""
    verified = commit_of(repo, signers.VERIFIED)
    if verified is not None:
        text = git(repo.workspace, "cat-file", "blob", TRUSTED, check=False)
        return Trust(verified, signers.parse(text.stdout) if text.returncode == 0 else None,
                     True)
    here = head(repo)
    began = git(repo.workspace, "log", "-1", "--format=%H", "--diff-filter=A", "HEAD", "--",
                signers.ALLOWED, check=False).stdout.strip() if here else ""
    if began:
        return Trust(began, signers.team_at(repo, began), False)
    return Trust(here, None, False)


def _trust(repo: Repo, commit: str, team: signers.Team | None, old: Trust) -> Trust:
    """Remember `commit` as received and checked here, with the team trusted after it."""
    git(repo.workspace, "update-ref", signers.VERIFIED, commit)
    if team is None and old.team is not None:
        git(repo.workspace, "update-ref", "-d", TRUSTED, check=False)
    elif team is not None and (old.team is None or old.team.text != team.text
                               or not old.checked):
        blob = git(repo.workspace, "hash-object", "-w", "--stdin", input=team.text
                   ).stdout.strip()
        git(repo.workspace, "update-ref", TRUSTED, blob)
    return Trust(commit, team, True)


def _pushed(repo: Repo, trust: Trust, brings_team: bool) -> None:
    """After a push: what was sent is checked (it was made here), and the team as this
    office sent it (the province setting up signing, or adding an office) is trusted."""
    sent = head(repo)
    if sent is not None:
        _trust(repo, sent, signers.team_at(repo, sent) if brings_team else trust.team, trust)


def _write_rules(repo: Repo, team: signers.Team | None, me: str | None) -> list[str]:
    """Write the merge and ignore rules a workspace lacks; in a signed team only the
    province may send them, so only its clone writes them."""
    if team is not None and me != signers.PROVINCE:
        return []
    wanted = layout.missing_rules(repo.workspace)
    for name, text in wanted.items():
        held.write(repo.workspace, name, text)
    return sorted(wanted)


def _own_files(repo: Repo) -> list[str]:
    """The history and product files of the workspace, as a workspace may hold them."""
    found = []
    for folder in APPEND_ONLY:
        path = repo.workspace / folder
        if path.is_dir() and not path.is_symlink():
            found += sorted(f"{folder}/{p.name}" for p in path.iterdir()
                            if layout.appended(f"{folder}/{p.name}"))
    return found


def _commit_own(repo: Repo, team: signers.Team | None, me: str | None,
                written: list[str]) -> None:
    """Commit what was recorded here: every history and product file, or in a signed team
    the files of the office this clone signs as (refusing to send any other's)."""
    if team is None:
        commit_files(repo, [*_own_files(repo), *written])
        return
    status = git(repo.workspace, "status", "--porcelain", "-z", "--untracked-files=all", "--",
                 *APPEND_ONLY).stdout
    # Porcelain paths are the repository's: those of the workspace start with its folder.
    changed = [item[3:].removeprefix(repo.prefix) for item in status.split("\0") if item[3:]]
    if me is None:
        if changed:
            signers.refuse_unsigned_here(repo, team)
        return
    signers.refuse_others_files(repo, me, changed)
    commit_files(repo, [p for p in changed if signers.may_change(me, p)] + written)


def _refuse_outgoing(repo: Repo, team: signers.Team | None) -> bool:
    """In a signed team, what this clone sends must be its office's own, and signed by it:
    commits made before it signed are signed again (rebased onto the shared copy as they
    are). Returns whether what it sends changes who may sign."""
    since = commit_of(repo, repo.remote_ref)
    outgoing = git(repo.workspace, "rev-list", "--reverse", "HEAD",
                   *([f"^{since}"] if since else [])).stdout.split()
    verdicts = signers.verify(repo, None, outgoing)
    if team is not None:
        me = signers.office_of(repo.workspace, team) or signers.refuse_unsigned_here(repo, team)
        for verdict in verdicts:
            signers.refuse_others_files(repo, me, verdict.paths)
        # A commit that changes nothing of the workspace is not the team's to judge.
        unsigned = [v for v in signers.verify(repo, team, outgoing)
                    if v.paths and v.signer != me]
        if unsigned and since is not None:
            git(repo.workspace, "rebase", "--quiet", "--force-rebase", since)
            outgoing = git(repo.workspace, "rev-list", "--reverse", "HEAD", f"^{since}"
                           ).stdout.split()
            unsigned = [v for v in signers.verify(repo, team, outgoing)
                        if v.paths and v.signer != me]
        signers.refuse_unsigned_outgoing(unsigned, me)
    return any(signers.ALLOWED in verdict.paths for verdict in verdicts)


# --- the pull ----------------------------------------------------------------------------------


def _pull(repo: Repo, ws: storage.Workspace, check: Check, kept: dict[str, dict[str, Any]],
          trust: Trust, result: Synced) -> tuple[dict[str, dict[str, Any]], Trust]:
    """Fetch, check, apply, reconcile; returns the files held back from now on (held), and
    the trust after it."""
    before = head(repo)
    if not remote_has_branch(repo):
        held.hold(repo, kept)
        return kept, trust
    seen = commit_of(repo, repo.remote_ref)
    fetched = fetch(repo)
    anchor, team = trust.anchor, trust.team
    if fetched == anchor and _contains(repo, fetched):
        held.hold(repo, kept)
        return kept, trust  # nothing arrived since the last sync
    try:
        changes = layout.refuse_arrivals(repo, before, fetched)
    except InvalidData:
        _forget_fetch(repo, seen)
        raise
    commits = git(repo.workspace, "rev-list", "--reverse", "--topo-order", fetched,
                  *([f"^{anchor}"] if anchor else [])).stdout.split()
    verdicts = signers.verify(repo, team, commits)
    for verdict in verdicts:
        result.refused += verdict.problems()
    # The commits made here are those since the shared copy this clone last took in.
    rebase(repo, fetched, anchor if trust.checked else seen)
    after = head(repo)
    result.received += entries_between(repo, before, after)
    shared = _shared_holds(repo, before, verdicts, kept)
    try:
        _refuse_broken(repo, ws, check, changes, shared)
    except InvalidData:
        _forget_fetch(repo, seen)
        for path in shared:  # back as git has it, so that git can reset
            git(repo.workspace, "--literal-pathspecs", "checkout", "--", path, check=False)
        undo_pull(repo, before or fetched)
        raise
    added = lines.added(repo, [v.commit for v in verdicts if v.counts],
                        [v.commit for v in verdicts if not v.counts])
    # A copy of another file's entry, or an undo of one, counts no more than a refused line.
    for left_out, told in (arrived.copies(repo, added.counted, commits),
                           arrived.foreign_undos(repo, added.counted)):
        for path, got in left_out.items():
            for line, commit in got.items():
                added.counted[path].pop(line, None)
                added.refused.setdefault(path, {})[line] = commit
        result.warnings += told
    # What git's version of the files lost is judged from this office's copy before the
    # pull, not from where it and the shared copy part (a force push leaves that behind).
    moved = layout.changes(repo, before, after, APPEND_ONLY)[0] if after else []
    paths = {c.path for c in moved} | {p for p in kept if layout.appended(p)} | \
        set(added.refused)
    me = signers.office_of(repo.workspace, team) if team else None
    holding = {**shared, **_reconcile(repo, ws, check, sorted(paths), before, kept, added,
                                      (team, me), verdicts, result)}
    result.warnings += _reports(repo, before, changes, (kept, shared), verdicts)
    trust = _trust(repo, fetched, _team_after(repo, team, verdicts), trust)
    held.hold(repo, holding)
    return holding, trust


def _contains(repo: Repo, commit: str) -> bool:
    return git(repo.workspace, "merge-base", "--is-ancestor", commit, "HEAD",
               check=False).returncode == 0


def _forget_fetch(repo: Repo, since: str | None) -> None:
    """The shared copy as last seen stays what it was before a pull that was refused."""
    if since is None:
        git(repo.workspace, "update-ref", "-d", repo.remote_ref, check=False)
    else:
        git(repo.workspace, "update-ref", repo.remote_ref, since, check=False)


def _team_after(repo: Repo, team: signers.Team | None,
                verdicts: list[signers.Verdict]) -> signers.Team | None:
    """The team as the last commit that counted and changed it left it."""
    for verdict in reversed(verdicts):
        if verdict.counts and signers.ALLOWED in verdict.paths:
            return signers.team_at(repo, verdict.commit)
    return team


def _sender(verdicts: Iterable[signers.Verdict], path: str) -> signers.Verdict | None:
    """The last of `verdicts` that changes `path`."""
    return next((v for v in reversed(list(verdicts)) if path in v.paths), None)


def _shared_holds(repo: Repo, before: str | None, verdicts: list[signers.Verdict],
                  kept: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The province's files (plan, agencies, rules…) a refused commit changed, each held at
    its version from before that commit, unless a commit that counts changed it after."""
    holding = {p: info for p, info in kept.items() if not layout.appended(p)}
    for path in {p for v in verdicts for p in v.paths if not layout.appended(p)}:
        last = _sender(verdicts, path)
        if last is None or last.counts:
            holding.pop(path, None)
            continue
        if path in holding:
            continue
        first = next(v for v in verdicts if path in v.paths and not v.counts)
        parent = commit_of(repo, f"{first.commit}~1") or before
        text = texts(repo, parent, [path])[path] if parent else None
        holding[path] = {"good": text or "", "lines": len((text or "").splitlines()),
                         "why": held.REFUSED, "sender": first.who,
                         "commit": short(first.commit)}
    return holding


def _refuse_broken(repo: Repo, ws: storage.Workspace, check: Check, changes: list[layout.Change],
                   shared: dict[str, dict[str, Any]]) -> None:
    """InvalidData when a file of the province's that arrived does not load (those a
    refused commit changed are used as they were before it)."""
    for path, info in shared.items():
        held.write(repo.workspace, path, info["good"])
    paths = [c.path for c in changes if c.status != "D" and not layout.appended(c.path)]
    if not [p for p in paths if p not in shared]:
        return
    errors = [p for p in arrived.problems(ws, paths, check) if not p.warning]
    if errors:
        raise InvalidData(errors, _("{n} problems after pulling from {shared}; the pull was "
                                    "undone and nothing was sent").format(
            n=len(errors), shared=repo.shared))


def _reconcile(repo: Repo, ws: storage.Workspace, check: Check, paths: list[str],
               before: str | None,
               kept: dict[str, dict[str, Any]], added: lines.Added,
               signing: tuple[signers.Team | None, str | None],
               verdicts: list[signers.Verdict], result: Synced) -> dict[str, dict[str, Any]]:
    """Put back the lines lost, leave out those that do not count, hold back a file that
    arrived broken; send again what this office may send. Returns the files to hold."""
    if not paths:
        return {}
    team, me = signing
    shared_had = texts(repo, before, paths) if before else dict.fromkeys(paths)
    had = {p: kept[p]["good"] if p in kept else shared_had[p] for p in paths}
    now = texts(repo, "HEAD", paths)
    holding: dict[str, dict[str, Any]] = {}
    sends: dict[str, str] = {}
    for path in paths:
        keep = lines.reconcile(path, had[path], now[path], added.counted.get(path, {}),
                               added.refused.get(path, {}),
                               team is None or layout.owner(path) == me)
        if keep is None:
            continue
        if keep.send is not None:
            sends[path] = keep.send
        if keep.use != (keep.send if keep.send is not None else now[path]):
            last = _sender(verdicts, path)
            holding[path] = {"good": keep.use, "lines": len(keep.use.splitlines()),
                             "why": held.KEPT if keep.lost and keep.send is None
                             else held.REFUSED, "office": layout.owner(path),
                             "sender": last.who if last else repo.shared,
                             "commit": short(last.commit) if last else ""}
        result.restored += _told(repo, keep, shared_had[path], added)
    for path, text in {**sends, **{p: i["good"] for p, i in holding.items()}}.items():
        held.write(repo.workspace, path, text)
    holding.update(_broken(repo, ws, check, paths, had, now))
    sends = {p: text for p, text in sends.items()
             if holding.get(p, {}).get("why") != held.BROKEN}
    if sends:
        for path, text in sends.items():
            held.write(repo.workspace, path, text)
        # A commit message is read by every office, whatever its language: kept in English.
        commit_files(repo, sorted(sends), f"ocop: put back lines {repo.shared} dropped "
                                          f"({', '.join(sorted(sends))})")
    return holding


def _told(repo: Repo, keep: lines.Kept, shared_had: str | None, added: lines.Added
          ) -> list[Problem]:
    """What the office is told of a file: the lines the shared copy dropped now (those it
    had dropped at an earlier sync were told then), a line received here that a commit
    changed."""
    told = []
    known = {line.rstrip("\n") for line in lines.lines_of(shared_had)}
    new = [line for line in keep.lost if line in known]
    if new:
        # The last commit to change the file; when the shared history was rewritten so that
        # none did, its newest commit.
        last = git(repo.workspace, "log", "-1", "--format=%h by %an <%ae>", repo.remote_ref,
                   "--", keep.path).stdout.strip() or git(
            repo.workspace, "log", "-1", "--format=%h by %an <%ae>", repo.remote_ref
        ).stdout.strip()
        if keep.send is not None:
            message = _("{shared} no longer has {lines} this office had (last changed by "
                        "commit {last}); put back and sent again")
        else:
            message = _("{shared} no longer has {lines} this office had (last changed by "
                        "commit {last}); kept here until {office} sends them again")
        told.append(Problem(keep.path, message.format(
            lines=ngettext("{n} line", "{n} lines", len(new)).format(n=len(new)),
            shared=repo.shared, last=last, office=layout.owner(keep.path))))
    counted = added.counted.get(keep.path, {})
    for line in keep.left_out:
        if line in counted and lines.entry_id(line) is not None:
            told.append(Problem(keep.path, _(
                "commit {commit} changes entry {id}, already received here; the entry counts "
                "as received, the change does not").format(commit=short(counted[line]),
                                                            id=lines.entry_id(line))))
    return told


def _broken(repo: Repo, ws: storage.Workspace, check: Check, paths: list[str],
            had: dict[str, str | None], now: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """Each history or product file that does not load as it now is, to be held back at
    its lines from before the pull."""
    present = [p for p in paths if now[p] is not None and not (ws.root / p).is_symlink()]
    broken = {p.file for p in arrived.problems(ws, present, check) if not p.warning}
    found = {}
    for path in present:
        if str(ws.root / path) not in broken:
            continue
        good = had[path] or ""
        who = git(repo.workspace, "log", "-1", "--format=%h%x00%an <%ae>", repo.remote_ref,
                  "--", path).stdout.strip()
        commit, _nul, sender = who.partition("\0")
        found[path] = {"good": good, "lines": len(good.splitlines()), "why": held.BROKEN,
                       "sender": sender or _("unknown"), "commit": commit}
    return found


def _reports(repo: Repo, before: str | None, changes: list[layout.Change],
             holds: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]],
             verdicts: list[signers.Verdict]) -> list[Problem]:
    """What changed in the plan, agencies and rules: from the version in use before the
    pull to the one in use now."""
    kept, shared = holds
    found: list[Problem] = []
    watched = sorted({c.path for c in changes
                      if c.path == storage.AGENCIES or c.path == layout.RULES
                      or c.path.startswith("plan_")} - set(shared))
    if not watched:
        return found
    context = sorted({storage.AGENCIES, *watched})
    old = texts(repo, before, context) if before else dict.fromkeys(context)
    old.update({p: kept[p]["good"] for p in context if p in kept})
    new = texts(repo, "HEAD", context)
    new.update({p: shared[p]["good"] for p in context if p in shared})
    for path in watched:
        last = _sender(verdicts, path)
        why = _("commit {commit} by {who}").format(commit=short(last.commit), who=last.who) \
            if last else repo.shared
        found += arrived.changes({p: old[p] for p in {storage.AGENCIES, path}},
                                 {p: new[p] for p in {storage.AGENCIES, path}}, why)
    return found
