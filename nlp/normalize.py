"""Text clean-up before any rule looks at a message: one canonical form of what the sender wrote."""

from __future__ import annotations

import functools
import re
import unicodedata

# Residents' requests fit in a few hundred characters; what follows the first thousand (a
# pasted article) changes nothing, and the cap bounds the work a message can cost.
MAX_CHARS = 1000

BOT_NAMES: tuple[str, ...] = ("社区小助手", "小助手")

# WeChat stickers arrive as their name in brackets: [玫瑰] [强] [OK] [动画表情].
_STICKER = re.compile(r"\[(?:[\u4e00-\u9fff]{1,6}|[A-Za-z]{1,12})\]")
# Emoji and pictographs, their modifiers (skin tone, variation selector, joiner) and flags.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U00002b00-\U00002bff\U0001f1e6-\U0001f1ff"
    "\U000e0020-\U000e007f\ufe0e\ufe0f\u200d\u20e3\u2300-\u23ff\u3030\u303d\u3297\u3299]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Control (Cc) and format (Cf) characters, whitespace excepted.
_CONTROL = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0001\U000e0020-\U000e007f]"
)
# A mention ends at the (four-per-em) space WeChat puts after the name.
# @所有人 stays: it is not a person but the mark of an announcement to the whole group.
_MENTION = re.compile(r"@(?!所有人)[^\s@]{1,20}(?=\s|$)")
_QUOTE_BLOCK = re.compile(r"^\s*「[^」]{0,2000}」\s*$", re.S)
_SEPARATOR_LINE = re.compile(r"^[ \t]*(?:[-－—][ \t]*){4,}$", re.M)
_SPACE = re.compile(r"\s+")
# What separates clauses in normalized text (full-width marks are half-width by then, 。、
# spaces); WeChat users mostly pause with a space.
CLAUSE_BREAKS = " ,.!?;:~…()【】[]"
# NFKC leaves Chinese full stops and enumeration commas alone; map the ones that only
# mark a pause to a space so clause splitting treats every separator the same.
_PUNCT_TO_SPACE = str.maketrans({"。": " ", "、": " ", "·": " ", "•": " "})
# OpenCC t2s keeps 著 (it is also a Simplified character, as in 著名); in resident messages
# it is nearly always the particle 着 written the Traditional way (著火, 停著, 擋著).
_ZHU = re.compile(r"(?<![显土卓名原巨编])著(?![名作称述])")


@functools.cache
def _converter():  # type: ignore[no-untyped-def]
    # Created once: building an OpenCC converter reads its dictionaries from disk.
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (OpenCC t2s), 著 as the particle 着."""
    if not text:
        return text
    return _ZHU.sub("着", _converter().convert(text))


def strip_controls(text: str) -> str:
    """Drops lone surrogates and control/format characters (zero-width, bidi marks); keeps whitespace."""
    return _CONTROL.sub("", _SURROGATE.sub("", text))


def split_quote(text: str) -> tuple[str, str]:
    """Splits a quoted reply into (quote, own text).

    WeChat renders a reply as 「name：quoted text」, a line of dashes, then the reply (newer
    clients may put the quote after the separator). The quote is someone else's words, so
    only the other side of the separator is the sender's own request.
    """
    match = _SEPARATOR_LINE.search(text)
    if not match:
        return "", text
    before, after = text[: match.start()], text[match.end() :]
    if _QUOTE_BLOCK.match(before):
        return before.strip(), after
    if _QUOTE_BLOCK.match(after):
        return after.strip(), before
    return "", text


def quote_text(quote: str) -> str:
    """The quoted words without the brackets and the quoted sender's name."""
    inner = quote.strip().removeprefix("「").removesuffix("」")
    name, sep, rest = inner.partition("：") if "：" in inner else inner.partition(":")
    return rest if sep and len(name) <= 20 else inner


def strip_mentions(text: str, bot_names: tuple[str, ...] = BOT_NAMES) -> str:
    """Removes @mentions: the bot's own names anywhere, other names up to the following space."""
    for name in bot_names:
        text = text.replace("@" + name, " ")
    return _MENTION.sub(" ", text)


def strip_stickers(text: str) -> str:
    """Removes WeChat sticker placeholders and emoji, which carry no request."""
    return _EMOJI.sub("", _STICKER.sub(" ", text))


def normalize(text: str) -> str:
    """The canonical form every rule reads.

    Traditional -> Simplified, full-width -> half-width (NFKC), stickers, emoji, @mentions and
    a quoted message removed, whitespace collapsed to single spaces, ASCII lower-cased.
    """
    return normalize_parts(text)[1]


def normalize_parts(text: str) -> tuple[str, str]:
    """(normalized quote, normalized own text) of a message; the quote is "" when there is none."""
    if not isinstance(text, str) or not text:
        return "", ""
    text = strip_controls(text[:MAX_CHARS])
    quote, own = split_quote(text)
    return (_clean(quote_text(quote)) if quote else ""), _clean(own)


def canonical(text: str) -> str:
    """Simplified, NFKC (half-width), lower-case, pauses as single spaces: how keywords are stored."""
    text = unicodedata.normalize("NFKC", to_simplified(text))
    return _SPACE.sub(" ", text.translate(_PUNCT_TO_SPACE).lower()).strip()


def _clean(text: str) -> str:
    # NFKC before stripping, so full-width ＠ and ［玫瑰］ and the space after a mention look
    # like the usual ones.
    text = unicodedata.normalize("NFKC", to_simplified(text))
    text = strip_stickers(strip_mentions(text)).translate(_PUNCT_TO_SPACE).lower()
    return _SPACE.sub(" ", text).strip()
