"""Time one `ocop sync` in a team of 13 offices and in one of 120, as a commune-level province
has after July 2025: the budget is that a sync at 120 takes no more than 1.5 times one at 13.

    python bench/sync.py               # 13 and 120 offices, 9 rounds each
    python bench/sync.py --rounds 3    # quicker
    python bench/sync.py --offices 13 40 120

For each size: a bare shared repository whose history holds every office's file (100 entries
each, one commit per office), the measured office's clone, and three other offices' clones.
Before each round, untimed: the three others record an entry each and push it, and the
measured office records one. Timed: the measured office's `ocop sync` as a process, which
receives three commits and sends one. Printed: the median and the range per size, and the
ratio to the smallest size. Everything lives in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.5  # a sync at the largest size against one at the smallest
PER_OFFICE = 100  # entries already in each office's file


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} in {cwd}: {done.stderr}")
    return done.stdout


def entry_line(office: str, number: int) -> str:
    record = {"id": uuid.uuid4().hex[:20], "at": f"2019-09-01T08:{number % 60:02d}:00+00:00",
              "date": f"2019-{6 + number % 6:02d}-{1 + number % 28:02d}", "task": "1.1",
              "action": "progress", "qty": 1, "by": office, "plan": 2019}
    return "- " + json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"


def ocop(*args: str, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "ocop_cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ocop {' '.join(args)} in {cwd}: {done.stderr}")


def clone(base: Path, shared: Path, name: str) -> Path:
    path = base / name
    git(base, "clone", "--quiet", str(shared), str(path))
    for key, value in (("user.name", name), ("user.email", f"{name}@example.vn"),
                       ("gc.auto", "0"), ("maintenance.auto", "false")):
        git(path, "config", key, value)
    return path


def team(base: Path, offices: int, env: dict[str, str]) -> tuple[Path, list[Path]]:
    """A shared repository with `offices` history files; the measured clone and three
    others."""
    shared = base / "shared.git"
    git(base, "init", "--quiet", "--bare", str(shared))
    git(shared, "symbolic-ref", "HEAD", "refs/heads/main")
    province = base / "province"
    ocop("init", str(province), cwd=base, env=env)
    git(province, "init", "--quiet")
    git(province, "symbolic-ref", "HEAD", "refs/heads/main")
    for key, value in (("user.name", "province"), ("user.email", "province@example.vn")):
        git(province, "config", key, value)
    git(province, "add", "--all")
    git(province, "commit", "--quiet", "-m", "plan")
    for number in range(offices):
        name = f"xa-{number:03d}"
        lines = "".join(entry_line(name, n) for n in range(PER_OFFICE))
        (province / "history" / f"{name}.yaml").write_text(lines, encoding="utf-8")
        git(province, "add", "history")
        git(province, "commit", "--quiet", "-m", f"ocop: {PER_OFFICE} new entries ({name})")
    git(province, "remote", "add", "origin", str(shared))
    git(province, "push", "--quiet", "--set-upstream", "origin", "main")
    clones = [clone(base, shared, f"xa-{number:03d}") for number in range(4)]
    for path in clones:
        ocop("sync", cwd=path, env=env)  # each takes in the shared copy once, untimed
    return shared, clones


def record(path: Path, round_: int) -> None:
    own = path / "history" / f"{path.name}.yaml"
    with own.open("a", encoding="utf-8") as out:
        out.write(entry_line(path.name, 1000 + round_))


def measure(offices: int, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="ocop-bench-sync-") as folder:
        base = Path(folder)
        env = {**os.environ, "HOME": str(base), "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": str(base / "no-gitconfig"), "GIT_TERMINAL_PROMPT": "0",
               "OCOP_AS_OF": "2019-09-15", "PYTHONPATH": str(ROOT)}
        env.pop("OCOP_DATA", None)
        _shared, (measured, *others) = team(base, offices, env)
        times = []
        for round_ in range(rounds):
            for other in others:
                record(other, round_)
                ocop("sync", cwd=other, env=env)
            record(measured, round_)
            started = time.perf_counter()
            ocop("sync", cwd=measured, env=env)
            times.append(time.perf_counter() - started)
        return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offices", type=int, nargs="+", default=[13, 120])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    medians = {}
    print(f"one ocop sync receiving 3 commits and sending 1 ({args.rounds} rounds)")
    print(f"{'offices':>8} {'median s':>9} {'min-max s':>13} {'ratio':>6}")
    for offices in args.offices:
        times = measure(offices, args.rounds)
        medians[offices] = statistics.median(times)
        ratio = medians[offices] / medians[args.offices[0]]
        print(f"{offices:>8} {medians[offices]:>9.3f} {min(times):>6.3f}-{max(times):.3f} "
              f"{ratio:>6.2f}", flush=True)
    ratio = medians[args.offices[-1]] / medians[args.offices[0]]
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"budget: {args.offices[-1]} offices at most {BUDGET}x {args.offices[0]}: "
          f"{ratio:.2f}x, {verdict}")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
