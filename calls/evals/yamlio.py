"""YAML for scenario files: errors that name the file and line, and none of YAML 1.1's surprises.

PyYAML's safe loader reads `yes`/`no`/`on`/`off` as booleans, `10:30` as the integer 630 and `2026-05-11` as a
date. In a file of caller lines and shop times those are bugs waiting to happen, so here only `true`/`false`,
plain integers and decimals, and `null`/`~` are typed: everything else is a string. Mappings remember the line
of each key, and a key written twice is an error (PyYAML silently keeps the last one).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner


class ScenarioError(ValueError):
    """A problem in a scenario file, with where it is."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")


class Node(dict):
    """A YAML mapping that knows its line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class NodeList(list):
    line: int = 0
    item_lines: list


class _Resolver(BaseResolver):
    pass


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# No leading "+" (a date offset, "+3") and no leading zero (a ZIP code, "06103"): those stay text.
_Resolver.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:0|-?[1-9][0-9]*)$"), list("-0123456789"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]*\.[0-9]+$"), list("-+.0123456789"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


class _Constructor(SafeConstructor):
    def construct_yaml_map(self, node):
        data = Node()
        yield data
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                raise ScenarioError(self.name, key_node.start_mark.line + 1, "keys must be plain words")
            key = str(key)
            if key in data:
                raise ScenarioError(
                    self.name,
                    key_node.start_mark.line + 1,
                    f"`{key}` is given twice (first on line {data.key_lines[key]})",
                )
            data.key_lines[key] = key_node.start_mark.line + 1
            data[key] = self.construct_object(value_node, deep=True)

    def construct_yaml_seq(self, node):
        data = NodeList()
        yield data
        data.line = node.start_mark.line + 1
        data.item_lines = [child.start_mark.line + 1 for child in node.value]
        data.extend(self.construct_object(child, deep=True) for child in node.value)


_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_yaml_map)
_Constructor.add_constructor("tag:yaml.org,2002:seq", _Constructor.construct_yaml_seq)


class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):
    def __init__(self, stream, name: str):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.name = name


def load(path: Path) -> object:
    """The document in `path`; ScenarioError (with the line) for anything that is not valid YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, None, f"cannot read: {exc}") from None
    loader = _Loader(text, str(path))
    try:
        return loader.get_single_data()
    except ScenarioError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: where it was opened, not the end of the file
        line = mark.line + 1 if mark else None
        problem = ", ".join(p for p in (exc.context, exc.problem) if p)
        raise ScenarioError(path, line, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
