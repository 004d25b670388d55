"""Strict, safe YAML reading with line and column for every value.

Every plain scalar is read as text (YAML 1.1 would turn `NO` into false, `012` into 10 and
`3.10` into 3.1); only `~`, `null` and an empty value mean nothing. The models decide which
texts are numbers or dates. Duplicate keys, anchors, aliases, tags other than the core ones,
and bytes that are not UTF-8 are errors. A UTF-8 byte-order mark and CRLF line ends are fine.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
_NULL = frozenset(("~", "null", "Null", "NULL", ""))  # a plain scalar that means nothing
_CORE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:null",
}
_CONFLICT = re.compile(r"^(?:<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)
_MARKERS = ("<" * 7, "=" * 7, ">" * 7, "|" * 7)

Path_ = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed file: plain data (dicts, lists, str, None) and where each value stands."""

    path: Path
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The text, while its marks are not made: only a problem needs them, so they are made
    # (by reading the text again) when first asked for.
    text: str | None = field(default=None, repr=False)

    def where(self, loc: Path_) -> tuple[int | None, int | None]:
        """1-based line and column of the value at `loc`, or of its nearest parent that has one."""
        if self.text is not None:
            self.marks, self.text = _parsed(self.path, self.text, marks=True).marks, None
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
    too_big = _("is {size} MB, over the limit of {limit} MB")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        if not follow and path.is_symlink():  # where O_NOFOLLOW does not exist
            raise _link(path)
        fd = os.open(path, flags)
    except FileNotFoundError:
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
    line = conflict_at(text)
    if line is not None:
        raise _problem(path, _("merge conflict markers: resolve the merge first"), line, 1)
    return _parsed(path, text, from_disk)


def conflict_at(text: str) -> int | None:
    """The line of the first merge conflict marker `git merge` left in `text`, if any."""
    if not any(marker in text for marker in _MARKERS):  # at once: the pattern looks slowly
        return None
    conflict = _CONFLICT.search(text)
    return None if conflict is None else text[: conflict.start()].count("\n") + 1


def _parsed(path: Path, text: str, from_disk: bool = False, marks: bool = False) -> YamlDoc:
    """`read_yaml` by the YAML parser; with `marks`, each value's line and column noted (else
    they are made when first asked for, `YamlDoc.where`)."""
    # start-up: yaml, 23 ms, only for a file read without the index
    import yaml

    doc = YamlDoc(path=path, data=None, text=None if marks else text)
    try:
        found = _Builder(_loader_class()(text), doc, marks).document()
    except _Twice:  # a duplicate key: said with the line of the first, which marks know
        return _parsed(path, text, from_disk, marks=True)
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


class _Twice(Exception):
    """A key found twice while marks were not kept."""


class _Builder:
    """Plain data straight from the C parser's events, each value's line and column noted
    when `marks` is asked for.

    PyYAML's composer would first build a node, with two marks, for every value: 90 MB for a
    plan of 10,000 tasks. Anchors and aliases are refused here before anything is expanded,
    and so are tags, keys that are not text, merge keys, duplicate keys and deep nesting.
    Scalars are resolved here, as the core schema reads them with every plain scalar as text:
    only `~`, `null` and an empty plain scalar are null."""

    def __init__(self, loader: Any, doc: YamlDoc, marks: bool) -> None:
        # start-up: yaml, 23 ms, only for a file read without the index
        import yaml

        self.loader, self.doc, self.yaml, self.marks = loader, doc, yaml, marks
        self.events = yaml.events

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

    def _tag(self, event: Any, tag: str) -> str:
        if tag not in _CORE_TAGS:
            raise self._fail(_("tag {tag} is not allowed").format(tag=tag), event.start_mark)
        return tag

    def _refuse_alias(self, event: Any) -> None:
        if type(event) is self.events.AliasEvent or event.anchor is not None:
            raise self.yaml.MarkedYAMLError(None, None, _(
                "anchors and aliases (& and *) are not allowed"), event.start_mark)

    def scalar(self, event: Any) -> str | None:
        """A scalar's value: text, or None for a null."""
        tag, value = event.tag, event.value
        if tag is None:
            if event.implicit[0] and value in _NULL:
                return None
            return value  # type: ignore[no-any-return]
        if tag != "!" and self._tag(event, tag).endswith(":null"):
            return None
        return value  # type: ignore[no-any-return]

    def value(self, loc: Path_, depth: int) -> Any:
        events, loader = self.events, self.loader
        event = loader.get_event()
        kind = type(event)
        if kind is not events.ScalarEvent or event.anchor is not None:
            self._refuse_alias(event)
        if self.marks:
            mark = event.start_mark
            self.doc.marks[loc] = (mark.line + 1, mark.column + 1)
        if depth > MAX_DEPTH:
            raise self._fail(_("nested more than {n} levels deep").format(n=MAX_DEPTH),
                             event.start_mark)
        if kind is events.ScalarEvent:
            return self.scalar(event)
        if kind is events.SequenceStartEvent:
            if event.tag not in (None, "!"):
                self._tag(event, event.tag)
            items: list[Any] = []
            end = events.SequenceEndEvent
            while not loader.check_event(end):
                items.append(self.value((*loc, len(items)) if self.marks else loc, depth + 1))
            loader.get_event()
            return items
        if event.tag not in (None, "!"):
            self._tag(event, event.tag)
        return self.mapping(loc, depth)

    def mapping(self, loc: Path_, depth: int) -> dict[str, Any]:
        events, loader, marks = self.events, self.loader, self.doc.marks
        result: dict[str, Any] = {}
        end = events.MappingEndEvent
        while not loader.check_event(end):
            key_event = loader.get_event()
            key_mark = key_event.start_mark
            if type(key_event) is not events.ScalarEvent or key_event.anchor is not None:
                self._refuse_alias(key_event)
                raise self._fail(_("a key must be plain text"), key_mark)
            key = self.scalar(key_event)
            if key is None:
                raise self._fail(_("a key must be plain text"), key_mark)
            if key == "<<":
                raise self._fail(_("merge keys (<<) are not allowed"), key_mark)
            if key in result:
                if not self.marks:
                    raise _Twice
                first = marks[(*loc, key)][0]
                raise self._fail(_("duplicate key {key!r} (first at line {first})").format(
                    key=key, first=first), key_mark)
            if self.marks:
                result[key] = self.value((*loc, key), depth + 1)
                marks[(*loc, key)] = (key_mark.line + 1, key_mark.column + 1)
            else:
                result[key] = self.value(loc, depth + 1)
        loader.get_event()
        return result


def _loader_class() -> type:
    """The C parser where there is one: `_Builder` makes the values from its events."""
    try:
        # start-up: yaml, 23 ms, only for a file read without the index
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        # start-up: yaml, 23 ms, only for a file read without the index
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class PyParser(Reader, Scanner, Parser):
            def __init__(self, stream: str) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)

        return PyParser
    return CParser
