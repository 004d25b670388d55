"""Sending reminders by e-mail (`ocop remind --send`): the mail server's settings and the
sending of each message through the standard library's `smtplib`.

The settings are this machine's own, never a file that sync commits: the environment
(`OCOP_SMTP_HOST`, `OCOP_SMTP_PORT`, `OCOP_SMTP_USER`, `OCOP_SMTP_PASSWORD`, `OCOP_SMTP_FROM`,
`OCOP_SMTP_SECURITY`), else `smtp.yaml` in the user's config folder (the same keys in lower
case, without the prefix). STARTTLS unless `security` says `ssl` or `none`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, NamedTuple

from platformdirs import user_config_path

from ocop_cli.core.errors import InvalidData, Problem, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.store.yamlio import decode, read_bytes, read_yaml

KEYS = ("host", "port", "user", "password", "from", "security")
SECURITY = ("starttls", "ssl", "none")
PORTS = {"starttls": 587, "ssl": 465, "none": 25}
MAX_BYTES = 16 * 1024
TIMEOUT = 30.0


class Server(NamedTuple):
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    security: str


def config_file() -> Path:
    return user_config_path("ocop", appauthor=False) / "smtp.yaml"


def _from_file(path: Path) -> dict[str, str]:
    """The settings of the user's `smtp.yaml`: a mapping of the keys of `KEYS` to one line of
    text (the port may be a number); InvalidData naming the file and line otherwise."""
    if not path.is_file():
        return {}
    doc = read_yaml(path, decode(path, read_bytes(path, MAX_BYTES)))
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        raise InvalidData([Problem(str(path), _("expected fields such as host: and from:"),
                                   line, col)])
    found: dict[str, str] = {}
    for key, value in doc.data.items():
        line, col = doc.where((key,))
        if key not in KEYS:
            raise InvalidData([Problem(str(path), _("unknown field; the fields are {names}")
                                       .format(names=", ".join(KEYS)), line, col, field=key)])
        if isinstance(value, bool) or not isinstance(value, (str, int)) \
                or "\n" in str(value) or len(str(value)) > 300:
            raise InvalidData([Problem(str(path), _("expected one line of text"), line, col,
                                       field=key)])
        found[key] = str(value).strip()
    return found


def server(environ: dict[str, str] | None = None, path: Path | None = None) -> Server:
    """The mail server to send through: each setting from the environment, else the user's
    file. UsageError saying what is missing or wrong."""
    env = os.environ if environ is None else environ
    saved = _from_file(path or config_file())
    values = {key: env.get(f"OCOP_SMTP_{key.upper()}", "").strip() or saved.get(key, "")
              for key in KEYS}
    if not values["host"] or not values["from"]:
        raise UsageError(_("--send needs a mail server and a sender: set OCOP_SMTP_HOST and "
                           "OCOP_SMTP_FROM, or host: and from: in {file}").format(
            file=path or config_file()))
    security = (values["security"] or "starttls").lower()
    if security not in SECURITY:
        raise UsageError(_("OCOP_SMTP_SECURITY: {value!r} is not one of {names}").format(
            value=values["security"], names=", ".join(SECURITY)))
    port = values["port"] or str(PORTS[security])
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(_("OCOP_SMTP_PORT: {value!r} is not a port number").format(
            value=values["port"]))
    return Server(values["host"], int(port), values["user"] or None,
                  values["password"] or None, values["from"], security)


def message(server: Server, to: Iterable[str], subject: str, body: str, attachment: bytes,
            filename: str) -> EmailMessage:
    """A plain-text mail with the letter attached, and a Message-ID the history keeps."""
    # Headers are folded only past 998 characters (RFC 5322's limit): Python's folding of a
    # long Vietnamese subject into several encoded words drops the space at the fold
    # ("sản phẩm" arrived as "sảnphẩm"; CPython issue 92081).
    mail = EmailMessage(policy=SMTP.clone(max_line_length=998))
    mail["From"] = server.sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=True)
    domain = server.sender.rpartition("@")[2] or None
    mail["Message-ID"] = make_msgid(domain=domain)
    mail.set_content(body)
    mail.add_attachment(attachment, maintype="application",
                        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                        filename=filename)
    return mail


def connect(server: Server) -> smtplib.SMTP:
    """A session with the server, secured and logged in as the settings say."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.security == "ssl":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    try:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.user:
            smtp.login(server.user, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_all(server: Server, mails: list[EmailMessage],
             sent: Callable[[EmailMessage], None], failed: Callable[[EmailMessage, str], None]
             ) -> None:
    """Send each mail in one session; `sent` after each one the server took, `failed` with
    the reason for each it refused or that could not be sent (all of them, when the server
    cannot be reached): the others are still sent."""
    try:
        smtp = connect(server)
    except (OSError, smtplib.SMTPException) as error:
        for mail in mails:
            failed(mail, _reason(error))
        return
    try:
        for mail in mails:
            try:
                refused = smtp.send_message(mail)
            except (OSError, smtplib.SMTPException) as error:
                failed(mail, _reason(error))
                if isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                    smtp = _again(server, smtp)
                continue
            if refused:  # some addresses taken, others not: said, and kept as sent
                failed(mail, _("refused for {to}").format(to=", ".join(sorted(refused))))
            sent(mail)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _again(server: Server, smtp: smtplib.SMTP) -> smtplib.SMTP:
    """A new session after the server dropped the last one (else the old one, closed)."""
    smtp.close()
    try:
        return connect(server)
    except (OSError, smtplib.SMTPException):
        return smtp


def _reason(error: Any) -> str:
    """What went wrong, in one line: the server's code and words, or the system's."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{to}: {code} {_text(words)}"
                         for to, (code, words) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _text(words: bytes | str) -> str:
    text = words.decode("utf-8", "replace") if isinstance(words, bytes) else words
    return " ".join(text.split())
