"""The keyword rules (config/nlp/keywords.yaml): loading, validation with file:line errors, and matching."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from config.community import ConfigError
from nlp.config_files import NLP_CONFIG_DIR
from nlp.normalize import canonical
from nlp.understanding import LABELS

CONFIG_DIR = NLP_CONFIG_DIR
DEFAULT_RULES_PATH = CONFIG_DIR / "keywords.yaml"
DEFAULT_USERDICT_PATH = CONFIG_DIR / "userdict.txt"

# Cue sets the classifier reads by name; the file must define each (it may add more, e.g.
# for `object_needs`).
CODE_CUES: tuple[str, ...] = (
    "ask", "book", "complaint", "narration", "done", "humor", "broadcast", "existing_booking", "asking_group",
)
# Cue sets whose words lower scores; hiding a keyword is what they are for ("修好了" hides 修).
LOWERING_CUES: frozenset[str] = frozenset(
    {"narration", "done", "humor", "broadcast", "existing_booking", "asking_group", "neighbourly", "thanks",
     "notice", "peers", "defer"}
)
RULE_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label != "chitchat")
MAX_WEIGHT = 10.0
# Word-boundary checks (jieba) per message: real messages need a handful; a 1,000-character
# soup of short keywords would otherwise cost tens of milliseconds.
MAX_TOKEN_CHECKS = 64

Kind = Literal["keyword", "object", "cue", "mask", "hint"]


class RulesError(ConfigError, ValueError):
    """A rules file that cannot be used; the message names the file, the line and the problem.

    A `ConfigError`, so the command line reports it like any other configuration file.
    """


@dataclass(frozen=True)
class Entry:
    """What one word means in one place of the rules: a label's keyword or object, a cue, a mask."""

    kind: Kind
    name: str  # the label, or the cue set; "" for a mask
    weight: float
    token: bool = False  # only counts where jieba agrees it is a whole word (or run of words)


@dataclass(frozen=True)
class Hit:
    """A word of the rules found in a text, [start, end)."""

    term: str
    start: int
    end: int
    entries: tuple[Entry, ...]
    # (kind, name) of each meaning: `("cue", "ask") in hit.names` (the scoring asks this often).
    # Rules.match passes the set it keeps per word (building it for every hit cost ≈ 3 µs a message).
    names: frozenset[tuple[str, str]] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.names is None:
            object.__setattr__(self, "names", frozenset((e.kind, e.name) for e in self.entries))


@dataclass(frozen=True)
class Settings:
    """The `settings:` section; keywords.yaml comments what each number does."""

    threshold: float = 2.5
    margin: float = 0.75
    ask_cap: float = 2.0
    book_cap: float = 2.5
    date_bonus: float = 1.0
    part_bonus: float = 0.5
    bare_bonus: float = 1.0
    complaint_cap: float = 1.5
    quote_factor: float = 0.8
    request_lift: float = 0.5
    hint_cap: float = 1.5
    notice_level: float = 2.5
    emergency_weight: float = 3.0
    question_finals: str = "不没么嘛否"


@dataclass(frozen=True)
class LabelRules:
    """One label's words: keywords count alone, objects only with a word of `object_needs`;
    hints (broad word classes: 灯, 车, 老人) only choose the kind of a request to the community
    that no keyword names."""

    keywords: dict[str, float]
    objects: dict[str, float]
    object_needs: tuple[str, ...]
    hints: dict[str, float] = field(default_factory=dict)


@dataclass
class Rules:
    """Validated rules with an Aho-Corasick automaton over every word they name."""

    settings: Settings
    labels: dict[str, LabelRules]
    cues: dict[str, dict[str, float]]
    masks: tuple[str, ...]
    entries: dict[str, tuple[Entry, ...]]
    source: Path | None = None
    _automaton: Any = field(default=None, repr=False)

    @property
    def token_chars(self) -> frozenset[str]:
        """Characters of the words that need jieba's word boundaries (flagged `token`)."""
        return frozenset("".join(t for t, es in self.entries.items() if any(e.token for e in es)))

    def __post_init__(self) -> None:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for term, entries in self.entries.items():
            # What match() needs of a word found, worked out once: its length, its reading, and
            # whether jieba must agree it is a whole word.
            automaton.add_word(term, (term, len(term), _reading(entries), any(e.token for e in entries)))
        automaton.make_automaton()
        self._automaton = automaton

    def match(self, text: str, is_word: Callable[[str, int, int], bool] | None = None,
              hidden: list[Hit] | None = None) -> list[Hit]:
        """The rule words in `text` (already normalized), in text order.

        Words flagged `token` are kept only where `is_word(text, start, end)` (jieba) agrees
        they are whole words; without `is_word` they count everywhere. Then, of two
        overlapping words where one contains the other, only the longer counts (the shorter
        go to `hidden` if given), and masks are dropped.
        """
        if not text:
            return []
        # Each word found as a tuple first, a Hit made only for those kept or hidden: most found
        # are inside a longer one, and making a Hit costs ≈ 0.7 µs (≈ 8 words a message).
        raw: list[tuple[int, int, str, tuple[Any, ...]]] = []
        checks = 0
        for end_index, (term, length, reading, token) in self._automaton.iter(text):
            start = end_index - length + 1
            if token and is_word is not None and (
                    (checks := checks + 1) > MAX_TOKEN_CHECKS or not is_word(text, start, end_index + 1)):
                # Past MAX_TOKEN_CHECKS a message is keyword soup, not a request: its remaining
                # short words are not asked about (each check segments a window with jieba).
                entries = tuple(e for e in reading[0] if not e.token)
                if not entries:
                    continue
                reading = _reading(entries)
            raw.append((start, -length, term, reading))
        raw.sort(key=_BY_START_LONGEST_FIRST)
        kept: list[Hit] = []
        reach = -1
        for start, minus_length, term, (entries, names, only_hints, meaning, meaning_names) in raw:
            end = start - minus_length
            if only_hints:
                # A hint (a broad word: 灯, 车) never hides a word of the rules; it is itself
                # hidden by a longer rule word holding it ("楼道灯").
                if end > reach:
                    kept.append(Hit(term, start, end, entries, names))
                continue
            # Sorted by start, longest first: an earlier hit reaching this far contains this one.
            if end > reach:
                if meaning:
                    kept.append(Hit(term, start, end, meaning, meaning_names))
                reach = end
            elif hidden is not None:
                hidden.append(Hit(term, start, end, entries, names))
        return kept


def _reading(entries: tuple[Entry, ...]) -> tuple[Any, ...]:
    """What `Rules.match` needs of a word's entries, worked out once a word: (entries, their names,
    whether all are hints, the entries that are no mask, their names)."""
    meaning = tuple(e for e in entries if e.kind != "mask")
    names = frozenset((e.kind, e.name) for e in entries)
    return (entries, names, all(e.kind == "hint" for e in entries), meaning,
            names if len(meaning) == len(entries) else frozenset((e.kind, e.name) for e in meaning))


_BY_START_LONGEST_FIRST = operator.itemgetter(0, 1)  # (start, -length): longest first at a start


# ---------------------------------------------------------------------------------------------
# Loading


def load_rules(path: Path | str | None = None) -> Rules:
    """Reads and validates a rules file; raises `RulesError` naming the file and line."""
    path = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc.strerror or exc}") from exc
    return parse_rules(text, source=path)


def parse_rules(text: str, source: Path | str | None = None) -> Rules:
    """Builds `Rules` from YAML text; `source` only names the file in error messages."""
    where = str(source) if source is not None else "<rules>"
    try:
        # libyaml's loader when present: composing the rules file is ≈ 8x faster (start-up time).
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        raise RulesError(f"{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    builder = _Builder(where)
    rules = builder.build(node)
    if builder.errors:
        raise RulesError("\n".join(builder.errors))
    assert rules is not None
    rules.source = Path(source) if source is not None else None
    return rules


class _Builder:
    """Walks the composed YAML tree so every complaint can point at a line."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.errors: list[str] = []
        self._scalars = yaml.SafeLoader("")

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        self.errors.append(f"{self.where}{line}: {path or '(top level)'}: {message}")

    def scalar(self, node: yaml.Node) -> Any:
        return self._scalars.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node | None, path: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) of a mapping; reports duplicate and non-text keys."""
        if node is None:
            return []
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, "expected a mapping (key: value lines)")
            return []
        seen: dict[str, int] = {}
        out = []
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float) or isinstance(key, bool):
                self.error(key_node, path, f"a key must be a word, got {key!r}")
                continue
            key = str(key)
            if key in seen:
                self.error(key_node, f"{path}.{key}" if path else key,
                           f"listed twice (first at line {seen[key]})")
                continue
            seen[key] = key_node.start_mark.line + 1
            out.append((key, key_node, value_node))
        return out

    def build(self, root: yaml.Node | None) -> Rules | None:
        if root is None:
            self.error(None, "", "the file is empty")
            return None
        sections = {key: (knode, vnode) for key, knode, vnode in self.mapping(root, "")}
        for key, (knode, _) in sections.items():
            if key not in ("version", "settings", "masks", "cues", "labels"):
                self.error(knode, key, "unknown section (expected version, settings, masks, cues, labels)")
        if "version" in sections and self.scalar(sections["version"][1]) != 1:
            self.error(sections["version"][1], "version", "only version 1 is understood")
        settings = self.settings(sections.get("settings", (None, None))[1])
        entries: dict[str, list[Entry]] = {}
        places: dict[tuple[Kind, str, str], int] = {}  # (kind, name, term) -> line, for duplicates

        def add(term_node: yaml.Node, raw: str, path: str, entry: Entry) -> str | None:
            """Files the word under its normalized form, which it returns (None if unusable)."""
            term = canonical(raw)
            if not term or " " in term:
                self.error(term_node, path, f"{raw!r} is not a single word once normalized ({term!r})")
                return None
            key = (entry.kind, entry.name, term)
            if key in places:
                self.error(term_node, path, f"{raw!r} is the same word as one at line {places[key]}")
                return None
            places[key] = term_node.start_mark.line + 1
            entries.setdefault(term, []).append(entry)
            return term

        masks: list[str] = []
        masks_node = sections.get("masks", (None, None))[1]
        if masks_node is not None:
            if not isinstance(masks_node, yaml.SequenceNode):
                self.error(masks_node, "masks", "expected a list of words")
            else:
                for i, item in enumerate(masks_node.value):
                    value = self.scalar(item) if isinstance(item, yaml.ScalarNode) else None
                    if not isinstance(value, str) or not value:
                        self.error(item, f"masks[{i}]", "expected a word")
                        continue
                    term = add(item, value, f"masks[{i}]", Entry("mask", "", 0.0))
                    if term:
                        masks.append(term)

        cues: dict[str, dict[str, float]] = {}
        cue_node = sections.get("cues", (None, None))[1]
        for name, _, vnode in self.mapping(cue_node, "cues"):
            words = cues.setdefault(name, {})
            for term, tnode, wnode in self.mapping(vnode, f"cues.{name}"):
                weight, token = self.weight(wnode, f"cues.{name}.{term}")
                if weight is not None:
                    stored = add(tnode, term, f"cues.{name}.{term}", Entry("cue", name, weight, token))
                    if stored:
                        words[stored] = weight
        for name in CODE_CUES:
            if name not in cues:
                self.error(sections.get("cues", (root, None))[0], "cues",
                           f"missing cue set {name!r} (the classifier reads it)")

        labels: dict[str, LabelRules] = {}
        labels_node = sections.get("labels", (None, None))[1]
        if labels_node is None:
            self.error(root, "labels", "missing section 'labels'")
        for label, knode, vnode in self.mapping(labels_node, "labels"):
            path = f"labels.{label}"
            if label not in RULE_LABELS:
                hint = " (chit-chat is what is left over; it has no keywords)" if label == "chitchat" else ""
                self.error(knode, path, f"unknown label{hint}; labels are those of shared/eval/LABELS.md")
                continue
            parts = {key: (kn, vn) for key, kn, vn in self.mapping(vnode, path)}
            for key, (kn, _) in parts.items():
                if key not in ("keywords", "objects", "object_needs", "hints"):
                    self.error(kn, f"{path}.{key}", "unknown key (expected keywords, objects, object_needs, hints)")
            keywords: dict[str, float] = {}
            objects: dict[str, float] = {}
            hints: dict[str, float] = {}
            for section, kind, target in (("keywords", "keyword", keywords), ("objects", "object", objects),
                                          ("hints", "hint", hints)):
                for term, tnode, wnode in self.mapping(parts.get(section, (None, None))[1], f"{path}.{section}"):
                    weight, token = self.weight(wnode, f"{path}.{section}.{term}")
                    if weight is not None:
                        stored = add(tnode, term, f"{path}.{section}.{term}",
                                     Entry(kind, label, weight, token))  # type: ignore[arg-type]
                        if stored:
                            target[stored] = weight
            needs: tuple[str, ...] = ()
            if "object_needs" in parts:
                nnode = parts["object_needs"][1]
                value = self.scalar(nnode) if isinstance(nnode, yaml.ScalarNode) else None
                if isinstance(nnode, yaml.SequenceNode):
                    value = [self.scalar(n) for n in nnode.value]
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    self.error(nnode, f"{path}.object_needs", "expected a list of cue set names")
                else:
                    for name in value:
                        if name not in cues:
                            self.error(nnode, f"{path}.object_needs", f"unknown cue set {name!r}")
                    needs = tuple(value)
            if objects and not needs:
                self.error(parts["objects"][0], f"{path}.objects",
                           "objects need `object_needs` (what must go with them)")
            overlap = set(keywords) & set(objects)
            if overlap:
                self.error(parts["objects"][0], f"{path}.objects",
                           f"also listed as keywords: {', '.join(sorted(overlap))}")
            labels[label] = LabelRules(keywords, objects, needs, hints)
        self.check_hiding(entries, places)
        if self.errors:
            return None
        return Rules(settings, labels, cues, tuple(masks), {t: tuple(e) for t, e in entries.items()})

    def check_hiding(self, entries: dict[str, list[Entry]], places: dict[tuple[Kind, str, str], int]) -> None:
        """A raising cue word containing a label's keyword would hide it (the longer word wins),
        e.g. "找律师" in `book` hiding 律师: it must be that label's keyword too, or be listed
        under `masks` to say the hiding is meant ("打不着火" is not 着火)."""
        keywords = {(term, e.name) for term, es in entries.items() for e in es if e.kind == "keyword"}
        for term, es in entries.items():
            cue_sets = [e.name for e in es if e.kind == "cue" and e.name not in LOWERING_CUES]
            if not cue_sets or any(e.kind == "mask" for e in es):
                continue
            own = {e.name for e in es if e.kind in ("keyword", "object")}
            for inner, label in keywords:
                if inner != term and inner in term and label not in own:
                    line = places.get(("cue", cue_sets[0], term))
                    self.errors.append(
                        f"{self.where}:{line}: cues.{cue_sets[0]}.{term}: contains {inner!r}, a keyword of {label},"
                        f" and would hide it; list {term!r} under {label} too, or shorten it"
                    )

    def weight(self, node: yaml.Node, path: str) -> tuple[float | None, bool]:
        """A weight written as `2` or as `{weight: 2, token: true}`."""
        token = False
        if isinstance(node, yaml.MappingNode):
            fields = {key: vnode for key, _, vnode in self.mapping(node, path)}
            for key in fields:
                if key not in ("weight", "token"):
                    self.error(fields[key], f"{path}.{key}", "unknown key (expected weight, token)")
            if "token" in fields:
                token = self.scalar(fields["token"])
                if not isinstance(token, bool):
                    self.error(fields["token"], f"{path}.token", "expected true or false")
                    token = False
            if "weight" not in fields:
                self.error(node, path, "missing weight")
                return None, False
            node = fields["weight"]
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(node, path, f"weight must be a number, got {value!r}")
            return None, False
        if not 0 <= value <= MAX_WEIGHT:
            self.error(node, path, f"weight {value} is outside 0..{MAX_WEIGHT:g}")
            return None, False
        return float(value), token

    def settings(self, node: yaml.Node | None) -> Settings:
        defaults = Settings()
        values: dict[str, Any] = {}
        for key, knode, vnode in self.mapping(node, "settings"):
            if not hasattr(defaults, key):
                self.error(knode, f"settings.{key}", "unknown setting")
                continue
            value = self.scalar(vnode) if isinstance(vnode, yaml.ScalarNode) else None
            expected = type(getattr(defaults, key))
            if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
                if value < 0:
                    self.error(vnode, f"settings.{key}", "must not be negative")
                    continue
                values[key] = float(value)
            elif expected is str and isinstance(value, str):
                values[key] = value
            else:
                self.error(vnode, f"settings.{key}", f"expected a {'number' if expected is float else 'text'}")
        return Settings(**values)
