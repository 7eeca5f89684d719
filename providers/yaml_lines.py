"""Reading YAML with a line number for every key path (yaml.compose's node marks).

Safe by construction: SafeLoader only, anchors and aliases refused (no expansion
bombs), duplicate keys reported instead of silently overwritten, a size limit checked
before parsing and a nesting limit checked while the events stream by (before the
recursive composer runs), keys of bounded length, only finite numbers of a sane size.
"""
import math
from dataclasses import dataclass

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 20  # config.yml needs 6 levels; deeper is a mistake or an attack on the recursive composer
MAX_KEY_LENGTH = 100
MAX_INTEGER = 2_147_483_647


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    line: int | None
    message: str

    def __str__(self):
        where = f"{self.path} (line {self.line})" if self.line else (self.path or "config.yml")
        return f"{where}: {self.message}"


class ConfigFileError(Exception):
    def __init__(self, issues):
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues))


def load_yaml(text):
    """(data, lines): plain data and {path tuple: 1-based line}. Raises ConfigFileError."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ConfigFileError([ConfigIssue("", None, f"The file is larger than {MAX_BYTES // 1024} KB.")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigFileError([ConfigIssue("", None, "The file is not UTF-8 text.")]) from None
    if len(text) > MAX_BYTES:
        raise ConfigFileError([ConfigIssue("", None, f"The file is larger than {MAX_BYTES // 1024} KB.")])
    try:
        _check_events(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigFileError([ConfigIssue("", mark.line + 1 if mark else None, f"YAML syntax: {problem}.")]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([ConfigIssue("", None, f"YAML syntax: {exc}")]) from None
    if node is None:
        raise ConfigFileError([ConfigIssue("", None, "The file is empty.")])
    lines, issues = {}, []
    constructor = yaml.SafeLoader("")
    data = _to_python(node, (), lines, issues, constructor)
    if issues:
        raise ConfigFileError(issues)
    return data, lines


def _check_events(text):
    """Refuse anchors, aliases and deep nesting from the event stream (iterative, so never a RecursionError)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ConfigFileError([ConfigIssue("", line, "Anchors (&name) and aliases (*name) are not supported.")])
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigFileError([ConfigIssue("", line, f"The file nests deeper than {MAX_DEPTH} levels.")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _checked_scalar(value):
    """The value, or a ValueError saying why a number is refused."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Numbers must be finite (.inf and .nan are not accepted).")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise ValueError(f"Numbers must be between -{MAX_INTEGER} and {MAX_INTEGER}.")
    return value


def _to_python(node, path, lines, issues, constructor):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                issues.append(ConfigIssue(dotted(path), key_node.start_mark.line + 1, "Keys must be plain text."))
                continue
            if len(key) > MAX_KEY_LENGTH:
                issues.append(ConfigIssue(dotted(path), key_node.start_mark.line + 1,
                                          f"Keys have at most {MAX_KEY_LENGTH} characters ({key[:20]!r}… has "
                                          f"{len(key)})."))
                continue
            child = (*path, key)
            if key in out:
                issues.append(ConfigIssue(dotted(child), key_node.start_mark.line + 1,
                                          f"Duplicate key {key!r} (first on line {lines[child]})."))
                continue
            lines[child] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, child, lines, issues, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines, issues, constructor) for i, item in enumerate(node.value)]
    try:
        return _checked_scalar(constructor.construct_object(node, deep=True))
    except yaml.YAMLError as exc:
        issues.append(ConfigIssue(dotted(path), node.start_mark.line + 1, f"Cannot read this value: {exc}"))
    except (ValueError, OverflowError) as exc:  # int() of thousands of digits, .inf, .nan
        message = str(exc) if str(exc).startswith("Numbers") else "Cannot read this value: not a valid number or date."
        issues.append(ConfigIssue(dotted(path), node.start_mark.line + 1, message))
    return None


def dotted(path):
    return ".".join(str(p) for p in path)
