"""Synthetic ocop workspaces for the benchmark: plans of any size with Vietnamese titles,
the windows, units and targets the 2019 plan uses, agencies by the spellings of
data/agencies.yaml, and histories written line for line as `store.write.append` writes them.

Generation is deterministic (seeded) and cached: a workspace is made again only when its
size, seed or this generator changes. `python bench/generate.py TASKS ENTRIES [DIR]` makes
one by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 3
SEED = 1819
PLAN_YEAR = 2019
AS_OF = dt.date(2019, 9, 15)  # the day every benchmark command asks about
LAST_DAY = dt.date(2019, 12, 31)  # no entry is dated after it
RECORD_TASK = "1.1"  # never cancelled here, so `ocop progress 1.1 1` always records

WINDOWS = ["T6", "T6,7", "T7,8", "T6-8", "T7-9", "T7 - T12", "T 7-12", "T6-T12", "T 8-12",
           "T 6-12", "T9", "T10", "T9-11", "T10-12", "T11,12", "T8"]
UNITS_TARGETS = [
    ("Hội nghị", ["1", "12", "01"]), ("Lớp", ["1", "12", "15", "3-5"]),
    ("Cuốn", ["1", "500"]), ("Sản phẩm", ["12", "15-20", "30"]), ("HTX", ["20", "10"]),
    ("Cuộc", ["1-2", "01", "2"]), ("Chuyên mục, chuyên đề, lượt tin bài", ["15-20", "40"]),
    ("Mô hình", ["3", "5-7"]), (None, [None]),
]
VERBS = ["Tổ chức", "Triển khai", "Tập huấn", "Tuyên truyền về", "Biên soạn tài liệu về",
         "Hỗ trợ", "Kiện toàn", "Đánh giá, xếp hạng", "Tiếp nhận đăng ký", "Học tập kinh nghiệm về",
         "Phát triển", "Xây dựng", "Kiểm tra, giám sát", "Tổng kết"]
OBJECTS = ["Đề án OCOP", "sản phẩm OCOP", "hợp tác xã nông nghiệp", "ý tưởng sản phẩm",
           "chủ thể tham gia", "hội chợ OCOP", "chuỗi giá trị nông sản", "làng nghề truyền thống",
           "bộ máy quản lý, điều hành Đề án", "nhãn hiệu tập thể", "điểm giới thiệu sản phẩm",
           "cán bộ vận hành Đề án", "doanh nghiệp nhỏ và vừa", "truy xuất nguồn gốc"]
SCOPES = ["cấp tỉnh", "cấp huyện", "cấp xã", "năm 2019", "giai đoạn 2018 - 2020",
          "tại các huyện, thị xã, thành phố", "cho người lao động nông thôn", "đợt 1", "đợt 2"]
SUB_TITLES = ["Cấp tỉnh", "Cấp huyện", "Cấp xã", "Đợt 1", "Đợt 2", "Khu vực phía Bắc",
              "Khu vực phía Nam"]
NOTES = ["đã có 4 HTX nộp hồ sơ", "thiếu kinh phí, chờ bổ sung", "chờ ý kiến của BCĐ tỉnh",
         "đã gửi báo cáo về Sở NN và PTNT", "lùi sang quý IV", "Gia Lộc xong trước hạn",
         "đang hoàn thiện hồ sơ, tài liệu"]
RECORDERS = ["Chi cục PTNT", "Phòng NN Gia Lộc", "Phòng NN Kinh Môn", "Phòng Kinh tế TP Hải Dương",
             "Phòng NN Thanh Hà", "Phòng NN Tứ Kỳ", "Văn phòng điều phối NTM", "Sở Công Thương"]
DISTRICTS = ["tp-hai-duong", "tp-chi-linh", "binh-giang", "cam-giang", "gia-loc", "kim-thanh",
             "kinh-mon", "nam-sach", "ninh-giang", "thanh-ha", "thanh-mien", "tu-ky"]
# The leads and partners the 2019 table uses, by the table's own spellings; more come from
# agencies.yaml so that every spelling style appears.
COMMON_LEADS = ["Sở NN và PTNT", "Sở NN và PTNT", "Sở NN và PTNT", "BCĐ tỉnh", "Ban chỉ đạo tỉnh",
                "BCĐ cấp tỉnh", "UBND tỉnh", "Chi cục PTNT", "BCĐ cấp huyện", "BCĐ xã"]
COMMON_PARTNERS = ["Chi cục PTNT", "các đơn vị tư vấn", "BCĐ huyện, TP", "BCĐ các huyện, TP",
                   "BCD huyện, TP", "Sở Công thương", "Đài PTTH tỉnh", "Báo Hải Dương",
                   "chủ thể tham gia", "Phòng NN & PTNT các huyện, TP", "các đơn vị liên quan"]


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def spellings(agencies_yaml: Path) -> list[str]:
    import yaml

    data = yaml.safe_load(agencies_yaml.read_text(encoding="utf-8"))
    found = []
    for agency in data["agencies"]:
        found += [agency["short"], agency["name"], *agency.get("aliases", [])]
    return found


def plan_tasks(count: int, names: list[str], rng: random.Random) -> list[dict[str, Any]]:
    """`count` rows and sub-rows; about one row in five has 2 to 4 sub-rows, like the 2019
    table. Row 1 always has sub-rows so that 1.1 exists."""
    tasks: list[dict[str, Any]] = []
    row = 0
    while len(tasks) < count:
        row += 1
        room = count - len(tasks)
        subs = rng.randint(2, 4) if (row == 1 or rng.random() < 0.2) and room >= 3 else 0
        subs = min(subs, room - 1)
        title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(SCOPES)}"
        if subs:
            tasks.append({"id": str(row), "title": title, "section": f"II.{rng.randint(1, 6)}"})
            for sub in range(1, subs + 1):
                tasks.append(_leaf(f"{row}.{sub}", rng.choice(SUB_TITLES), names, rng))
        else:
            tasks.append(_leaf(str(row), title, names, rng))
    return tasks


def _leaf(task_id: str, title: str, names: list[str], rng: random.Random) -> dict[str, Any]:
    unit, targets = rng.choice(UNITS_TARGETS)
    target = rng.choice(targets)
    pool = COMMON_PARTNERS + rng.sample(names, 3)
    task: dict[str, Any] = {
        "id": task_id, "title": title, "unit": unit, "target": target,
        "lead": rng.choice(COMMON_LEADS) if rng.random() < 0.8 else rng.choice(names),
        "partners": rng.sample(pool, rng.randint(0, 4)),
        "window": rng.choice(WINDOWS), "section": f"II.{rng.randint(1, 6)}",
    }
    if target == "12" and unit in ("Hội nghị", "Lớp"):
        task["per_district"] = True
    if rng.random() < 0.05:
        task["notes"] = [rng.choice(NOTES)]
    return task


def plan_yaml(tasks: list[dict[str, Any]]) -> str:
    out = [
        "# yaml-language-server: $schema=schema/plan.schema.json",
        f"# A synthetic plan of {len(tasks)} tasks for the benchmark (bench/generate.py).",
        "",
        "number: 1819/KH-UBND",
        f"year: {PLAN_YEAR}",
        "title: Thực hiện Đề án “Mỗi xã một sản phẩm tỉnh Hải Dương giai đoạn 2018 - 2020, "
        "định hướng đến năm 2030” năm 2019 (bản thử tải)",
        "kind: Kế hoạch",
        "issuer: UBND tỉnh",
        "dated: 2019-06-07",
        "",
        "tasks:",
    ]
    for task in tasks:
        out.append(f"  - id: {_q(task['id'])}")
        out.append(f"    title: {_q(task['title'])}")
        for key in ("unit", "target", "lead"):
            if key in task:
                out.append(f"    {key}: {_q(task[key]) if task[key] is not None else 'null'}")
        if task.get("partners"):
            out.append("    partners:")
            out += [f"      - {_q(p)}" for p in task["partners"]]
        if "window" in task:
            out.append(f"    window: {task['window']}")
        out.append(f"    section: {task['section']}")
        if task.get("per_district"):
            out.append("    per_district: true")
        if task.get("notes"):
            out.append("    notes:")
            out += [f"      - {_q(n)}" for n in task["notes"]]
    return "\n".join(out) + "\n"


def history(leaves: list[str], count: int, rng: random.Random) -> dict[str, list[Any]]:
    """`count` entries over the plan's second half-year, by several recorders: mostly
    progress with a quantity and a district, then notes, starts, dones, a few undos."""
    from ocop_cli.core.model import Entry

    start = dt.datetime(2019, 6, 10, 1, tzinfo=dt.UTC).timestamp()
    end = dt.datetime.combine(LAST_DAY, dt.time(10), tzinfo=dt.UTC).timestamp()
    stamps = sorted(rng.uniform(start, end) for _ in range(count))
    by_file: dict[str, list[Entry]] = {r: [] for r in RECORDERS}
    seen: set[str] = set()
    for stamp in stamps:
        recorder = rng.choice(RECORDERS)
        mine = by_file[recorder]
        at = dt.datetime.fromtimestamp(stamp, dt.UTC)
        entry_id = f"{int(stamp * 1000):012x}{rng.getrandbits(32):08x}"
        while entry_id in seen:
            entry_id = f"{int(stamp * 1000):012x}{rng.getrandbits(32):08x}"
        seen.add(entry_id)
        task = rng.choice(leaves)
        roll = rng.random()
        fields: dict[str, Any] = {}
        if roll < 0.55:
            action = "progress"
            fields["qty"] = rng.randint(1, 3)
            if rng.random() < 0.6:
                fields["place"] = rng.choice(DISTRICTS)
        elif roll < 0.75:
            action, fields["note"] = "note", rng.choice(NOTES)
        elif roll < 0.85:
            action = "start"
        elif roll < 0.93:
            action = "done"
        elif roll < 0.95:
            action = "reopen"
        elif roll < 0.96 and task != RECORD_TASK:
            action, fields["note"] = "cancel", "không bố trí được kinh phí"
        elif mine:
            action = "undo"
            target = mine[rng.randrange(max(0, len(mine) - 50), len(mine))]
            task, fields["undoes"] = target.task, target.id
        else:
            action = "start"
        if action != "undo" and rng.random() < 0.15:
            fields["ref"] = f"{rng.randint(1, 999)}/BC-{rng.choice(['SNN', 'UBND', 'PTNT'])}"
        mine.append(Entry(
            id=entry_id, at=at.isoformat(timespec="microseconds"),
            date=(at - dt.timedelta(days=rng.randint(0, 3))).date(), task=task, action=action,
            by=recorder, **fields))
    return {r: e for r, e in by_file.items() if e}


def make(root: Path, tasks: int, entries: int) -> Path:
    """The workspace at `root`, made again only when its recipe changed."""
    from ocop_cli.store import storage, write

    recipe = {"generator": GENERATOR_VERSION, "seed": SEED, "tasks": tasks, "entries": entries}
    stamp = root.with_name(root.name + ".recipe.json")
    if stamp.exists() and root.is_dir() and json.loads(stamp.read_text()) == recipe:
        return root
    if root.exists():
        shutil.rmtree(root)
    stamp.unlink(missing_ok=True)
    ws = storage.init_workspace(root)
    rng = random.Random(f"{SEED}-{tasks}-{entries}")
    rows = plan_tasks(tasks, spellings(ws.agencies_path), rng)
    (root / f"plan_{PLAN_YEAR}.yaml").write_text(plan_yaml(rows), encoding="utf-8")
    parents = {t["id"].rpartition(".")[0] for t in rows if "." in t["id"]}
    leaves = [t["id"] for t in rows if t["id"] not in parents]
    for recorder, got in history(leaves, entries, rng).items():
        write.append(write.recorder_file(ws, recorder), got, inside=ws.root)
    # Kept beside the workspace, not in it: the taskwarrior export reads it.
    root.with_name(root.name + ".tasks.json").write_text(
        json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    stamp.write_text(json.dumps(recipe))
    return root


def month_end(month: int) -> dt.date:
    if month == 12:
        return dt.date(PLAN_YEAR, 12, 31)
    return dt.date(PLAN_YEAR, month + 1, 1) - dt.timedelta(days=1)


def taskwarrior_tasks(root: Path, today: dt.date) -> list[dict[str, Any]]:
    """The same tasks for `task import`. A window's last day becomes the due date, moved so
    that today stands where AS_OF stands in the plan year: `task overdue` then lists the
    tasks whose window ended before AS_OF, as `ocop tasks --overdue` does."""
    from ocop_cli.core.text import fold
    from ocop_cli.core.windows import months_of

    rows = json.loads(root.with_name(root.name + ".tasks.json").read_text(encoding="utf-8"))
    shift = today - AS_OF
    created = dt.datetime(2019, 6, 7, tzinfo=dt.UTC) + shift
    out = []
    for row in rows:
        task: dict[str, Any] = {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ocop-bench/{root.name}/{row['id']}")),
            "status": "pending",
            "description": f"{row['id']} {row['title']}",
            "entry": created.strftime("%Y%m%dT%H%M%SZ"),
            "project": "ocop",
        }
        if row.get("window"):
            due = month_end(months_of(row["window"])[-1]) + shift
            task["due"] = f"{due:%Y%m%d}T160000Z"
        if row.get("unit"):
            task["tags"] = ["dvt_" + re.sub(r"[^a-z0-9]+", "_", fold(row["unit"])).strip("_")]
        out.append(task)
    return out


if __name__ == "__main__":
    size, count = int(sys.argv[1]), int(sys.argv[2])
    folder = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(f"bench/out/ws/t{size}-h{count}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    print(make(folder, size, count))
