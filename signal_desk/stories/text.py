"""Turning a post's text into matching features, the same way for every language.

Words are case-folded and stripped of punctuation, Arabic and Persian letter variants are unified
(so عراقجي and عراقچی become one word), digits of every script become ASCII, and a light, rule-based
stemmer removes the commonest inflections. Numbers, URLs and canonical entity ids become
language-independent features, prefixed so they never collide with words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

ENTITY_PREFIX = "e:"
URL_PREFIX = "u:"
NUMBER_PREFIX = "n:"
LANGUAGE_INDEPENDENT_PREFIXES = (ENTITY_PREFIX, URL_PREFIX, NUMBER_PREFIX)

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'«»]+", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+")
# A number not glued to the letters before it; commas or dots inside it are separators.
_NUMBER_RE = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)*")
_POSSESSIVE_RE = re.compile(r"['’]s\b")

_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}
_ARABIC_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "ى": "ي", "ی": "ي", "ئ": "ي",
    "ک": "ك", "ة": "ه", "ۀ": "ه", "ؤ": "و",
    # Persian letters as Arabic transliterates them (عراقچی is written عراقجي).
    "چ": "ج", "پ": "ب", "ژ": "ز", "گ": "ك",
    "٫": ".", "٬": ",", "ـ": "",
}
_TRANSLATION = str.maketrans({**_DIGITS, **{ord(k): v for k, v in _ARABIC_LETTERS.items()}})
# Harakat, superscript alef and Quranic marks carry no meaning for matching.
_ARABIC_MARKS_RE = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
# The Persian zero-width non-joiner glues affixes (می‌روم, کتاب‌ها); splitting there isolates them.
_JOINERS_RE = re.compile("[\u200c\u200d\u200e\u200f]")

# Accents on Latin letters are dropped (after NFD, the combining marks that follow a Latin letter).
_ACCENTED_LATIN_RE = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")
_LATIN_ACCENT_RE = re.compile("(?<=[a-z\u00c6\u00e6\u00d8\u00f8\u0131\u0142])[\u0300-\u036f]+")
_HANDLE_OR_URL_RE = re.compile(r"(?:https?://|www\.)\S+|@\w+", re.IGNORECASE)

_ARABIC_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
_LATIN_SUFFIXES = ("ing", "ed", "es", "s")
_MIN_STEM = 3


@dataclass(frozen=True, slots=True)
class TextFeatures:
    words: tuple[str, ...]
    numbers: tuple[str, ...]
    urls: tuple[str, ...]


def normalise(text: str) -> str:
    """Case-folded NFKC text with unified Arabic-script letters, Latin letters without accents (Mégantic
    and Megantic, México and Mexico meet) and ASCII digits."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _JOINERS_RE.sub(" ", text)
    text = _ARABIC_MARKS_RE.sub("", text)
    if _ACCENTED_LATIN_RE.search(text):
        text = _LATIN_ACCENT_RE.sub("", unicodedata.normalize("NFD", text))
        text = unicodedata.normalize("NFC", text)
    return text.translate(_TRANSLATION)


def dominant_script(text: str) -> str | None:
    """The script most of the text's letters are written in (URLs and @handles left out): latin,
    cyrillic, arabic, greek, hebrew, cjk, hangul, indic, thai or other; None without letters. Posts in
    different scripts share no words, so word evidence says nothing about whether they tell one story."""
    counts: dict[str, int] = {}
    for char in _HANDLE_OR_URL_RE.sub(" ", text):
        if char.isalpha():
            script = _script_of(ord(char))
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    return max(sorted(counts), key=counts.__getitem__)


def _script_of(code: int) -> str:
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    if 0x370 <= code <= 0x3FF:
        return "greek"
    if 0x400 <= code <= 0x52F:
        return "cyrillic"
    if 0x590 <= code <= 0x5FF:
        return "hebrew"
    if 0x600 <= code <= 0x6FF or 0x750 <= code <= 0x77F or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        return "arabic"
    if 0x900 <= code <= 0xDFF:
        return "indic"
    if 0xE00 <= code <= 0xE7F:
        return "thai"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "hangul"
    if 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return "cjk"
    return "other"


def normalise_url(url: str) -> str:
    """Host without www and path without trailing slash: the same article however it was linked."""
    raw = url.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", raw, re.IGNORECASE):
        raw = "http://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}"


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF


def stem(word: str) -> str:
    """Strip one common inflection: Latin-script suffixes, Arabic-script definite articles."""
    if "\u0600" <= word[0] <= "\u06ff":
        for article in _ARABIC_ARTICLES:
            if word.startswith(article) and len(word) - len(article) >= _MIN_STEM:
                return word[len(article):]
        return word
    for suffix in _LATIN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) > _MIN_STEM:
            return word[: -len(suffix)]
    return word


def _word_terms(token: str) -> list[str]:
    if token.isdigit() or len(token) < 2 and not _is_cjk(token):
        return []
    if _is_cjk(token[0]):
        # Scripts written without spaces: character bigrams stand in for words.
        if len(token) == 1:
            return [token]
        return [token[i : i + 2] for i in range(len(token) - 1)]
    return [stem(token)]


def _number_terms(text: str) -> list[str]:
    numbers = []
    for match in _NUMBER_RE.finditer(text):
        value = match.group()
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):
            value = value.replace(",", "")
        value = value.replace(",", ".")
        # Single digits ("2 senators", "3 tips") match far too much to be evidence.
        if len(value.replace(".", "")) >= 2:
            numbers.append(value)
    return numbers


def text_features(text: str) -> TextFeatures:
    """Words, numbers and URLs of one post, each list de-duplicated in first-seen order."""
    urls = [normalise_url(u) for u in _URL_RE.findall(text)]
    body = normalise(_URL_RE.sub(" ", text))
    body = _POSSESSIVE_RE.sub("", body)
    words: list[str] = []
    for token in _WORD_RE.findall(body):
        words.extend(_word_terms(token))
    return TextFeatures(
        words=tuple(dict.fromkeys(words)),
        numbers=tuple(dict.fromkeys(_number_terms(body))),
        urls=tuple(dict.fromkeys(u for u in urls if u)),
    )
