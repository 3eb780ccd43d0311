"""Text normalisation for matching names and keywords across Arabic, Persian and English spellings."""
from __future__ import annotations

import re
import unicodedata

# Arabic and Persian spell the same letters with different code points; hamza seats vary by writer;
# harakat, tatweel and joiners are optional in writing and never part of a name's identity.
_LETTER_MAP = {
    "ي": "ی", "ى": "ی", "ك": "ک", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ۀ": "ه",
    "\u200c": " ", "\u00a0": " ", "’": "'", "‘": "'",
    **{d: str(i % 10) for i, d in enumerate("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")},
}
_DROPPED = ["ـ", "\u200d", "\u200e", "\u200f"] + [
    chr(c) for c in range(0x0600, 0x0700) if unicodedata.category(chr(c)) == "Mn"]
_TABLE = str.maketrans({**_LETTER_MAP, **{c: None for c in _DROPPED}})
_SOFT_TABLE = str.maketrans({"’": "'", "‘": "'", **{c: None for c in _DROPPED}})
_PERSIAN_LETTERS = re.compile(r"[پچژگکی]")
_ARABIC_LETTERS = re.compile(r"[يكة]")
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w+")
ARABIC_SCRIPT_LANGS = ("ar", "fa", "ur", "ps", "ku")


def normalize(text: str) -> str:
    """Lowercase, one spelling per Arabic/Persian letter, marks and joiners dropped (ZWNJ becomes a space)."""
    return text.translate(_TABLE).lower()


def soft_text(text: str) -> str:
    """The text claim patterns run on: curly apostrophes straightened, tatweel and harakat dropped,
    Arabic and Persian letters otherwise as written (the patterns are written against them)."""
    return text.translate(_SOFT_TABLE)


def words(normalized: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(normalized)]


def script_language(text: str, declared: str | None) -> str:
    """The language a text is most likely written in, from its script: Latin text keeps a declared
    Latin-script language (else en); Arabic script is fa or ar by the letters only one of them uses."""
    arabic = len(_ARABIC_SCRIPT.findall(text))
    latin = len(_LATIN.findall(text))
    if arabic == 0 and latin == 0:
        return declared or "und"
    if arabic > latin:
        if _PERSIAN_LETTERS.search(text):
            return "fa"
        if _ARABIC_LETTERS.search(text):
            return "ar"
        return declared if declared in ARABIC_SCRIPT_LANGS else "ar"
    if declared and declared not in ARABIC_SCRIPT_LANGS:
        return declared
    return "en"


