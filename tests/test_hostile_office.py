"""A team you can trust: each attack an office could make through the shared git repository,
run against a bare remote, the province and two offices (Gia Lộc, Tứ Kỳ; a fresh clone where
it matters), in a team without signatures and in one that signs with SSH keys.

For every attack: nothing outside the workspaces changes, every entry an office had sent is
still in every honest copy, the forged content counts nowhere, and the refusal names the
commit and the file, with the documented exit code and no traceback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK
from ocop_cli.store import storage
from ocop_cli.sync import signers
from tests.test_team import AS_OF, Team, git, progress

pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
              pytest.mark.usefixtures("git_alone")]

OFFICES = ("province", "gia-loc", "tu-ky")


def keygen(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, capture_output=True)
    return key


def allowed_line(key: Path, office: str) -> str:
    kind, blob = Path(f"{key}.pub").read_text(encoding="utf-8").split()[:2]
    return f'{office} namespaces="git" {kind} {blob}'


class Crew:
    """The province and two offices sharing a bare repository, signed or not."""

    def __init__(self, base: Path, signed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
        self.base, self.signed, self.monkeypatch = base, signed, monkeypatch
        self.team = Team(base / "team")
        self.keys = base / "keys"
        self.keys.mkdir()
        self.home = base / "home"  # what an attack aims at, outside every workspace
        self.home.mkdir()
        (self.home / ".bashrc").write_text("# mine\n", encoding="utf-8")
        self.copies = {"province": self.team.province}
        if signed:
            lines = [allowed_line(keygen(self.keys, office), office) for office in OFFICES]
            keygen(self.keys, "mallory")  # a key no line names
            signers.setup(self.team.province, str(self.keys / "province"), None)
            allowed = self.team.province / signers.ALLOWED
            allowed.parent.mkdir()
            allowed.write_text("\n".join(lines) + "\n", encoding="utf-8")
            git(self.team.province, "add", "offices")
            git(self.team.province, "commit", "--quiet", "-m", "Các đơn vị ký")
            git(self.team.province, "push", "--quiet")
        for office in OFFICES[1:]:
            self.copies[office] = self.join(office)
        self.sent: set[str] = set()
        self.sent_by: dict[str, set[str]] = {}

    def join(self, office: str, name: str | None = None) -> Path:
        path = self.team.clone(name or office, office)
        if self.signed:
            assert self.ocop(path, "sync", "--setup", "--key",
                             str(self.keys / office)).exit_code == EXIT_OK
        return path

    def ocop(self, root: Path, *args: str) -> Any:
        from typer.testing import CliRunner

        from ocop_cli.commands.app import app

        self.monkeypatch.setenv("OCOP_DATA", str(root))
        self.monkeypatch.setenv("OCOP_AS_OF", AS_OF.isoformat())
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert "Traceback" not in result.stderr
        return result

    def record(self, office: str, task: str = "5.2", qty: int = 1,
               who: str | None = None) -> str:
        entries = progress(self.copies[office], who or office, task, qty,
                           place=None if office == "province" else office,
                           date=dt.date(2019, 9, 1))
        return entries[0].id

    def sync(self, office: str) -> Any:
        return self.ocop(self.copies[office], "sync")

    def settle(self, *offices: str) -> None:
        """Each office records one entry and sends it; every office ends up with all."""
        for office in offices or OFFICES:
            entry = self.record(office)
            done = self.sync(office)
            assert done.exit_code == EXIT_OK, done.stderr
            self.sent.add(entry)
            self.sent_by.setdefault(office, set()).add(entry)
        for office in offices or OFFICES:
            assert self.sync(office).exit_code == EXIT_OK

    def ids(self, root: Path) -> set[str]:
        return {e.id for e in storage.load(storage.Workspace(root)).entries}

    def achieved(self, root: Path, task: str) -> Any:
        shown = self.ocop(root, "show", task, "--format", "json")
        assert shown.exit_code == EXIT_OK, shown.stderr
        return json.loads(shown.stdout)["achieved"]

    def shared_ids(self) -> set[str]:
        return self.team.entry_ids()


@pytest.fixture(params=[False, True], ids=["unsigned", "signed"])
def crew(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Crew:
    if request.param and shutil.which("ssh-keygen") is None:
        pytest.skip("a team that signs needs ssh-keygen (OpenSSH)")
    return Crew(tmp_path, request.param, monkeypatch)


signed_only = pytest.mark.parametrize("crew", [True], indirect=True, ids=["signed"])


def fingerprint(folder: Path, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every file under `folder` (links as where they point), but those under `skip`."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        if path.is_symlink():
            found[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def outside(crew: Crew) -> Iterator[None]:
    """Nothing outside the workspaces (and the keys, the shared repository) changes."""
    before = fingerprint(crew.base, skip=(crew.team.base,))
    yield
    assert fingerprint(crew.base, skip=(crew.team.base,)) == before


def first_line(result: Any) -> str:
    return result.stderr.splitlines()[0] if result.stderr else ""


def push_as(root: Path, message: str, *args: str) -> str:
    """Commit everything as it is in `root` and push it, as git alone would; returns the
    commit, as ocop names it."""
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message, *args)
    git(root, "push", "--quiet", *(["--force"] if "--amend" in args else []))
    return git(root, "rev-parse", "--short=10", "HEAD").strip()


# --- 1. only the workspace's layout arrives ---------------------------------------------------


@pytest.mark.usefixtures("outside")
def test_a_committed_ocop_link_writes_nothing_anywhere(crew: Crew) -> None:
    crew.settle()
    evil = crew.copies["tu-ky"]
    (evil / "evil").mkdir()
    (evil / "evil" / "held.json").write_text(json.dumps(
        {"../../home/.bashrc": {"good": "echo PWNED\n", "lines": 1}}), encoding="utf-8")
    shutil.rmtree(evil / ".ocop")
    (evil / ".ocop").symlink_to("evil")
    git(evil, "add", "--force", ".ocop", "evil")
    commit = push_as(evil, "tiện ích")

    victim = crew.copies["gia-loc"]
    head = git(victim, "rev-parse", "HEAD")
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert f"error: .ocop: is under .ocop, which is derived and local to each computer " \
           f"(commit {commit} by tu-ky <office@example.vn>); refused" in result.stderr
    assert f"error: evil/held.json: is not a file a workspace holds (commit {commit}" \
        in result.stderr
    assert "nothing of that pull was applied and nothing was sent" in result.stderr
    assert git(victim, "rev-parse", "HEAD") == head and not (victim / "evil").exists()
    assert not (victim / ".ocop").is_symlink()

    # A fresh clone checks the link out: sync touches nothing through it, and says what to do.
    fresh = crew.team.clone("moi", "moi")
    crew.copies["moi"] = fresh
    result = crew.sync("moi")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert "ocop: error: .ocop: is tracked by git" in result.stderr
    assert "git rm -r --cached .ocop" in result.stderr
    git(fresh, "rm", "-r", "--cached", "--quiet", ".ocop")
    git(fresh, "commit", "--quiet", "-m", "ocop: .ocop is local")
    result = crew.sync("moi")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert "is a symbolic link: ocop keeps its lock and index only in a real folder here" \
        in result.stderr
    assert (crew.home / ".bashrc").read_text(encoding="utf-8") == "# mine\n"
    for office in ("province", "gia-loc"):
        assert crew.sent <= crew.ids(crew.copies[office])


@pytest.mark.parametrize("path", ["plan_2019.yaml", "history/gia-loc.yaml", "run.sh",
                                  "history/sau/gia-loc.yaml", "schema"])
@pytest.mark.usefixtures("outside")
def test_a_link_or_a_stray_path_refuses_the_whole_pull(crew: Crew, path: str) -> None:
    crew.settle()
    evil = crew.copies["tu-ky"]
    mine = crew.record("tu-ky")  # an honest entry in the same commit counts no more
    target = evil / path
    if path in ("plan_2019.yaml", "history/gia-loc.yaml", "schema"):
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        target.symlink_to(crew.home / ".bashrc")
        why = "is a symbolic link"
    else:
        target.parent.mkdir(exist_ok=True)
        target.write_text("echo PWNED\n", encoding="utf-8")
        why = "is not a file a workspace holds"
    commit = push_as(evil, "gói")

    for office in ("province", "gia-loc"):
        root = crew.copies[office]
        files = fingerprint(root, skip=(root / ".git", root / ".ocop"))
        result = crew.sync(office)
        assert result.exit_code == EXIT_INVALID, result.stderr
        assert f"error: {path}: {why} (commit {commit} by tu-ky <office@example.vn>); " \
               "refused" in result.stderr
        assert fingerprint(root, skip=(root / ".git", root / ".ocop")) == files
        assert mine not in crew.ids(root) and crew.sent <= crew.ids(root)


# --- 2. no line is ever lost ------------------------------------------------------------------


@pytest.mark.usefixtures("outside")
def test_a_force_push_loses_nobody_a_line(crew: Crew) -> None:
    crew.settle()
    before = git(crew.copies["gia-loc"], "rev-list", "--max-parents=0", "HEAD").strip()
    evil = crew.copies["tu-ky"]
    git(evil, "reset", "--quiet", "--hard", before)
    shutil.rmtree(evil / ".ocop", ignore_errors=True)
    crew.record("tu-ky")
    git(evil, "add", "--all")
    git(evil, "commit", "--quiet", "-m", "làm lại")
    git(evil, "push", "--quiet", "--force")
    forced = git(evil, "rev-parse", "--short=7", "HEAD").strip()

    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert ("error: history/gia-loc.yaml: origin/main no longer has 1 line this office had "
            f"(last changed by commit {forced}") in result.stderr
    assert "put back and sent again" in result.stderr
    assert crew.sent <= crew.ids(crew.copies["gia-loc"])
    for office in ("province", "gia-loc", "province"):
        crew.sync(office)
    for office in ("province", "gia-loc"):
        assert crew.sent <= crew.ids(crew.copies[office]), office
    # In a signed team only Tứ Kỳ could send its own dropped line again.
    dropped_by_itself = crew.sent_by["tu-ky"] if crew.signed else set()
    assert crew.sent - dropped_by_itself <= crew.shared_ids()
    assert crew.sync("gia-loc").exit_code == EXIT_OK  # told once


@pytest.mark.usefixtures("outside")
def test_an_amended_commit_that_drops_a_line_loses_it_nowhere(crew: Crew) -> None:
    crew.settle()
    evil = crew.copies["tu-ky"]
    crew.record("tu-ky", qty=2)
    crew.record("tu-ky", qty=3)
    assert crew.sync("tu-ky").exit_code == EXIT_OK
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    received = crew.ids(crew.copies["gia-loc"])
    own = evil / "history" / "tu-ky.yaml"
    own.write_text("".join(own.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]),
                   encoding="utf-8")
    git(evil, "commit", "--quiet", "--amend", "-am", "bớt một dòng")
    git(evil, "push", "--quiet", "--force")

    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert "error: history/tu-ky.yaml: origin/main no longer has 1 line this office had" \
        in result.stderr
    assert received <= crew.ids(crew.copies["gia-loc"])
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    assert received <= crew.ids(crew.copies["gia-loc"])
    if not crew.signed:  # sent again, so every copy has it back
        assert crew.sync("province").exit_code == EXIT_OK
        assert received <= crew.ids(crew.copies["province"]) and received <= crew.shared_ids()


@pytest.mark.usefixtures("outside")
def test_a_reverted_commit_takes_no_line_away(crew: Crew) -> None:
    crew.settle()
    mine = crew.record("gia-loc", qty=4)
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    crew.sent.add(mine)
    achieved = crew.achieved(crew.copies["gia-loc"], "5.2")
    assert crew.sync("province").exit_code == EXIT_OK
    evil = crew.copies["tu-ky"]
    assert crew.sync("tu-ky").exit_code == EXIT_OK
    git(evil, "revert", "--no-edit", "HEAD")
    git(evil, "push", "--quiet")
    reverted = git(evil, "rev-parse", "--short=10", "HEAD").strip()

    result = crew.sync("province")
    assert result.exit_code == EXIT_INVALID, result.stderr
    if crew.signed:
        assert (f"error: history/gia-loc.yaml: commit {reverted} by tu-ky <office@example.vn> "
                "is signed by tu-ky, and this is not a file of tu-ky's; refused, nothing from "
                "it counts") in result.stderr
    assert "history/gia-loc.yaml: origin/main no longer has 1 line this office had" \
        in result.stderr
    for office in ("gia-loc", "province", "gia-loc"):
        crew.sync(office)
    for office in ("province", "gia-loc"):
        assert crew.sent <= crew.ids(crew.copies[office]), office
    assert crew.achieved(crew.copies["province"], "5.2") == achieved


# --- 4. offices sign what they send -----------------------------------------------------------


@pytest.mark.usefixtures("outside")
@signed_only
def test_an_office_writing_in_anothers_file_is_refused_everywhere(crew: Crew) -> None:
    crew.settle()
    achieved = crew.achieved(crew.copies["gia-loc"], "5.2")
    evil = crew.copies["tu-ky"]
    # Through ocop: the entry goes to Gia Lộc's file, and ocop will not send it.
    forged = crew.record("tu-ky", qty=12, who="gia-loc")
    result = crew.sync("tu-ky")
    assert result.exit_code == EXIT_NOT_FOUND, result.stderr
    assert "ocop: error: history/gia-loc.yaml: not a file of tu-ky's, which this copy signs " \
           "as; nothing was sent" in result.stderr
    # Through git itself, signed by Tứ Kỳ.
    commit = push_as(evil, "giúp Gia Lộc")
    for office in ("province", "gia-loc"):
        result = crew.sync(office)
        assert result.exit_code == EXIT_INVALID, result.stderr
        assert (f"error: history/gia-loc.yaml: commit {commit} by tu-ky <office@example.vn> "
                "is signed by tu-ky, and this is not a file of tu-ky's; refused, nothing from "
                "it counts") in result.stderr
        assert forged not in crew.ids(crew.copies[office])
        assert crew.achieved(crew.copies[office], "5.2") == achieved
        again = crew.sync(office)
        assert again.exit_code == EXIT_OK, again.stderr
        assert forged not in crew.ids(crew.copies[office])
    # A fresh clone checks what it cloned: the forged line counts there neither.
    crew.copies["moi"] = fresh = crew.join("gia-loc", "moi")
    result = crew.sync("moi")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert f"commit {commit} by tu-ky" in result.stderr
    assert forged not in crew.ids(fresh) and crew.sent <= crew.ids(fresh)
    # Gia Lộc's own entries still go out, in the file that holds the forged line.
    mine = crew.record("gia-loc")
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    assert crew.sync("province").exit_code == EXIT_OK
    assert mine in crew.ids(crew.copies["province"]) and mine in crew.shared_ids()


@pytest.mark.usefixtures("outside")
def test_by_names_a_person_and_never_another_offices_file(crew: Crew) -> None:
    """Tứ Kỳ records "as" Gia Lộc with --by: the entry is Tứ Kỳ's, in Tứ Kỳ's file, and goes
    out as Tứ Kỳ's; Tứ Kỳ's undo never takes back Gia Lộc's entry."""
    crew.settle()
    evil = crew.copies["tu-ky"]
    if crew.signed:  # the key this copy signs with says who it is, whatever else is set
        git(evil, "config", "ocop.office", "gia-loc")
        crew.monkeypatch.setenv("OCOP_OFFICE", "gia-loc")
    else:  # an unsigned team names each copy's office in git's settings
        git(evil, "config", "ocop.office", "tu-ky")
    info = json.loads(crew.ocop(evil, "info", "--format", "json").stdout)
    assert (info["office"], info["office_found_by"], info["office_file"]) == (
        "tu-ky", "signed" if crew.signed else "configured", "history/tu-ky.yaml")
    before = (evil / "history" / "gia-loc.yaml").read_bytes()
    done = crew.ocop(evil, "progress", "5.2", "12", "--by", "Phòng NN Gia Lộc")
    assert done.exit_code == EXIT_OK, done.stderr
    assert (evil / "history" / "gia-loc.yaml").read_bytes() == before
    last = json.loads((evil / "history" / "tu-ky.yaml").read_text(
        encoding="utf-8").splitlines()[-1][2:])
    assert (last["task"], last["qty"], last["by"]) == ("5.2", 12, "Phòng NN Gia Lộc")
    sent = crew.sync("tu-ky")
    assert sent.exit_code == EXIT_OK, sent.stderr
    assert last["id"] in crew.shared_ids()
    # Gia Lộc records last; Tứ Kỳ's undo takes back Tứ Kỳ's own entry, and then nothing.
    theirs = crew.record("gia-loc")
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    assert crew.sync("tu-ky").exit_code == EXIT_OK
    undone = crew.ocop(evil, "undo")
    assert undone.exit_code == EXIT_OK, undone.stderr
    assert last["id"] in undone.stdout and theirs not in undone.stdout
    again = crew.ocop(evil, "undo")
    assert again.exit_code == EXIT_OK and theirs not in again.stdout
    shown = json.loads(crew.ocop(evil, "history", "5.2", "--format", "json").stdout)
    assert not next(row for row in shown if row["id"] == theirs)["undone"]


@pytest.mark.usefixtures("outside")
def test_product_undo_takes_back_only_the_offices_own_register_lines(crew: Crew) -> None:
    """Gia Lộc registers a product and sends it; at Tứ Kỳ, `ocop product undo` (of any
    product, or naming Gia Lộc's) takes back nothing of Gia Lộc's, and Tứ Kỳ's own line
    only once it has one."""
    crew.settle("gia-loc", "tu-ky")
    for office in ("gia-loc", "tu-ky"):  # what names an office of an unsigned team
        git(crew.copies[office], "config", "ocop.office", office)
    theirs = _add_product(lambda *args: crew.ocop(crew.copies["gia-loc"], *args))
    assert crew.sync("gia-loc").exit_code == EXIT_OK
    evil = crew.copies["tu-ky"]
    assert crew.sync("tu-ky").exit_code == EXIT_OK
    register = evil / "products" / "gia-loc.yaml"
    before = register.read_bytes()
    for args in ((), (theirs,)):
        refused = crew.ocop(evil, "product", "undo", *args)
        assert refused.exit_code == EXIT_NOT_FOUND
        assert first_line(refused).endswith(
            "nothing to undo in products/tu-ky.yaml, this office's own file")
    mine = _add_product(lambda *args: crew.ocop(evil, *args), name="Vải")
    undone = crew.ocop(evil, "product", "undo")
    assert undone.exit_code == EXIT_OK, undone.stderr
    assert mine in undone.stdout and theirs not in undone.stdout
    assert crew.ocop(evil, "product", "undo").exit_code == EXIT_NOT_FOUND
    assert register.read_bytes() == before
    shown = json.loads(crew.ocop(evil, "product", "list", "--format", "json").stdout)
    assert theirs in {row["id"] for row in shown}


@pytest.mark.parametrize("how", ["unsigned", "unlisted key"])
@signed_only
@pytest.mark.usefixtures("outside")
def test_a_commit_no_office_signed_is_refused(crew: Crew, how: str) -> None:
    crew.settle()
    evil = crew.copies["tu-ky"]
    if how == "unsigned":
        git(evil, "config", "commit.gpgsign", "false")
        why = "is not signed"
    else:
        git(evil, "config", "user.signingkey", str(crew.keys / "mallory"))
        why = "is signed with a key offices/allowed_signers does not list"
    forged = crew.record("tu-ky", qty=7)
    commit = push_as(evil, "không ký")
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert (f"error: history/tu-ky.yaml: commit {commit} by tu-ky <office@example.vn> {why}; "
            "refused, nothing from it counts") in result.stderr
    assert forged not in crew.ids(crew.copies["gia-loc"])
    assert crew.sent <= crew.ids(crew.copies["gia-loc"])


@pytest.mark.usefixtures("outside")
def test_a_plan_changed_by_an_office_counts_only_from_the_province(crew: Crew) -> None:
    crew.settle()
    evil = crew.copies["tu-ky"]
    plan = evil / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    at = text.index('  - id: "1.2"')
    plan.write_text(text[:at] + text[at:].replace('target: "12"', 'target: "1"', 1),
                    encoding="utf-8")
    commit = push_as(evil, "sửa chỉ tiêu")
    result = crew.sync("gia-loc")
    victim = crew.copies["gia-loc"]
    if crew.signed:
        assert result.exit_code == EXIT_INVALID, result.stderr
        assert (f"error: plan_2019.yaml: commit {commit} by tu-ky <office@example.vn> is signed "
                "by tu-ky, and this is not a file of tu-ky's; refused") in result.stderr
        assert 'target: "12"' in (victim / "plan_2019.yaml").read_text(encoding="utf-8")
        assert git(victim, "status", "--porcelain") == ""
    else:
        assert result.exit_code == EXIT_OK, result.stderr
        assert (f"warning: plan_2019.yaml: 1.2 target 12 → 1 (commit {commit} by tu-ky "
                "<office@example.vn>)") in result.stderr
    # From the province, a change counts, and is reported task by task.
    province = crew.copies["province"]
    crew.sync("province")
    ours = province / "plan_2019.yaml"
    text = ours.read_text(encoding="utf-8")
    at = text.index('  - id: "1.1"')
    ours.write_text(text[:at] + text[at:].replace('target: "1"', 'target: "2"', 1),
                    encoding="utf-8")
    if crew.signed:  # the plan held here is let go, as edited, for the province to commit
        held = crew.sync("province")
        assert held.exit_code == EXIT_NOT_FOUND, held.stderr
        assert "these files have changes that are not committed: plan_2019.yaml" in held.stderr
    changed = push_as(province, "Kế hoạch sửa đổi")
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_OK, result.stderr
    assert (f"warning: plan_2019.yaml: 1.1 target 1 → 2 (commit {changed} by Sở NN và PTNT "
            "<office@example.vn>)") in result.stderr
    assert "1.2 target" not in result.stderr
    assert 'target: "12"' in (victim / "plan_2019.yaml").read_text(encoding="utf-8") \
        or not crew.signed


@pytest.mark.usefixtures("outside")
def test_an_entry_id_copied_into_another_file_counts_from_the_first(crew: Crew) -> None:
    """Tứ Kỳ reuses the id of Gia Lộc's entry with "done": Gia Lộc's entry stands in every
    copy (a fresh clone of a signed team included), and sync names the copy, its commit and
    the first file.
    Unsigned, the copy goes in a file that comes first in file order (a-tu-ky.yaml): the
    first in git's history decides, not the name."""
    crew.settle()
    evil = crew.copies["tu-ky"]
    genuine = crew.sent_by["gia-loc"].copy().pop()
    theirs = evil / "history" / "gia-loc.yaml"
    line = next(x for x in theirs.read_text(encoding="utf-8").splitlines() if genuine in x)
    record = json.loads(line[2:])
    record.update(action="done", qty=12, by="tu-ky")
    name = "tu-ky.yaml" if crew.signed else "a-tu-ky.yaml"
    with (evil / "history" / name).open("a", encoding="utf-8") as out:
        out.write("- " + json.dumps(record, ensure_ascii=False) + "\n")
    commit = push_as(evil, "trùng mã")
    # A fresh clone checks what it cloned in a signed team; unsigned, it trusts it, as it
    # trusts whoever may push.
    if crew.signed:
        crew.copies["moi"] = crew.join("gia-loc", "moi")
    for office in ("gia-loc", "province", "moi")[:3 if crew.signed else 2]:
        root = crew.copies[office]
        before = crew.achieved(root, "5.2") if office != "moi" else None
        result = crew.sync(office)
        assert result.exit_code == EXIT_OK, result.stderr
        assert (f"warning: history/{name}: entry {genuine} (commit {commit}) is also in "
                "history/gia-loc.yaml, which had it first; it counts once, from there, and "
                "this copy is left out") in result.stderr
        counted = {e.id: e for e in storage.load(storage.Workspace(root)).entries}
        assert counted[genuine].action == "progress"
        assert counted[genuine].source.startswith("gia-loc.yaml:")
        if before is not None:
            assert crew.achieved(root, "5.2") == before
        assert crew.ocop(root, "check").exit_code == EXIT_OK
        assert crew.sync(office).exit_code == EXIT_OK  # said once; still left out
        assert storage.load(storage.Workspace(root)).entries  # readable
        assert {e.id: e for e in storage.load(storage.Workspace(root)).entries}[
            genuine].action == "progress"


@pytest.mark.parametrize("crew", [False], indirect=True, ids=["unsigned"])
@pytest.mark.usefixtures("outside")
def test_a_fresh_clone_counts_a_copied_id_from_the_file_first_committed(crew: Crew) -> None:
    """Unsigned, a fresh clone takes Tứ Kỳ's copy of Gia Lộc's entry id as it was pushed,
    in a file that sorts first: Gia Lộc's line, committed before, still counts there, with
    the index and without."""
    crew.settle()
    evil = crew.copies["tu-ky"]
    genuine = crew.sent_by["gia-loc"].copy().pop()
    line = next(x for x in (evil / "history" / "gia-loc.yaml").read_text(
        encoding="utf-8").splitlines() if genuine in x)
    record = json.loads(line[2:])
    record.update(action="done", qty=12, by="tu-ky")
    (evil / "history" / "a-tu-ky.yaml").write_text(
        "- " + json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    push_as(evil, "trùng mã")
    fresh = crew.join("gia-loc", "moi")
    achieved = crew.achieved(fresh, "5.2")
    crew.monkeypatch.setenv("OCOP_NO_INDEX", "1")
    assert crew.achieved(fresh, "5.2") == achieved == crew.achieved(crew.copies["gia-loc"],
                                                                     "5.2")
    counted = {e.id: e for e in storage.load(storage.Workspace(fresh)).entries}
    assert counted[genuine].source.startswith("gia-loc.yaml:")
    assert counted[genuine].action == "progress"


@pytest.mark.usefixtures("outside")
def test_an_undo_of_another_offices_entry_counts_nowhere(crew: Crew) -> None:
    """Tứ Kỳ writes in its own file an undo of Gia Lộc's entry: every other copy leaves it
    out, says so, and Gia Lộc's entry still counts."""
    crew.settle()
    evil = crew.copies["tu-ky"]
    genuine = crew.sent_by["gia-loc"].copy().pop()
    own = evil / "history" / "tu-ky.yaml"
    line = [x for x in own.read_text(encoding="utf-8").splitlines() if x.startswith("- {")][-1]
    record = json.loads(line[2:])
    record.update(id="0" * 19 + "1", action="undo", undoes=genuine, qty=None)
    with own.open("a", encoding="utf-8") as out:
        out.write("- " + json.dumps({k: v for k, v in record.items() if v is not None},
                                    ensure_ascii=False) + "\n")
    commit = push_as(evil, "hoàn tác hộ")
    for office in ("gia-loc", "province"):
        root = crew.copies[office]
        before = crew.achieved(root, "5.2")
        result = crew.sync(office)
        assert result.exit_code == EXIT_OK, result.stderr
        assert (f"warning: history/tu-ky.yaml: entry {record['id']} (commit {commit}) undoes "
                f"entry {genuine} of history/gia-loc.yaml: an office takes back only its own "
                "entries; it does not count") in result.stderr
        assert crew.achieved(root, "5.2") == before
        assert record["id"] not in crew.ids(root)


@pytest.mark.usefixtures("outside")
def test_an_undo_of_another_offices_entry_in_the_files_takes_nothing_back(crew: Crew) -> None:
    """The undo Tứ Kỳ wrote by hand in its own file stays there, in its copy and, unsigned,
    in a fresh clone that trusts what it clones: Gia Lộc's entry stands in both, read with
    the index and without it, and `check` names the undo, its line and the other file."""
    crew.settle()
    evil = crew.copies["tu-ky"]
    genuine = crew.sent_by["gia-loc"].copy().pop()
    before = crew.achieved(evil, "5.2")
    own = evil / "history" / "tu-ky.yaml"
    line = [x for x in own.read_text(encoding="utf-8").splitlines() if x.startswith("- {")][-1]
    record = json.loads(line[2:])
    record.update(id="0" * 19 + "2", action="undo", undoes=genuine, qty=None, place=None)
    with own.open("a", encoding="utf-8") as out:
        out.write("- " + json.dumps({k: v for k, v in record.items() if v is not None},
                                    ensure_ascii=False) + "\n")
    number = own.read_text(encoding="utf-8").count("\n")
    push_as(evil, "hoàn tác hộ")
    copies = [evil] if crew.signed else [evil, crew.join("gia-loc", "moi")]
    for root in copies:
        assert record["id"] in crew.ids(root)  # in the files, yet it takes nothing back
        with_index = crew.achieved(root, "5.2")
        crew.monkeypatch.setenv("OCOP_NO_INDEX", "1")
        assert crew.achieved(root, "5.2") == with_index == before
        history = json.loads(crew.ocop(root, "history", "--format", "json").stdout)
        assert not next(row for row in history if row["id"] == genuine)["undone"]
        crew.monkeypatch.delenv("OCOP_NO_INDEX")
        assert not next(row for row in json.loads(crew.ocop(
            root, "history", "--format", "json").stdout) if row["id"] == genuine)["undone"]
        checked = crew.ocop(root, "check")
        assert checked.exit_code == EXIT_OK
        assert (f"history/tu-ky.yaml:{number}: task 5.2: undo {record['id']} names entry "
                f"{genuine} of history/gia-loc.yaml, another office's file: an undo takes "
                "back only an entry of its own file, so it counts for nothing"
                ) in checked.stderr


@pytest.mark.usefixtures("outside")
def test_a_held_note_naming_paths_outside_is_never_followed(crew: Crew) -> None:
    crew.settle()
    root = crew.copies["gia-loc"]
    (root / ".ocop" / "held.json").write_text(json.dumps({
        "../../home/.bashrc": {"good": "echo PWNED\n"},
        "history/../../../home/.bashrc": {"good": "echo PWNED\n"},
        "/etc/hostname": {"good": "x"}}), encoding="utf-8")
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_OK, result.stderr
    assert (crew.home / ".bashrc").read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize("crew", [False], indirect=True, ids=["becoming signed"])
def test_a_team_that_begins_to_sign(crew: Crew) -> None:
    """The province makes the team sign; an office's commit made before it signed is signed
    again and counts; an office not yet listed still receives but cannot send."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("a team that signs needs ssh-keygen (OpenSSH)")
    crew.settle()
    early = crew.record("gia-loc")  # committed before Gia Lộc signs
    git(crew.copies["gia-loc"], "commit", "--quiet", "-am", "ghi sớm")
    province = crew.copies["province"]
    lines = [allowed_line(keygen(crew.keys, office), office) for office in ("province",
                                                                            "gia-loc")]
    signers.setup(province, str(crew.keys / "province"), None)
    (province / "offices").mkdir()
    (province / signers.ALLOWED).write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(province, "add", "offices")
    git(province, "commit", "--quiet", "-m", "Các đơn vị ký")
    assert crew.sync("province").exit_code == EXIT_OK

    root = crew.copies["gia-loc"]
    result = crew.sync("gia-loc")  # receives the team, and cannot send until it signs
    assert result.exit_code == EXIT_NOT_FOUND, result.stderr
    assert "this copy does not sign as any office listed there" in result.stderr
    assert crew.ocop(root, "sync", "--setup", "--key", str(crew.keys / "gia-loc")
                     ).exit_code == EXIT_OK
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_OK, result.stderr
    assert git(root, "-c", f"gpg.ssh.allowedSignersFile={root / signers.ALLOWED}",
                      "log", "-1", "--format=%G?", "origin/main").strip() == "G"
    result = crew.sync("tu-ky")  # not listed: receives all the same
    assert result.exit_code == EXIT_OK, result.stderr
    assert early in crew.ids(crew.copies["tu-ky"])
    crew.record("tu-ky")
    result = crew.sync("tu-ky")
    assert result.exit_code == EXIT_NOT_FOUND, result.stderr
    assert "this copy does not sign as any office listed there" in result.stderr
    result = crew.sync("province")
    assert result.exit_code == EXIT_OK, result.stderr
    assert early in crew.ids(province)


def test_a_signed_team_in_a_folder_of_a_larger_repository(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The office's files are named from the workspace, wherever it sits in the repository;
    paths outside it are not the workspace's to judge."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("a team that signs needs ssh-keygen (OpenSSH)")
    from tests.test_team import identify

    crew = Crew.__new__(Crew)
    crew.monkeypatch = monkeypatch
    keys = tmp_path / "keys"
    keys.mkdir()
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    git(shared, "symbolic-ref", "HEAD", "refs/heads/main")
    office = tmp_path / "so"
    git(tmp_path, "init", "--quiet", str(office))
    git(office, "symbolic-ref", "HEAD", "refs/heads/main")
    identify(office, "province")
    (office / "README.txt").write_text("Tài liệu khác\n", encoding="utf-8")
    province = office / "ocop-data"
    storage.init_workspace(province)
    lines = [allowed_line(keygen(keys, name), name) for name in ("province", "gia-loc")]
    (province / "offices").mkdir()
    (province / signers.ALLOWED).write_text("\n".join(lines) + "\n", encoding="utf-8")
    signers.setup(province, str(keys / "province"), None)
    git(office, "add", "--all")
    git(office, "commit", "--quiet", "-m", "start")
    git(office, "remote", "add", "origin", str(shared))
    git(office, "push", "--quiet", "--set-upstream", "origin", "main")
    district = tmp_path / "gia-loc"
    git(tmp_path, "clone", "--quiet", str(shared), str(district))
    identify(district, "gia-loc")
    root = district / "ocop-data"
    assert crew.ocop(root, "sync", "--setup", "--key", str(keys / "gia-loc")).exit_code == 0
    mine = progress(root, "gia-loc", "5.2", place="gia-loc")[0].id
    (district / "README.txt").write_text("Sửa tài liệu khác\n", encoding="utf-8")
    git(district, "commit", "--quiet", "-am", "tài liệu")
    result = crew.ocop(root, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    result = crew.ocop(province, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert mine in {e.id for e in storage.load(storage.Workspace(province)).entries}


def test_a_held_note_that_is_a_link_is_never_read(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    crew = Crew(tmp_path, False, monkeypatch)
    note = crew.copies["gia-loc"] / ".ocop" / "held.json"
    note.parent.mkdir(exist_ok=True)
    note.symlink_to("/dev/zero")
    result = crew.sync("gia-loc")
    assert result.exit_code == EXIT_OK, result.stderr
    assert not note.is_symlink()


@pytest.mark.parametrize("crew", [False], indirect=True, ids=["unsigned"])
def test_setup_prints_the_line_to_add_and_the_office_it_records_as(crew: Crew) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("a team that signs needs ssh-keygen (OpenSSH)")
    root = crew.copies["gia-loc"]
    key = keygen(crew.keys, "phong-nn-gia-loc")
    done = crew.ocop(root, "sync", "--setup", "--key", str(key))
    assert done.exit_code == EXIT_OK, done.stderr
    assert allowed_line(key, "phong-nn-gia-loc") in done.stdout.splitlines()
    assert "It records as phong-nn-gia-loc, into history/phong-nn-gia-loc.yaml; --by names " \
           "the person." in done.stdout
    assert done.stderr == ""
    assert [git(root, "config", name).strip() for name in
            ("gpg.format", "commit.gpgsign", "user.signingkey", "ocop.office")] == [
        "ssh", "true", str(key), "phong-nn-gia-loc"]
    unnamed = crew.ocop(root, "sync", "--setup", "--key", str(keygen(crew.keys, "Gia Lộc")))
    assert unnamed.exit_code == 2 and "'Gia Lộc' is no office id" in unnamed.stderr


# --- what an office may write by hand in its own files ---------------------------------------


def _add_product(ocop: Any, date: str = "2019-07-10", name: str = "Gà") -> str:
    added = ocop("product", "add", name, "--district", "Gia Lộc", "--commune", "Xã A",
                 "--entity", f"HTX {name}", "--kind", "htx", "--group", "thuc-pham", "--date", date)
    assert added.exit_code == EXIT_OK, added.stderr
    return str(added.stdout.split()[0])


def _hand_line(path: Path, **changes: Any) -> None:
    """A copy of the file's last line, changed, appended as a person would with an editor."""
    last = [x for x in path.read_text(encoding="utf-8").splitlines() if x.startswith("- {")][-1]
    record = {**json.loads(last[2:]), **changes}
    with path.open("a", encoding="utf-8") as out:
        out.write("- " + json.dumps(record, ensure_ascii=False) + "\n")


def test_a_hand_written_stage_that_skips_one_fails_check(ocop: Any, ws: Path) -> None:
    product = _add_product(ocop)
    assert ocop("product", "stage", product, "chosen", "--date", "2019-07-20").exit_code == 0
    assert ocop("check").exit_code == EXIT_OK
    _hand_line(ws / "products" / "tester.yaml", id="f" * 20, action="recognised",
               ref="1/QĐ-UBND", date="2019-08-01")
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    assert (f"products/tester.yaml:6: product {product}: recognised on 2019-08-01 skips a "
            "stage: after chosen comes only scored (district council), sent to the province, "
            "rejected") in result.stderr


@pytest.mark.parametrize("folder", ["history", "products"])
def test_a_damaged_line_in_the_middle_of_a_file_fails_check(ocop: Any, ws: Path,
                                                              folder: str) -> None:
    _add_product(ocop)
    assert ocop("done", "4", "--date", "2019-07-01").exit_code == EXIT_OK
    path = ws / folder / "tester.yaml"
    with path.open("a", encoding="utf-8") as out:
        out.write('- {"id": "0123", "at": "2019-07\n')
    assert ocop("done", "5", "--date", "2019-07-02").exit_code == EXIT_OK
    _add_product(ocop, "2019-07-03", "Vải")  # both files grow past the damage
    # Other commands read past it; the entries after it count.
    tasks = {t["id"]: t for t in ocop("tasks", "--format", "json").json()}
    assert tasks["5.1"]["status"] == "done"
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    assert f"error: {path}:" in result.stderr and "half-written or damaged" in result.stderr


def test_products_as_a_symbolic_link_is_refused_like_history(ocop: Any, ws: Path,
                                                             tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(ws / "products", ignore_errors=True)
    (ws / "products").symlink_to(elsewhere, target_is_directory=True)
    for args in (("check",), ("product", "list")):
        result = ocop(*args)
        assert result.exit_code == EXIT_INVALID
        assert f"{ws / 'products'}: is a symbolic link" in result.stderr
    assert ocop("product", "add", "Gà", "--district", "Gia Lộc", "--commune", "Xã A",
                "--entity", "HTX A", "--kind", "htx", "--group", "thuc-pham").exit_code \
        == EXIT_INVALID
    assert list(elsewhere.iterdir()) == []


def test_dates_whose_expiry_leaves_the_calendar_give_one_line(ws: Path, proc: Any) -> None:
    """A recognition on 9999-06-01 runs out in year 10002: refused when recorded; written by
    hand, every listing says so in one line, with the exit code of invalid data."""
    env = {"OCOP_DATA": str(ws)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = proc(*args, env=env)
        assert "Traceback" not in done.stderr
        return done

    added = run("product", "add", "Gà", "--district", "Gia Lộc", "--commune", "Xã A",
                "--entity", "HTX A", "--kind", "htx", "--group", "thuc-pham", "--date",
                "9999-01-10")
    product = added.stdout.split()[0]
    # After July 2025 a product goes from its commune to the province: no district stage.
    for args in (("stage", product, "sent", "--date", "9999-03-01"),
                 ("score", product, "80", "--council", "tinh", "--date", "9999-04-01")):
        assert run("product", *args).returncode == EXIT_OK
    refused = run("product", "stage", product, "recognised", "--ref", "1/QĐ", "--date",
                  "9999-06-01")
    assert refused.returncode == 1
    assert refused.stderr == ("ocop: error: a certificate of 9999-06-01 would run out after "
                              "9999-12-31, past the calendar; check --date\n")
    _hand_line(ws / "products" / "tester.yaml", id="f" * 20, action="recognised",
               ref="1/QĐ", date="9999-06-01", council=None, points=None)
    for args in (("product", "list"), ("product", "show", product), ("report",),
                 ("product", "report", "--months", "120"), ("check",)):
        done = run(*args, "--as-of", "9999-12-31")
        assert done.returncode == EXIT_INVALID, (args, done.stderr)
        assert (f"products/tester.yaml:7: product {product}: recognised on 9999-06-01, valid "
                "36 months, would run out after 9999-12-31, past the calendar; correct the date"
                ) in done.stderr
        if args != ("check",):
            assert len(done.stderr.splitlines()) == 1
