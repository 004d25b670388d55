"""Keep the Vietnamese catalogue in step with the code: extract, merge, compile, check.

    python tools/i18n.py          extract every message of ocop_cli/, merge it into
                                  ocop_cli/locale/vi/LC_MESSAGES/ocop.po (translations kept,
                                  new messages left empty for a translator), compile ocop.mo
    python tools/i18n.py --check  change nothing; list what is missing or out of date and exit 1

Messages are found by reading the code (ast), never by importing it:
- the literal argument of `_("...")`, `N_("...")` and `ngettext("...", "...", n)`;
- `help=`, `short_help=`, `epilog=` and `metavar=` literals (typer options, arguments, apps);
- the docstring of every function registered as a command (`@command`, `@app.command`,
  `@app.callback`), cleaned as click shows it.

Mistakes it reports: `_()` of something that is not a literal (an f-string, a variable),
`_("...".format(...))` (formats before translating, so no translation is ever found), a literal
message given to `say`, an error or a column header without `_()`, a translation whose
`{placeholders}` differ from the message's, and an `ocop.mo` that is not exactly what `ocop.po`
compiles to. A line may say why it is an exception with a comment starting `# i18n:` (say, a
`_(text)` that translates a message marked elsewhere, or a header that is Vietnamese in both
languages because the office form is). Only the standard library is used, so the tests can run
it too.
"""

from __future__ import annotations

import ast
import inspect
import re
import string
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ocop_cli"
PO = PACKAGE / "locale" / "vi" / "LC_MESSAGES" / "ocop.po"
MO = PO.with_suffix(".mo")

HEADER = (
    "Project-Id-Version: ocop\n"
    "Language: vi\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Plural-Forms: nplurals=1; plural=0;\n"
)
PREAMBLE = (
    "# Vietnamese messages of ocop. Edit the msgstr lines, then run `python tools/i18n.py`,\n"
    "# which merges new messages in and compiles ocop.mo. Keep every {placeholder} as is.\n"
)

TRANSLATE = {"_", "N_"}
HELP_KEYWORDS = {"help", "short_help", "epilog", "metavar"}
# Calls whose message must go through `_()`: which positional argument, and which keywords.
MUST_TRANSLATE = {
    "say": (0, ()), "OcopError": (0, ("hint",)), "NotFound": (0, ("hint",)),
    "Refused": (0, ("hint",)), "UsageError": (0, ("hint",)), "Busy": (0, ("hint",)),
    "Column": (1, ()), "table": (-1, ("title", "footer")), "emit": (-1, ("title", "footer")),
}
_WORDS = re.compile(r"[A-Za-z]{2,}")
EXEMPT = "# i18n:"


@dataclass
class Message:
    msgid: str
    plural: str | None = None
    places: list[str] = field(default_factory=list)


@dataclass
class Entry:
    msgid: str
    msgstr: str = ""
    plural: str | None = None
    plurals: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # the translator's own, kept
    places: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def translated(self) -> bool:
        if self.fuzzy:
            return False
        if self.plural is not None:
            return bool(self.plurals) and all(self.plurals)
        return bool(self.msgstr)


# --- extraction ------------------------------------------------------------------------------


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _has_words(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_WORDS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(v) for v in node.values if isinstance(v, ast.Constant))
    return False


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _name(target) in {"command", "callback"}


def _exempt(node: ast.AST, lines: list[str]) -> bool:
    """`# i18n: why` on one of its lines marks what the code does there as intended."""
    first = getattr(node, "lineno", 1)
    last = getattr(node, "end_lineno", None) or first
    return any(EXEMPT in lines[n - 1] for n in range(first, last + 1))


def extract(paths: list[Path]) -> tuple[dict[str, Message], list[str]]:
    """Every message of the files, in order of first appearance, and the mistakes found."""
    messages: dict[str, Message] = {}
    mistakes: list[str] = []

    def add(msgid: str, where: str, plural: str | None = None) -> None:
        message = messages.setdefault(msgid, Message(msgid, plural))
        message.places.append(where)

    for path in paths:
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=rel)
        lines = source.splitlines()
        nodes = sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0),
                                                       getattr(n, "col_offset", 0)))
        for node in nodes:
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    _is_command(d) for d in node.decorator_list):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    add(inspect.cleandoc(doc), where)
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name in TRANSLATE or name == "ngettext":
                wanted = 2 if name == "ngettext" else 1
                texts = [_literal(a) for a in node.args[:wanted]]
                if len(node.args) < wanted or any(t is None for t in texts):
                    if _exempt(node, lines):
                        continue
                    first = node.args[0] if node.args else None
                    if (isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute)
                            and first.func.attr == "format"):
                        mistakes.append(f"{where}: {name}(\"...\".format(...)) formats before "
                                        f"translating; write {name}(\"...\").format(...)")
                    else:
                        mistakes.append(f"{where}: {name}() needs a literal string, not "
                                        f"{ast.unparse(first) if first else 'nothing'}")
                    continue
                add(texts[0], where, texts[1] if name == "ngettext" else None)  # type: ignore[arg-type]
                continue
            for keyword in node.keywords:
                if keyword.arg in HELP_KEYWORDS:
                    text = _literal(keyword.value)
                    if text:
                        add(text, where)
                    elif isinstance(keyword.value, ast.JoinedStr):
                        mistakes.append(f"{where}: {keyword.arg}= is an f-string, which cannot "
                                        "be translated")
            if name in MUST_TRANSLATE:
                position, keywords = MUST_TRANSLATE[name]
                suspects = [node.args[position]] if 0 <= position < len(node.args) else []
                suspects += [k.value for k in node.keywords if k.arg in keywords]
                for suspect in suspects:
                    if _has_words(suspect) and not _exempt(suspect, lines):
                        mistakes.append(f"{where}: {name}() is given a message without _(): "
                                        f"{ast.unparse(suspect)[:60]}")
    return messages, mistakes


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


# --- .po -------------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, found {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") \
        .replace("\r", "\\r").replace("\n", "\\n") + '"'


def read_po(path: Path) -> dict[str, Entry]:
    """The entries of a .po file, header included under the key ""."""
    entries: dict[str, Entry] = {}
    if not path.exists():
        return entries
    current: Entry | None = None
    field_name = ""
    comments: list[str] = []
    fuzzy = False

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries[current.msgid] = current
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{number}"
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if field_name:
                finish()
                field_name = ""
            if line.startswith("#,"):
                fuzzy = "fuzzy" in line
            elif line.startswith("# ") or line == "#":
                comments.append(line)
            continue  # references are rewritten from the code; "#~" entries are gone
        keyword, _sep, rest = line.partition(" ")
        if keyword == "msgid":
            finish()
            current = Entry(_unquote(rest, where), comments=comments, fuzzy=fuzzy)
            comments, fuzzy = [], False
            field_name = "msgid"
        elif current is None:
            raise ValueError(f"{where}: {keyword} before any msgid")
        elif keyword == "msgid_plural":
            current.plural = _unquote(rest, where)
            field_name = "msgid_plural"
        elif keyword == "msgstr":
            current.msgstr = _unquote(rest, where)
            field_name = "msgstr"
        elif keyword.startswith("msgstr["):
            current.plurals.append(_unquote(rest, where))
            field_name = "plural"
        elif line.startswith('"'):
            text = _unquote(line, where)
            if field_name == "msgid":
                current.msgid += text
            elif field_name == "msgid_plural":
                current.plural = (current.plural or "") + text
            elif field_name == "msgstr":
                current.msgstr += text
            elif field_name == "plural":
                current.plurals[-1] += text
        else:
            raise ValueError(f"{where}: cannot read {line[:40]!r}")
    finish()
    return entries


def _lines(keyword: str, text: str) -> list[str]:
    if "\n" not in text.rstrip("\n"):
        return [f"{keyword} {_quote(text)}"]
    parts = text.splitlines(keepends=True)
    return [f'{keyword} ""', *(_quote(p) for p in parts)]


def write_po(path: Path, entries: list[Entry]) -> None:
    out = [PREAMBLE.rstrip("\n"), 'msgid ""', 'msgstr ""',
           *(_quote(line) for line in HEADER.splitlines(keepends=True))]
    for entry in entries:
        out.append("")
        out += entry.comments
        out += [f"#: {place}" for place in entry.places]
        flags = []
        if entry.fuzzy:
            flags.append("fuzzy")
        if "{" in entry.msgid:
            flags.append("python-brace-format")
        if flags:
            out.append("#, " + ", ".join(flags))
        out += _lines("msgid", entry.msgid)
        if entry.plural is not None:
            out += _lines("msgid_plural", entry.plural)
            for i, text in enumerate(entry.plurals or [""]):
                out += _lines(f"msgstr[{i}]", text)
        else:
            out += _lines("msgstr", entry.msgstr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def merge(messages: dict[str, Message], old: dict[str, Entry]) -> tuple[list[Entry], list[str]]:
    """Entries for today's messages, keeping the translations of the old catalogue; and the
    messages that are gone."""
    entries = []
    for message in messages.values():
        previous = old.get(message.msgid)
        entry = Entry(message.msgid, plural=message.plural, places=message.places)
        if previous is not None:
            entry.msgstr, entry.plurals = previous.msgstr, previous.plurals
            entry.comments, entry.fuzzy = previous.comments, previous.fuzzy
        entries.append(entry)
    gone = [msgid for msgid in old if msgid and msgid not in messages]
    return entries, gone


# --- .mo -------------------------------------------------------------------------------------


def compile_mo(entries: dict[str, Entry]) -> bytes:
    """The GNU .mo catalogue of the translated entries, in a stable byte order."""
    pairs = {"": HEADER}
    for entry in entries.values():
        if not entry.msgid or not entry.translated:
            continue
        if entry.plural is not None:
            pairs[entry.msgid + "\0" + entry.plural] = "\0".join(entry.plurals)
        else:
            pairs[entry.msgid] = entry.msgstr
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs.items())
    count = len(items)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    tables: list[int] = []
    blob = b""
    for key, _value in items:
        tables += [len(key), data_at + len(blob)]
        blob += key + b"\0"
    for _key, value in items:
        tables += [len(value), data_at + len(blob)]
        blob += value + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, 0)
    return head + struct.pack(f"<{len(tables)}I", *tables) + blob


# --- checks ----------------------------------------------------------------------------------


def fields(text: str) -> set[str]:
    """The names of the {placeholders} of a message."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def problems(messages: dict[str, Message], mistakes: list[str], po: dict[str, Entry],
             mo: bytes | None) -> list[str]:
    found = list(mistakes)
    for message in messages.values():
        entry = po.get(message.msgid)
        where = message.places[0]
        if entry is None:
            found.append(f"{where}: not in {PO.name}: {message.msgid[:70]!r}")
        elif not entry.translated:
            state = "fuzzy" if entry.fuzzy else "untranslated"
            found.append(f"{where}: {state} in {PO.name}: {message.msgid[:70]!r}")
        else:
            for text in [entry.msgstr] if entry.plural is None else entry.plurals:
                if fields(text) != fields(message.msgid):
                    found.append(f"{where}: the translation's placeholders "
                                 f"{sorted(fields(text))} differ from the message's "
                                 f"{sorted(fields(message.msgid))}: {message.msgid[:50]!r}")
    if mo != compile_mo(po):
        found.append(f"{MO.relative_to(ROOT)} is not what {PO.name} compiles to; run "
                     "python tools/i18n.py")
    return found


def main(argv: list[str]) -> int:
    check = "--check" in argv
    messages, mistakes = extract(source_files())
    old = read_po(PO)
    if check:
        found = problems(messages, mistakes, old, MO.read_bytes() if MO.exists() else None)
        for line in found:
            print(line)
        print(f"{len(messages)} messages; {len(found)} problems")
        return 1 if found else 0
    entries, gone = merge(messages, old)
    write_po(PO, entries)
    merged = read_po(PO)
    MO.write_bytes(compile_mo(merged))
    missing = [e for e in entries if not e.translated]
    for line in mistakes:
        print(line)
    for msgid in gone:
        print(f"dropped (no longer in the code): {msgid[:70]!r}")
    for entry in missing:
        print(f"to translate: {entry.places[0]}: {entry.msgid[:70]!r}")
    print(f"{len(entries)} messages, {len(entries) - len(missing)} translated, "
          f"{len(missing)} to translate, {len(gone)} dropped; wrote {PO.relative_to(ROOT)} "
          f"and {MO.name}")
    return 1 if missing or mistakes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
