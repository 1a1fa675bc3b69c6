"""Small YAML files under config/nlp/ read into pydantic models, a bad entry reported with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.community import ConfigError

M = TypeVar("M", bound=BaseModel)

# config/nlp/: the keyword rules, the normalization tables, the model's settings.
NLP_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config" / "nlp"


class NlpConfigError(ConfigError, ValueError):
    """A config/nlp/ file that cannot be used; the message names the file, the line and the problem."""


def load_model(path: Path, model: type[M]) -> M:
    """The file at `path` validated as `model`; raises `NlpConfigError` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NlpConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise NlpConfigError(f"{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(part) for part in loc) or "(top level)"
            lines.append(f"{path}:{_line(root, loc)}: {where}: {error['msg']}")
        raise NlpConfigError("\n".join(lines)) from None


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node of `loc` that exists in the file (1 when none does)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
