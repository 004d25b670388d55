"""`ocop remind`: who is reminded of what on the as-of date (tasks due within N days or
exactly N days ahead, overdue ones always, oldest first), grouped by the agency that answers
for them; the letters it writes and the mail it sends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.followup import Notice
from ocop_cli.store.storage import locate
from ocop_cli.tracker.remind import Selection, notices
from ocop_cli.tracker.tracker import Tracker

D = dt.date


def reminded(ws: Path, as_of: dt.date, within: int = 7, at: tuple[int, ...] = (),
             agency: str | None = None) -> dict[str, Notice]:
    tracker = Tracker(locate(str(ws)), None, as_of)
    loaded = tracker.load()
    who = tracker.agency(loaded, agency, "--agency") if agency else None
    found = notices(loaded, tracker.states(loaded), as_of, Selection(within, at, who))
    return {notice.agency: notice for notice in found}


def tasks_of(notice: Notice) -> list[tuple[str, str | None]]:
    return [(item.task, item.place) for item in notice.items]


def test_within_n_days_and_overdue_always_oldest_first(ws: Path) -> None:
    # On 24/08/2019 task 4 (T6-8) is due in 7 days, 1.2 (T6,7) 24 days late.
    found = reminded(ws, D(2019, 8, 24), within=7)
    so = found["so-nn-ptnt"]
    assert tasks_of(so)[0] == ("1.2", None)  # late first
    assert ("4", None) in tasks_of(so)
    late = so.items[0]
    assert (late.cls, late.days_late, late.due_date) == ("open_late", 24, D(2019, 7, 31))
    four = next(i for i in so.items if i.task == "4")
    assert (four.cls, four.days_left, four.days_late) == ("open_in_time", 7, 0)
    # one day less of warning: task 4 is no longer asked about, the late ones still are
    fewer = reminded(ws, D(2019, 8, 24), within=6)["so-nn-ptnt"]
    assert ("4", None) not in tasks_of(fewer) and ("1.2", None) in tasks_of(fewer)
    # overdue ones of every agency, the oldest first: 1.1 (T6) for UBND tỉnh
    assert tasks_of(found["ubnd-tinh"]) == [("1.1", None)]
    days = [item.days_late for item in so.items]
    assert days == sorted(days, reverse=True)


def test_at_gives_the_tasks_exactly_so_many_days_ahead(ws: Path) -> None:
    def due_soon(day: dt.date) -> set[str]:
        found = reminded(ws, day, at=(7, 3, 1))
        return {item.task for n in found.values() for item in n.items if not item.days_late}

    assert "4" in due_soon(D(2019, 8, 24))  # 7 days before 31/08
    assert "4" not in due_soon(D(2019, 8, 25))  # 6
    assert "4" in due_soon(D(2019, 8, 28))  # 3
    assert "4" in due_soon(D(2019, 8, 30))  # 1
    assert "4" not in due_soon(D(2019, 8, 31))  # the day itself: not in 7,3,1


def test_done_and_cancelled_tasks_are_not_reminded(ocop: Any, ws: Path) -> None:
    env = {"OCOP_AS_OF": "2019-08-24"}
    assert ocop("done", "4", "--date", "2019-08-20", env=env).exit_code == 0
    assert ocop("cancel", "1.1", "--note", "gộp với hội nghị khác", env=env).exit_code == 0
    found = reminded(ws, D(2019, 8, 24))
    every = {(a, item.task) for a, n in found.items() for item in n.items}
    assert ("so-nn-ptnt", "4") not in every
    assert "ubnd-tinh" not in found


def test_each_unit_is_reminded_of_its_own_share(ocop: Any, ws: Path) -> None:
    env = {"OCOP_AS_OF": "2019-08-05"}
    assert ocop("progress", "1.2", "1", "--place", "Gia Lộc", "--date", "2019-07-10",
                env=env).exit_code == 0
    found = reminded(ws, D(2019, 8, 5))
    assert ("1.2", "Gia Lộc") not in tasks_of(found["gia-loc"])  # its share is done
    nam_sach = next(item for item in found["nam-sach"].items if item.task == "1.2")
    # its own share: Gia Lộc's entry is not Nam Sách's report
    assert (nam_sach.place, nam_sach.days_late, nam_sach.last_entry) == ("Nam Sách", 5, None)
    assert nam_sach.target == "1"
    # the lead is reminded of the whole, with the latest entry of anyone on it
    whole = next(item for item in found["so-nn-ptnt"].items if item.task == "1.2")
    assert (whole.place, whole.last_entry, whole.target) == (None, D(2019, 7, 10), "12")
    # 3.2 is led by the group of the units themselves: each unit is reminded, not the group
    assert "bcd-huyen" not in found
    assert ("3.2", "Gia Lộc") in tasks_of(found["gia-loc"])


def test_agency_narrows_and_the_formats_say_the_same(ocop: Any, ws: Path) -> None:
    found = reminded(ws, D(2019, 8, 24), agency="so nn va ptnt")
    assert list(found) == ["so-nn-ptnt"]
    env = {"OCOP_AS_OF": "2019-08-24"}
    doc = ocop("remind", "--agency", "so nn va ptnt", "--format", "json", env=env).json()
    assert [a["id"] for a in doc["agencies"]] == ["so-nn-ptnt"]
    assert [t["task"] for t in doc["agencies"][0]["tasks"]] == \
        [item.task for item in found["so-nn-ptnt"].items]
    csv = ocop("remind", "--agency", "so nn va ptnt", "--format", "csv", env=env).stdout
    assert csv.splitlines()[0].startswith("Agency,Task,Deadline")
    assert len(csv.splitlines()) == 1 + len(found["so-nn-ptnt"].items)
    table = ocop("remind", "--lang", "vi", env=env | {"COLUMNS": "200"}).stdout
    assert "muộn 24 ngày (hạn 31/07/2019)" in table
    assert "chưa có báo cáo" in table


@pytest.mark.parametrize("at", ["7,x", "-1", "400"])
def test_a_wrong_at_is_a_usage_error(ocop: Any, at: str) -> None:
    result = ocop("remind", "--at", at, env={"OCOP_AS_OF": "2019-08-24"})
    assert result.exit_code == 2 and "--at" in result.stderr


# --- the letter (công văn đôn đốc) -----------------------------------------------------------


def paragraphs(path: Path) -> list[str]:
    from docx import Document

    book = Document(str(path))
    found = []
    for table in book.tables:
        for cell in table.rows[0].cells:
            found += [p.text for p in cell.paragraphs if p.text]
    return found + [p.text for p in book.paragraphs if p.text]


def test_the_letter_reads_as_a_cong_van(ocop: Any, ws: Path, tmp_path: Path) -> None:
    env = {"OCOP_AS_OF": "2019-08-24"}
    result = ocop("remind", "--agency", "so nn", "--lang", "vi", "--output",
                  str(tmp_path / "out"), "--number", "215", "--dated", "26/08/2019", env=env)
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["cong-van-don-doc-so-nn-ptnt.docx"]
    text = paragraphs(tmp_path / "out" / files[0])
    # the header: the issuing body, its number as a công văn has it, V/v under it
    number = text.index("Số: 215/SNN")
    assert text[number + 1] == "V/v đôn đốc thực hiện nhiệm vụ theo Kế hoạch số 1819/KH-UBND"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Hải Dương, ngày 26 tháng 8 năm 2019" in text
    to = text.index("Kính gửi: Sở Nông nghiệp và Phát triển nông thôn")
    body = text[to + 1:]
    assert body[1] == "1. 1.2. Hội nghị triển khai Đề án: Hội nghị cấp huyện: muộn 24 ngày " \
        "(hạn 31/07/2019); chưa có báo cáo."
    assert any(line.startswith("Đề nghị Sở Nông nghiệp và Phát triển nông thôn khẩn trương")
               and line.endswith("trước ngày 31/08/2019.") for line in body)
    assert "Nơi nhận:" in text and "- Như trên;" in text
    # an existing letter is not replaced without --force
    again = ocop("remind", "--agency", "so nn", "--output", str(tmp_path / "out"), env=env)
    assert again.exit_code != 0 and "--force" in again.stderr


# --- the mail: a real SMTP server in the test process ----------------------------------------


class Inbox:
    """What the server received; it refuses any address starting with "refuse"."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        self.received.append((envelope.rcpt_tos[:],
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Any:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def give_email(ws: Path, agency: str, *addresses: str) -> None:
    """`email:` for the agency in agencies.yaml, under its short name."""
    path = ws / "agencies.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index(f"  - id: {agency}\n")
    lines.insert(at + 2, f"    email: [{', '.join(addresses)}]\n")
    path.write_text("".join(lines), encoding="utf-8")


def mail_env(inbox: Any, **more: str) -> dict[str, str]:
    return {"OCOP_AS_OF": "2019-08-24", "OCOP_SMTP_HOST": "127.0.0.1",
            "OCOP_SMTP_PORT": str(inbox.port), "OCOP_SMTP_FROM": "chicuc@snn.example.vn",
            "OCOP_SMTP_SECURITY": "none", **more}


def test_send_mails_each_agency_its_letter_once_and_records_it(ocop: Any, ws: Path,
                                                                 smtp: Any) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn", "ccptnt@snn.example.vn")
    give_email(ws, "gia-loc", "phongnn@gialoc.example.vn")
    env = mail_env(smtp)
    result = ocop("remind", "--send", "--lang", "vi", env=env)
    assert result.exit_code == 0, result.stderr
    assert len(smtp.received) == 2
    by_to = {tuple(to): mail for to, mail in smtp.received}
    mail = by_to[("vanphong@snn.example.vn", "ccptnt@snn.example.vn")]
    assert mail["From"] == "chicuc@snn.example.vn"
    assert mail["Subject"] == "V/v đôn đốc thực hiện nhiệm vụ theo Kế hoạch số 1819/KH-UBND"
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("Kính gửi: Sở Nông nghiệp và Phát triển nông thôn")
    assert "1.2. Hội nghị triển khai Đề án: Hội nghị cấp huyện: muộn 24 ngày" in body
    attached = next(mail.iter_attachments())
    assert attached.get_filename() == "cong-van-don-doc-so-nn-ptnt.docx"
    from io import BytesIO

    from docx import Document

    letter = Document(BytesIO(attached.get_content()))
    assert "Kính gửi: Sở Nông nghiệp và Phát triển nông thôn" in [
        p.text for p in letter.paragraphs]
    # an agency without an address is named, not skipped silently
    assert "UBND tỉnh: chưa có địa chỉ thư điện tử" in result.stderr
    assert "Sở NN và PTNT: đã gửi 4 nội dung đôn đốc" in result.stdout
    # the history says who was reminded of what, with the message id
    history = ocop("history", "--format", "json", env=env).json()
    reminded = [e for e in history if e["action"] == "remind"]
    assert {(e["task"], e["place"]) for e in reminded if e["place"] == "Sở NN và PTNT"} == {
        ("1.2", "Sở NN và PTNT"), ("4", "Sở NN và PTNT"), ("5.1", "Sở NN và PTNT"),
        ("5.2", "Sở NN và PTNT")}
    assert {e["ref"] for e in reminded if e["place"] == "Sở NN và PTNT"} == {mail["Message-ID"]}
    table = ocop("history", "--lang", "vi", env=env).stdout
    assert "đôn đốc" in table
    # a reminder is no progress: the tasks read as before, and undo passes over it
    shown = ocop("show", "4", "--format", "json", env=env).json()
    assert (shown["status"], shown["completed"], shown["history"][-1]["action"]) == \
        ("not_started", None, "remind")
    rows = ocop("report", "--agency", "so nn", "--format", "json", env=env).json()["tasks"]
    assert next(r for r in rows if r["id"] == "4")["ref"] is None  # its message id no proof
    assert ocop("undo", env=env).exit_code != 0  # nothing of progress to take back
    # run again on the same day: nothing sent twice
    again = ocop("remind", "--send", env=env)
    assert again.exit_code == 0 and len(smtp.received) == 2
    assert "Nothing new to send." in again.stdout


def test_a_schedule_at_7_3_1_sends_each_day_once(ocop: Any, ws: Path, smtp: Any) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn")
    for day, sent in (("2019-08-24", 1), ("2019-08-24", 1), ("2019-08-25", 1),
                      ("2019-08-28", 2)):
        env = mail_env(smtp, OCOP_AS_OF=day)
        assert ocop("remind", "--send", "--at", "7,3,1", "--agency", "so nn",
                    env=env).exit_code == 0
        assert len(smtp.received) == sent, day
    # 28/08 (3 days before 31/08) reminds of task 4 again; 1.2 (late) only once
    last = smtp.received[-1][1].get_body(("plain",)).get_content()
    assert "4. Biên soạn" in last and "1.2." not in last


def test_dry_run_sends_and_records_nothing(ocop: Any, ws: Path, smtp: Any) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn")
    env = mail_env(smtp)
    result = ocop("remind", "--send", "--dry-run", env=env)
    assert result.exit_code == 0
    assert "Sở NN và PTNT: would send 4 reminders to vanphong@snn.example.vn" in result.stdout
    assert smtp.received == []
    assert not [e for e in ocop("history", "--format", "json", env=env).json()
                if e["action"] == "remind"]


def test_a_refused_message_is_one_line_exit_1_and_the_others_are_sent(
        ocop: Any, ws: Path, smtp: Any) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn")
    give_email(ws, "gia-loc", "refuse@gialoc.example.vn")
    env = mail_env(smtp)
    result = ocop("remind", "--send", env=env)
    assert result.exit_code == 1
    refused = [line for line in result.stderr.splitlines() if "not sent to" in line]
    assert refused == ["Gia Lộc: not sent to refuse@gialoc.example.vn: "
                       "refuse@gialoc.example.vn: 550 5.1.1 mailbox unavailable"]
    assert [to for to, _mail in smtp.received] == [["vanphong@snn.example.vn"]]
    # what was not sent is not recorded: the next run tries it again
    places = {e["place"] for e in ocop("history", "--format", "json", env=env).json()
              if e["action"] == "remind"}
    assert places == {"Sở NN và PTNT"}


def test_a_server_that_cannot_be_reached_or_will_not_secure_is_exit_1(
        ocop: Any, ws: Path, smtp: Any) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn")
    give_email(ws, "gia-loc", "phongnn@gialoc.example.vn")
    closed = mail_env(smtp, OCOP_SMTP_PORT=str(free_port()))
    result = ocop("remind", "--send", env=closed)
    assert result.exit_code == 1
    assert len([line for line in result.stderr.splitlines() if "not sent to" in line]) == 2
    # STARTTLS is the default: a server without it is refused, nothing goes in clear
    plain = mail_env(smtp)
    del plain["OCOP_SMTP_SECURITY"]
    result = ocop("remind", "--send", env=plain)
    assert result.exit_code == 1 and "STARTTLS" in result.stderr
    assert smtp.received == []


def test_send_without_settings_says_what_is_missing(ocop: Any, ws: Path) -> None:
    result = ocop("remind", "--send", env={"OCOP_AS_OF": "2019-08-24"})
    assert result.exit_code == 2 and "OCOP_SMTP_HOST" in result.stderr


def test_a_bad_email_in_agencies_yaml_is_refused_naming_it(ocop: Any, ws: Path) -> None:
    give_email(ws, "gia-loc", "'Gia Loc <x@y.vn>, z@w.vn'")
    result = ocop("remind", env={"OCOP_AS_OF": "2019-08-24"})
    assert result.exit_code == 3 and "agencies.yaml" in result.stderr and "email" in result.stderr


def test_send_with_output_writes_the_letters_and_sends_them(ocop: Any, ws: Path, smtp: Any,
                                                            tmp_path: Path) -> None:
    give_email(ws, "so-nn-ptnt", "vanphong@snn.example.vn")
    out = tmp_path / "out"
    result = ocop("remind", "--send", "--agency", "so nn", "--output", str(out),
                  env=mail_env(smtp))
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["cong-van-don-doc-so-nn-ptnt.docx"]
    assert [to for to, _mail in smtp.received] == [["vanphong@snn.example.vn"]]
    attached = next(smtp.received[0][1].iter_attachments()).get_content()
    assert attached == (out / "cong-van-don-doc-so-nn-ptnt.docx").read_bytes()


# --- certificate notices: a producer is told before its OCOP certificates expire -------------


def certified(ws: Path, name: str, district: str, entity: str, day: str,
              ref: str = "2345/QĐ-UBND") -> str:
    """A product scored 4 stars by the province and recognised on `day` (36 months)."""
    t = Tracker(locate(str(ws)), None, D(2030, 1, 1))
    product = t.add_product(name, district, "Xã B", entity, "htx", "thuc-pham",
                            date="2019-07-10").entries[0].product
    t.advance_product(product, "chosen", date=day)
    t.advance_product(product, "sent", date=day, ref="12/TTr-UBND")
    t.score_product(product, 76, "tinh", date=day)
    t.advance_product(product, "recognised", date=day, ref=ref)
    return product


def producers(ws: Path, as_of: dt.date, within: int = 7, at: tuple[int, ...] = (),
              agency: str | None = None) -> list[Any]:
    from ocop_cli.tracker.remind import certificates_due

    tracker = Tracker(locate(str(ws)), None, as_of)
    loaded = tracker.load()
    who = tracker.agency(loaded, agency, "--agency") if agency else None
    return certificates_due(loaded, as_of, Selection(within, at, who))


@pytest.fixture
def register(ws: Path) -> dict[str, str]:
    return {"gai": certified(ws, "Bánh gai", "Ninh Giang", "HTX Hồng Phúc", "2019-12-10"),
            "da": certified(ws, "Bánh đa", "Ninh Giang", "HTX Hồng Phúc", "2019-12-15",
                            "2400/QĐ-UBND"),
            "che": certified(ws, "Chè", "Gia Lộc", "Công ty Chè", "2019-12-20", "88/QĐ-UBND")}


def test_a_producer_is_told_once_its_notice_day_comes_of_all_it_holds(
        ws: Path, register: dict[str, str]) -> None:
    # expiries 10/12, 15/12, 20/12/2022; notice 30 days before: 10/11, 15/11, 20/11
    def told(day: dt.date, **kw: Any) -> list[tuple[str, str | None, list[str]]]:
        return [(n.producer, n.place, [c.product for c in n.items])
                for n in producers(ws, day, **kw)]

    assert told(D(2022, 11, 2)) == []  # the first notice day is 8 days away
    assert told(D(2022, 11, 3)) == [("HTX Hồng Phúc", "Ninh Giang", [register["gai"]])]
    # one notice per producer, its products nearest expiry first; units in the province's order
    assert told(D(2022, 11, 25)) == [
        ("Công ty Chè", "Gia Lộc", [register["che"]]),
        ("HTX Hồng Phúc", "Ninh Giang", [register["gai"], register["da"]])]
    first = producers(ws, D(2022, 11, 25))[1].items[0]
    assert (first.stars, first.certificate, first.issued, first.expires, first.notice_by,
            first.days_left) == (4, "2345/QĐ-UBND", D(2019, 12, 10), D(2022, 12, 10),
                                 D(2022, 11, 10), 15)
    # on its expiry day a certificate has expired: no notice any more
    assert told(D(2022, 12, 10)) == [("Công ty Chè", "Gia Lộc", [register["che"]]),
                                     ("HTX Hồng Phúc", "Ninh Giang", [register["da"]])]
    assert told(D(2022, 11, 25), agency="Gia Lộc") == [
        ("Công ty Chè", "Gia Lộc", [register["che"]])]
    # a schedule: exactly so many days before the notice day, or once it has come
    assert told(D(2022, 11, 3), at=(7, 3, 1)) == [
        ("HTX Hồng Phúc", "Ninh Giang", [register["gai"]])]
    assert told(D(2022, 11, 4), at=(7, 3, 1)) == []


def test_remind_lists_the_notices_in_every_format_and_can_leave_either_out(
        ocop: Any, register: dict[str, str]) -> None:
    import csv
    import io

    env = {"OCOP_AS_OF": "2022-11-25", "COLUMNS": "200"}
    doc = ocop("remind", "--format", "json", env=env).json()
    assert doc["agencies"]  # the 2019 plan's tasks are all late by then
    assert [(p["producer"], p["unit"], [c["product"] for c in p["certificates"]])
            for p in doc["producers"]] == [
        ("Công ty Chè", "Gia Lộc", [register["che"]]),
        ("HTX Hồng Phúc", "Ninh Giang", [register["gai"], register["da"]])]
    assert doc["producers"][1]["certificates"][0] == {
        "product": register["gai"], "name": "Bánh gai", "stars": 4,
        "certificate": "2345/QĐ-UBND", "issued": "2019-12-10", "expires": "2022-12-10",
        "notice_by": "2022-11-10", "days_left": 15, "notified": None}
    only = ocop("remind", "--products-only", "--format", "json", env=env).json()
    assert only["agencies"] == [] and only["producers"] == doc["producers"]
    tasks = ocop("remind", "--tasks-only", "--format", "json", env=env).json()
    assert tasks["producers"] == [] and tasks["agencies"] == doc["agencies"]
    both = ocop("remind", "--tasks-only", "--products-only", env=env)
    assert both.exit_code == 2
    rows = list(csv.DictReader(io.StringIO(ocop("remind", "--products-only", "-f", "csv",
                                                env=env).stdout)))
    assert [r["Agency"] for r in rows] == ["Công ty Chè (Gia Lộc)", "HTX Hồng Phúc (Ninh Giang)",
                                           "HTX Hồng Phúc (Ninh Giang)"]
    table = ocop("remind", "--products-only", "--lang", "vi", env=env).stdout
    assert "2 chủ thể cần thông báo giấy chứng nhận sắp hết hạn" in table
    md = ocop("remind", "--products-only", "--format", "md", "--lang", "vi", env=env).stdout
    assert md.count("HTX Hồng Phúc (Ninh Giang)") == 2
    assert "Bánh gai (4 sao): giấy chứng nhận theo Quyết định số 2345/QĐ-UBND ngày " \
        "10/12/2019" in md and "hết hạn ngày 10/12/2022, còn 15 ngày" in md


def test_the_notice_to_a_producer_is_a_letter_from_the_office(
        ocop: Any, tmp_path: Path, register: dict[str, str]) -> None:
    env = {"OCOP_AS_OF": "2022-11-25"}
    out = tmp_path / "out"
    result = ocop("remind", "--products-only", "--lang", "vi", "--output", str(out),
                  "--number", "301", "--dated", "25/11/2022", env=env)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "thong-bao-het-han-gia-loc-cong-ty-che.docx",
        "thong-bao-het-han-ninh-giang-htx-hong-phuc.docx"]
    text = paragraphs(out / "thong-bao-het-han-ninh-giang-htx-hong-phuc.docx")
    number = text.index("Số: 301/SNN")
    assert text[number + 1] == "V/v thông báo giấy chứng nhận sản phẩm OCOP sắp hết hạn"
    assert "Hải Dương, ngày 25 tháng 11 năm 2022" in text
    body = text[text.index("Kính gửi: HTX Hồng Phúc") + 1:]
    assert body[1] == ("1. Bánh gai (4 sao): giấy chứng nhận theo Quyết định số 2345/QĐ-UBND "
                       "ngày 10/12/2019; hết hạn ngày 10/12/2022, còn 15 ngày (thông báo "
                       "trước ngày 10/11/2022).")
    assert body[2].startswith("2. Bánh đa (4 sao)")
    assert body[3].startswith("Đề nghị HTX Hồng Phúc nộp hồ sơ mới đề nghị đánh giá, phân "
                              "hạng lại") and "trước ngày 10/12/2022" in body[3]
    assert "Nơi nhận:" in text and "- Như trên;" in text


def test_send_mails_each_notice_to_the_producers_unit_once_and_the_register_keeps_it(
        ocop: Any, ws: Path, smtp: Any, register: dict[str, str]) -> None:
    give_email(ws, "ninh-giang", "vpub@ninhgiang.example.vn")
    env = mail_env(smtp, OCOP_AS_OF="2022-11-25")
    result = ocop("remind", "--send", "--products-only", "--lang", "vi", env=env)
    assert result.exit_code == 0, result.stderr
    # the register holds no producer's address: the notice goes to its unit's
    assert [to for to, _mail in smtp.received] == [["vpub@ninhgiang.example.vn"]]
    mail = smtp.received[0][1]
    assert mail["Subject"] == "V/v thông báo giấy chứng nhận sản phẩm OCOP sắp hết hạn"
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("Kính gửi: HTX Hồng Phúc") and "2. Bánh đa (4 sao)" in body
    attached = next(mail.iter_attachments())
    assert attached.get_filename() == "thong-bao-het-han-ninh-giang-htx-hong-phuc.docx"
    # a unit without an address: listed, not skipped silently
    assert "Công ty Chè (Gia Lộc): chưa có địa chỉ thư điện tử" in result.stderr
    # the register says who was told of what; the products stand as they were
    doc = ocop("remind", "--products-only", "--format", "json", env=env).json()
    told = {c["product"]: c["notified"] for p in doc["producers"] for c in p["certificates"]}
    assert told == {register["gai"]: "2022-11-25", register["da"]: "2022-11-25",
                    register["che"]: None}
    shown = ocop("product", "show", register["gai"], "--format", "json", env=env).json()
    assert shown["stage"] == "recognised"
    assert shown["lines"][-1]["action"] == "notified"
    assert shown["lines"][-1]["ref"] == mail["Message-ID"]
    assert ocop("check", env=env).exit_code == 0
    # a daily run never sends it twice, nor does the next day's
    for day in ("2022-11-25", "2022-11-26"):
        again = ocop("remind", "--send", "--products-only", env=mail_env(smtp, OCOP_AS_OF=day))
        assert again.exit_code == 0 and len(smtp.received) == 1
    # undo takes back the latest stage, never the notice: it stays sent
    assert ocop("product", "undo", register["gai"], env=env).exit_code == 0
    lines = ocop("product", "show", register["gai"], "--format", "json", env=env).json()["lines"]
    undone = {line["action"] for line in lines if line["undone"]}
    assert undone == {"recognised"}
