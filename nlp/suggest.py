"""Keywords staff might add to config/nlp/keywords.yaml, from the messages they labelled (`linli suggest-keywords`).

For each label, the words jieba.analyse's TF-IDF ranks highest in each of that label's corrected
messages, counted over the messages: a word found in several of them that the rules do not yet read
as that label (no keyword, object or hint of the label inside it) is a candidate. Messages the bot
had left as chit-chat ("uncaught") are counted apart, and so are the chit-chat corrections a word
also occurs in: a word common in chit-chat would make a poor keyword. Staff choose; nothing is
written to the rules file.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nlp.corpus_files import Row
from nlp.evidence import CHITCHAT
from nlp.normalize import normalize
from nlp.rules import DEFAULT_USERDICT_PATH, Rules

TAGS_PER_MESSAGE = 8
EXAMPLES = 2
EXAMPLE_CHARS = 40
# Masked numbers (139****5678), digits and Latin letters alone name nothing a rule could use.
_NOT_A_WORD = re.compile(r"^[\d*＊A-Za-z._\-]+$")
_RULE_KINDS = frozenset({"keyword", "object", "hint"})


@dataclass(frozen=True)
class Suggestion:
    word: str
    messages: int  # corrected messages of the label it is among the top words of
    uncaught: int  # ... of which the bot had read as chit-chat
    in_chitchat: int  # chit-chat corrections it occurs in
    weight: float  # summed TF-IDF weight, to order words found equally often
    examples: tuple[str, ...]
    elsewhere: tuple[str, ...]  # other labels whose rules already read it


Tagger = Callable[[str], list[tuple[str, float]]]


def jieba_tagger() -> Tagger:
    """jieba.analyse's TF-IDF keywords of a text, with the community's words kept whole."""
    import jieba

    with warnings.catch_warnings():
        # jieba.analyse reads its IDF table, and load_userdict the dictionary, without closing the file.
        warnings.simplefilter("ignore", ResourceWarning)
        import jieba.analyse

        if DEFAULT_USERDICT_PATH.is_file():
            jieba.load_userdict(str(DEFAULT_USERDICT_PATH))

    def tags(text: str) -> list[tuple[str, float]]:
        return [(str(w), float(s)) for w, s in jieba.analyse.extract_tags(text, topK=TAGS_PER_MESSAGE,
                                                                          withWeight=True)]

    return tags


def _rule_labels(rules: Rules, word: str) -> set[str]:
    """The labels whose keywords, objects or hints the rules find in `word`."""
    return {e.name for hit in rules.match(word) for e in hit.entries if e.kind in _RULE_KINDS}


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


def suggest_keywords(rows: Iterable[Row], rules: Rules, *, tagger: Tagger | None = None, min_messages: int = 2,
                     top: int = 10) -> dict[str, list[Suggestion]]:
    """Candidate keywords per label (labels in the rules' order), best first.

    `rows` are labelled messages (text already masked), each with the label the bot had given it
    under "was" (a correction) when known.
    """
    tagger = tagger or jieba_tagger()
    found: dict[str, dict[str, list]] = defaultdict(dict)  # label -> word -> [messages, uncaught, weight, examples]
    chitchat_texts: list[str] = []
    for row in rows:
        text = normalize(str(row["text"]))
        label = str(row["label"])
        if label == CHITCHAT:
            chitchat_texts.append(text)
            continue
        for word, weight in tagger(text):
            word = word.strip()
            if len(word) < 2 or _NOT_A_WORD.match(word):
                continue
            entry = found[label].setdefault(word, [0, 0, 0.0, []])
            entry[0] += 1
            entry[1] += row.get("was") == CHITCHAT
            entry[2] += weight
            if len(entry[3]) < EXAMPLES:
                entry[3].append(_excerpt(str(row["text"])))
    out: dict[str, list[Suggestion]] = {}
    for label in [*rules.labels, *sorted(set(found) - set(rules.labels))]:
        words = found.get(label)
        if not words:
            continue
        suggestions = []
        for word, (messages, uncaught, weight, examples) in words.items():
            read_as = _rule_labels(rules, word)
            if messages < min_messages or label in read_as:
                continue
            suggestions.append(Suggestion(word, messages, uncaught, sum(word in t for t in chitchat_texts),
                                          round(weight, 3), tuple(examples), tuple(sorted(read_as))))
        suggestions.sort(key=lambda s: (-s.messages, s.in_chitchat, -s.weight, s.word))
        if suggestions:
            out[label] = suggestions[:top]
    return out


def format_suggestions(suggestions: dict[str, list[Suggestion]], counts: dict[str, int]) -> str:
    """What `linli suggest-keywords` prints: per label, each word with its counts and examples."""
    if not suggestions:
        return "no keywords to suggest: too few corrected messages share a word the rules do not know yet"
    lines = []
    for label, words in suggestions.items():
        lines.append(f"{label} ({counts.get(label, 0)} labelled messages)")
        for s in words:
            notes = [f"{s.messages} messages"]
            if s.uncaught:
                notes.append(f"{s.uncaught} the bot had missed")
            if s.in_chitchat:
                notes.append(f"also in {s.in_chitchat} chit-chat")
            if s.elsewhere:
                notes.append(f"now read as {', '.join(s.elsewhere)}")
            lines.append(f"  {s.word}  ({'; '.join(notes)})")
            for example in s.examples:
                lines.append(f"      e.g. {example}")
        lines.append("")
    lines.append("Add the words you agree with to config/nlp/keywords.yaml under their label, then check with "
                 "`linli eval --corpus`.")
    return "\n".join(lines)
