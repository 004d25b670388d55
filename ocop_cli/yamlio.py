"""Strict, safe YAML reading with line and column for every value.

Every plain scalar is read as text (YAML 1.1 would turn `NO` into false, `012` into 10 and
`3.10` into 3.1); only `~`, `null` and an empty value mean nothing. The models decide which
texts are numbers or dates. Duplicate keys, anchors, aliases, tags other than the core ones,
and bytes that are not UTF-8 are errors. A UTF-8 byte-order mark and CRLF line ends are fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocop_cli.errors import InvalidData, Problem
from ocop_cli.i18n import _

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

    def where(self, loc: Path_) -> tuple[int | None, int | None]:
        """1-based line and column of the value at `loc`, or of its nearest parent that has one."""
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


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """A file's bytes, refusing folders, devices, pipes and anything over `limit` before
    reading it (and while reading it, for a size that lies)."""
    import stat

    too_big = _("is {size} MB, over the limit of {limit} MB")
    try:
        if path.is_dir():
            raise _problem(path, _("is a folder, expected a file"))
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise _problem(path, _("is not a regular file (a device, pipe or socket)"))
        if info.st_size > limit:
            raise _problem(path, too_big.format(size=info.st_size // 2**20,
                                                limit=limit // 2**20))
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise _problem(path, too_big.format(size=len(raw) // 2**20, limit=limit // 2**20))
        return raw
    except FileNotFoundError:
        from ocop_cli.errors import NotFound

        raise NotFound(_("{path}: no such file").format(path=path)) from None
    except PermissionError:
        raise _problem(path, _("cannot be read: permission denied")) from None


def read_yaml(path: Path, text: str | None = None) -> YamlDoc:
    """Parse one YAML document strictly; InvalidData with file:line:column on any fault."""
    from_disk = text is None
    if text is None:
        text = decode(path, read_bytes(path))
    conflict = _CONFLICT.search(text)
    if conflict:
        line = text[: conflict.start()].count("\n") + 1
        raise _problem(path, _("merge conflict markers: resolve the merge first"), line, 1)
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
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
    finally:
        loader.dispose()
    doc = YamlDoc(path=path, data=None)
    if node is not None:
        doc.data = _plain(node, (), doc, 0)
    elif from_disk:
        raise _problem(path, _("the file is empty (or holds only comments)"))
    return doc


def _plain(node: Any, loc: Path_, doc: YamlDoc, depth: int) -> Any:
    import yaml

    mark = node.start_mark
    doc.marks[loc] = (mark.line + 1, mark.column + 1)
    if depth > MAX_DEPTH:
        raise _problem(doc.path, _("nested more than {n} levels deep").format(n=MAX_DEPTH),
                       mark.line + 1, mark.column + 1)
    if node.tag not in _CORE_TAGS:
        raise _problem(doc.path, _("tag {tag} is not allowed").format(tag=node.tag),
                       mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag.endswith(":null") else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*loc, i), doc, depth + 1) for i, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key_mark = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":null"):
            raise _problem(doc.path, _("a key must be plain text"), key_mark.line + 1,
                           key_mark.column + 1)
        key = key_node.value
        if key == "<<":
            raise _problem(doc.path, _("merge keys (<<) are not allowed"), key_mark.line + 1,
                           key_mark.column + 1)
        if key in result:
            first = doc.marks[(*loc, key)][0]
            raise _problem(
                doc.path,
                _("duplicate key {key!r} (first at line {first})").format(key=key, first=first),
                key_mark.line + 1,
                key_mark.column + 1,
            )
        result[key] = _plain(value_node, (*loc, key), doc, depth + 1)
        doc.marks[(*loc, key)] = (key_mark.line + 1, key_mark.column + 1)
    return result


_LOADER: type | None = None


def _loader_class() -> type:
    """A loader built on the C parser where there is one, composing nodes in Python so that
    anchors and aliases are refused before anything is expanded."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml
    from yaml.composer import Composer
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

    class StrictComposer(Composer):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()  # type: ignore[attr-defined]
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise yaml.MarkedYAMLError(
                    None, None, _("anchors and aliases (& and *) are not allowed"), mark
                )
            # Stop deep nesting here, with its line, before Python's recursion limit does.
            if self.depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(None, None, _(
                    "nested more than {n} levels deep").format(n=MAX_DEPTH), event.start_mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    class Loader(StrictComposer, Parser, Resolver):
        def __init__(self, stream: str) -> None:
            Parser.__init__(self, stream)
            StrictComposer.__init__(self)
            Resolver.__init__(self)

        def dispose(self) -> None:
            pass

    _LOADER = Loader
    return Loader
