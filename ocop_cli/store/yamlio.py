"""Strict, safe YAML reading with line and column for every value.

Every plain scalar is read as text (YAML 1.1 would turn `NO` into false, `012` into 10 and
`3.10` into 3.1); only `~`, `null` and an empty value mean nothing. The models decide which
texts are numbers or dates. Duplicate keys, anchors, aliases, tags other than the core ones,
and bytes that are not UTF-8 are errors. A UTF-8 byte-order mark and CRLF line ends are fine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_CORE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:null",
}
_CONFLICT = re.compile(r"^(?:<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)

Path_ = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed file: plain data (dicts, lists, str, None) and where each value stands."""

    path: Path
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The text, when it was read without the parser (`_quick`): its marks are made on demand,
    # as only a problem needs them.
    text: str | None = field(default=None, repr=False)

    def where(self, loc: Path_) -> tuple[int | None, int | None]:
        """1-based line and column of the value at `loc`, or of its nearest parent that has one."""
        if self.text is not None:
            self.marks, self.text = _parsed(self.path, self.text).marks, None
        loc = tuple(loc)
        while loc not in self.marks and loc:
            loc = loc[:-1]
        line_col = self.marks.get(loc)
        return line_col if line_col else (None, None)


def _problem(
    path: Path, message: str, line: int | None = None, col: int | None = None
) -> InvalidData:
    return InvalidData([Problem(str(path), message, line, col)])


def decode(path: Path, raw: bytes) -> str:
    """UTF-8 text of a file, a BOM dropped; the first bad byte located by line and column."""
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        raise _problem(path, _("the file is UTF-16; save it as UTF-8"), 1, 1)
    if b"\x00" in raw:
        # UTF-16 without a byte-order mark, or not text at all: NUL is valid UTF-8, so say so
        # here rather than let the parser fail further on.
        at = raw.index(b"\x00")
        line = raw[:at].count(b"\n") + 1
        raise _problem(path, _("the file holds NUL bytes: it is UTF-16 or not text; save it as "
                               "UTF-8"), line, at - (raw.rfind(b"\n", 0, at) + 1) + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _problem(
            path,
            _("byte 0x{byte:02x} is not UTF-8 (was the file saved in another encoding?)").format(
                byte=raw[exc.start]
            ),
            line,
            col,
        ) from None


def read_bytes(path: Path, limit: int = MAX_BYTES, follow: bool = False) -> bytes:
    """A file's bytes, refusing folders, devices, pipes, symbolic links (unless `follow`: a
    file the user names) and anything over `limit` before reading it (and while reading it,
    for a size that lies). The checks are made on the open file, so nothing swaps it between
    check and read."""
    handle, size = open_checked(path, limit, follow)
    too_big = _("is {size} MB, over the limit of {limit} MB")
    with handle:
        # Asking for `limit` bytes would allocate them all, whatever the file's size.
        raw = handle.read(size + 1)
        if len(raw) > size:  # it grew since: read on, to the limit
            raw += handle.read(limit + 1 - len(raw))
    if len(raw) > limit:
        raise _problem(path, too_big.format(size=len(raw) // 2**20, limit=limit // 2**20))
    return raw


def open_checked(path: Path, limit: int = MAX_BYTES, follow: bool = False
                 ) -> tuple[BinaryIO, int]:
    """A file opened for `read_bytes`, once it is known to be a regular file within `limit`,
    and its size then."""
    import errno
    import stat

    too_big = _("is {size} MB, over the limit of {limit} MB")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        if not follow and path.is_symlink():  # where O_NOFOLLOW does not exist
            raise _link(path)
        fd = os.open(path, flags)
    except FileNotFoundError:
        from ocop_cli.core.errors import NotFound

        raise NotFound(_("{path}: no such file").format(path=path)) from None
    except PermissionError:
        raise _problem(path, _("cannot be read: permission denied")) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link(path) from None
        raise _problem(path, _("cannot be read: {error}").format(
            error=exc.strerror or exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _problem(path, _("is a folder, expected a file"))
        if not stat.S_ISREG(info.st_mode):
            raise _problem(path, _("is not a regular file (a device, pipe or socket)"))
        raise _problem(path, too_big.format(size=info.st_size // 2**20, limit=limit // 2**20))
    return os.fdopen(fd, "rb"), info.st_size


def _link(path: Path) -> InvalidData:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return _problem(path, _("is a symbolic link (to {target}); ocop reads and writes only "
                            "regular files inside the workspace: put the file itself here"
                            ).format(target=target))


def read_yaml(path: Path, text: str | None = None) -> YamlDoc:
    """Parse one YAML document strictly; InvalidData with file:line:column on any fault."""
    from_disk = text is None
    if text is None:
        text = decode(path, read_bytes(path))
    conflict = _CONFLICT.search(text)
    if conflict:
        line = text[: conflict.start()].count("\n") + 1
        raise _problem(path, _("merge conflict markers: resolve the merge first"), line, 1)
    quick = _quick(text)
    if quick is not _NONE:
        return YamlDoc(path, quick, text=text)
    return _parsed(path, text, from_disk)


def _parsed(path: Path, text: str, from_disk: bool = False) -> YamlDoc:
    """`read_yaml` by the YAML parser."""
    import yaml

    loader = _loader_class()(text)
    doc = YamlDoc(path=path, data=None)
    try:
        found = _Builder(loader, doc).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        if mark is None:
            raise _problem(path, message) from None
        if text[mark.index : mark.index + 1] == "\t":
            message = _("a tab in the indentation; indent with spaces")
        raise _problem(path, message, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise _problem(path, str(exc)) from None
    except RecursionError:
        raise _problem(path, _("nested too deeply")) from None
    if not found and from_disk:
        raise _problem(path, _("the file is empty (or holds only comments)"))
    return doc


class _Builder:
    """Plain data straight from the parser's events, each value's line and column noted.

    PyYAML's composer would first build a node, with two marks, for every value: 90 MB for a
    plan of 10,000 tasks. Anchors and aliases are refused here before anything is expanded,
    and so are tags, keys that are not text, merge keys, duplicate keys and deep nesting."""

    def __init__(self, loader: Any, doc: YamlDoc) -> None:
        import yaml

        self.loader, self.doc, self.yaml = loader, doc, yaml

    def document(self) -> bool:
        """Read the one document of the stream into `doc.data`; False for none."""
        yaml, loader = self.yaml, self.loader
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            loader.get_event()
            return False
        start = loader.get_event().start_mark  # the document's start
        self.doc.data = self.value((), 0)
        loader.get_event()  # the document's end
        if not loader.check_event(yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream", start,
                "but found another document", loader.get_event().start_mark)
        return True

    def _fail(self, message: str, mark: Any) -> InvalidData:
        return _problem(self.doc.path, message, mark.line + 1, mark.column + 1)

    def _tag(self, event: Any, kind: Any, value: Any) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, value, event.implicit)
        if tag not in _CORE_TAGS:
            raise self._fail(_("tag {tag} is not allowed").format(tag=tag), event.start_mark)
        return str(tag)

    def _refuse_alias(self, event: Any) -> None:
        if isinstance(event, self.yaml.AliasEvent) or getattr(event, "anchor", None):
            raise self.yaml.MarkedYAMLError(None, None, _(
                "anchors and aliases (& and *) are not allowed"), event.start_mark)

    def value(self, loc: Path_, depth: int) -> Any:
        yaml, loader = self.yaml, self.loader
        event = loader.get_event()
        mark = event.start_mark
        self._refuse_alias(event)
        self.doc.marks[loc] = (mark.line + 1, mark.column + 1)
        if depth > MAX_DEPTH:
            raise self._fail(_("nested more than {n} levels deep").format(n=MAX_DEPTH), mark)
        if isinstance(event, yaml.ScalarEvent):
            tag = self._tag(event, yaml.ScalarNode, event.value)
            return None if tag.endswith(":null") else event.value
        if isinstance(event, yaml.SequenceStartEvent):
            self._tag(event, yaml.SequenceNode, None)
            items: list[Any] = []
            while not loader.check_event(yaml.SequenceEndEvent):
                items.append(self.value((*loc, len(items)), depth + 1))
            loader.get_event()
            return items
        self._tag(event, yaml.MappingNode, None)
        result: dict[str, Any] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.get_event()
            key_mark = key_event.start_mark
            self._refuse_alias(key_event)
            if not isinstance(key_event, yaml.ScalarEvent) or self._tag(
                    key_event, yaml.ScalarNode, key_event.value).endswith(":null"):
                raise self._fail(_("a key must be plain text"), key_mark)
            key = key_event.value
            if key == "<<":
                raise self._fail(_("merge keys (<<) are not allowed"), key_mark)
            if key in result:
                first = self.doc.marks[(*loc, key)][0]
                raise self._fail(_("duplicate key {key!r} (first at line {first})").format(
                    key=key, first=first), key_mark)
            result[key] = self.value((*loc, key), depth + 1)
            self.doc.marks[(*loc, key)] = (key_mark.line + 1, key_mark.column + 1)
        loader.get_event()
        return result


_LOADER: type | None = None


def _loader_class() -> type:
    """The C parser where there is one, and a resolver of the core schema's tags; `_Builder`
    makes the values."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    from yaml.resolver import BaseResolver

    try:
        from yaml.cyaml import CParser as Parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        from yaml.parser import Parser as PyParser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class Parser(Reader, Scanner, PyParser):  # type: ignore[no-redef]
            def __init__(self, stream: str) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                PyParser.__init__(self)

    class Resolver(BaseResolver):
        pass

    Resolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])

    class Loader(Parser, Resolver):
        def __init__(self, stream: str) -> None:
            Parser.__init__(self, stream)
            Resolver.__init__(self)

    _LOADER = Loader
    return Loader


# --- the regular block form, read without the YAML parser ------------------------------------

# Characters the quick reader takes as they are: anything else (a tab, a carriage return, a
# byte-order mark, a control or a line separator) goes to the YAML parser, which says what.
_ODD = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                  "\U00010000-\U0010ffff]")
# A line: its indent, a sequence item's dash, a key (plain, as ocop and people write keys; a
# long one is left to the parser, as YAML limits a key to 1024 characters), then a scalar in
# double quotes without escapes, or anything else (`_scalar` reads it).
_LINE = re.compile(r'^( *)(- )?(?:([A-Za-z_][A-Za-z0-9_]{0,99}):(?: +|$))?'
                   r'(?:"([^"\\\n]*)"(?: +(?:#.*)?)?$|(.*))', re.MULTILINE)
_SINGLE = re.compile(r"'((?:[^']|'')*)'(?: +(?:#.*)?)?")
_FLOW = re.compile(r"\[([^\[\]{}#:'\"]*)\](?: +(?:#.*)?)?")
# What a plain scalar may not start with: an indicator (YAML gives `- ? :` a meaning before a
# space, the others always), or a space.
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_QUICK_DEPTH = 32  # deeper is left to the parser, which refuses past MAX_DEPTH
_NONE = object()  # a line with a key or dash and nothing after it
_SHORT = 80  # values up to this long are kept once however often they repeat (agency names)


class _Odd(Exception):
    """A shape the quick reader does not take: the YAML parser reads the text instead."""


def _quick(text: str) -> Any:
    """The data `_Builder` makes, for a text in the regular block form that ocop and people
    write: `key: value` lines and `- ` items nested by indentation, with plain, double-quoted
    (without escapes) or single-quoted scalars on one line, lists of plain texts in brackets
    (`_flow`), comments and blank lines; _NONE for anything else (anchors, tags, other flow
    collections, block scalars, escapes, a scalar over several lines, a duplicate key, odd
    indentation...): the YAML parser then reads it and
    says what is wrong, where. Marks are not made: `YamlDoc.where` asks the parser for them.

    Lines are read as the structure needs them, never all held at once: a plan of 50,000
    tasks is read with little more memory than its values take."""
    if _ODD.search(text):
        return _NONE
    try:
        reader = _Quick(text)
        if reader.line is None or reader.line[0] != 0:
            return _NONE
        data = reader.block(0, 0)
        return data if reader.line is None else _NONE
    except _Odd:
        return _NONE


class _Quick:
    """The block structure of a text: `line` is the next line not blank nor a comment, as
    (indent, item, key, value), or None at the end."""

    def __init__(self, text: str) -> None:
        self.lines = _LINE.finditer(text)
        self.kept: dict[str, str] = {}
        self.line: tuple[int, bool, str | None, Any] | None = None
        self.advance()

    def advance(self) -> None:
        kept = self.kept
        for found in self.lines:
            indent, item, key, quoted, rest = found.groups()
            if quoted is not None:
                value: Any = quoted
            elif not rest or rest[0] == "#":
                if not item and not key:
                    continue  # blank, or a comment
                value = _NONE
            else:
                if rest[0] == "[" and "]" not in rest:
                    rest = self.flow(rest, len(indent))
                value = _scalar(rest)
            if type(value) is str and len(value) <= _SHORT:
                value = kept.setdefault(value, value)
            if key is not None:
                key = kept.setdefault(key, key)
            self.line = (len(indent), item is not None, key, value)
            return
        self.line = None

    def flow(self, start: str, indent: int) -> str:
        """A flow sequence from `start` on, over the lines that follow, each indented past
        `indent`; one ends at a comma (no text goes on to the next line) until one closes it,
        and it is read as one line."""
        parts = [start]
        for found in self.lines:
            part = found.group().strip(" ")
            if not parts[-1].endswith(",") or len(found.group()) - len(
                    found.group().lstrip(" ")) <= indent or part[:1] in ("", "#", "-"):
                raise _Odd
            parts.append(part)
            if "]" in part:
                return " ".join(parts)
        raise _Odd

    def block(self, indent: int, depth: int) -> Any:
        """The mapping or sequence whose first line is the next, at `indent`."""
        if depth > _QUICK_DEPTH:
            raise _Odd
        if self.line[1]:  # type: ignore[index]
            return self.sequence(indent, depth)
        return self.mapping(indent, depth, False)

    def mapping(self, col: int, depth: int, inline: bool) -> dict[str, Any]:
        """Keys at column `col`, the first on the next line (after a dash when `inline`)."""
        result: dict[str, Any] = {}
        while (line := self.line) is not None:
            indent, item, key, value = line
            if inline:
                inline = False
            elif indent != col or item:
                if indent < col:
                    break
                raise _Odd
            if key is None or key in result or _NULL.match(key):
                raise _Odd
            self.advance()
            if value is _NONE:
                nested = self.line
                if nested is not None and (nested[0] > col or (nested[0] == col and nested[1])):
                    value = self.block(nested[0], depth + 1)
                else:
                    value = None
            result[key] = value
        return result

    def sequence(self, col: int, depth: int) -> list[Any]:
        """Items whose dash is at column `col`, the first on the next line."""
        items: list[Any] = []
        while (line := self.line) is not None:
            indent, item, key, value = line
            if indent != col or not item:
                if indent < col or (indent == col and not item):
                    break
                raise _Odd
            if key is not None:
                if depth >= _QUICK_DEPTH:
                    raise _Odd
                items.append(self.mapping(col + 2, depth + 1, True))
            elif value is _NONE:
                raise _Odd
            else:
                items.append(value)
                self.advance()
        return items


def _flow(text: str) -> list[str | None]:
    """A flow sequence of plain scalars on one line, as YAML reads it: without quotes, colons,
    comments or nesting in it, nor an empty item."""
    found = _FLOW.fullmatch(text)
    if found is None:
        raise _Odd
    inside = found.group(1)
    if not inside.strip(" "):
        return []
    items = [item.strip(" ") for item in inside.split(",")]
    if any(not item or item[0] in _PLAIN_START for item in items):
        raise _Odd
    return [None if _NULL.match(item) else item for item in items]


def _scalar(text: str) -> str | list[str | None] | None:
    """A scalar on one line, read as YAML reads it (only `~`, `null` and nothing are null),
    or a list of plain ones in brackets (`aliases: [UBND tỉnh, Ủy ban nhân dân tỉnh]`)."""
    head = text[0]
    if head == "[":
        return _flow(text)
    if head == "'":
        found = _SINGLE.fullmatch(text)
        if found is None:
            raise _Odd
        return found.group(1).replace("''", "'")
    if head in _PLAIN_START:
        raise _Odd  # a double quote here: an escape, or more after the closing quote
    value = text.split(" #", 1)[0].rstrip(" ")
    if ": " in value or value.endswith(":"):
        raise _Odd
    return None if _NULL.match(value) else value
