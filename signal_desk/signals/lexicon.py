"""What annotation matches against: the watch lists' actors, roles, places, claims, keywords and
signal rules, the configured outlets, and per-language word lists (speech acts, media, cues).

Ids are global across watch lists: an actor or claim with the same id in two watch lists is one
actor or claim (their spellings and patterns are pooled).
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from signal_desk.config import Config, Source, Watchlist
from signal_desk.embeddings import MODEL as EMBEDDING_MODEL
from signal_desk.signals.claims import VERSION as CLAIMS_VERSION
from signal_desk.signals.claims import ClaimIndex
from signal_desk.signals.stance import DISMISSAL
from signal_desk.signals.textnorm import normalize, words

# Outlets other outlets cite by name, with their spellings; configured sources are matched to these by
# name or handle, and any other configured source is cited by its own name.
OUTLET_ALIASES: dict[str, list[str]] = {
    "Reuters": ["Reuters", "رويترز", "رویترز"],
    "Axios": ["Axios", "أكسيوس", "اکسیوس", "آکسیوس"],
    "Al-Alam": ["Al-Alam", "Al Alam", "Alalam", "قناة العالم", "شبکه العالم"],
    "IRNA": ["IRNA", "إرنا", "ایرنا"],
    "Al Jazeera": ["Al Jazeera", "Aljazeera", "الجزيرة", "الجزیره"],
    "BBC Persian": ["BBC Persian", "بی‌بی‌سی فارسی", "بي بي سي الفارسية"],
    "AFP": ["AFP", "Agence France-Presse", "فرانس برس", "خبرگزاری فرانسه"],
    "Associated Press": ["Associated Press"],
    "Tasnim": ["Tasnim", "تسنيم", "تسنیم"],
    "Sepah News": ["Sepah News", "سپاه نیوز"],
    "Sprinter Press": ["Sprinter Press", "SprinterPress"],
}

# Where a statement was made, when an item names it ("told state TV", "للتلفزيون الرسمي").
MEDIA_ALIASES: dict[str, list[str]] = {
    "state TV": ["state TV", "state television", "state media", "state broadcaster", "IRIB",
                 "التلفزيون الرسمي", "التلفزيون الإيراني", "التلفزيون الحكومي", "الإعلام الرسمي",
                 "تلویزیون دولتی", "تلویزیون رسمی", "صداوسیما", "صدا و سیما", "رسانه دولتی", "رسانه‌های دولتی"],
}

# Speech-act verbs per canonical act. Matched on normalised text; forms cover the common inflections.
SPEECH_VERBS: dict[str, list[str]] = {
    "said": [
        r"says?", r"said", r"saying", r"tells?", r"told", r"telling", r"speaking\s+(?:to|on|with)",
        r"stated", r"stress(?:es|ed|ing)", r"add(?:s|ed)", r"according\s+to",
        r"informed", r"inform(?:s|ing)?", r"not(?:es|ed|ing)", r"point(?:s|ed)\s+out", r"emphasi[sz](?:es|ed|ing)",
        r"underlin(?:es|ed|ing)", r"wr(?:ote|ites)", r"posted", r"tweeted", r"revealed", r"disclosed",
        r"explain(?:s|ed)", r"remarked", r"(?:an|re)?nounc(?:ed)\s+on",
        r"urg(?:es|ed|ing)", r"call(?:s|ed)\s+(?:for|on)", r"argu(?:es|ed)", r"asserted", r"acknowledg(?:es|ed)",
        "قال", "قالت", "يقول", "تقول", "صرح", "صرّح", "صرحت", "أضاف", "أضافت", "وفقا",
        "أبلغ", "أبلغت", "يبلغ", "أفاد", "أفادت", "يفيد", "أوضح", "أوضحت", "يوضح", "أشار", "أشارت", "يشير",
        "دعا", "دعت", "طالب", "طالبت", "أعرب", "أعربت", "جدد", "جددت",
        "لفت", "لفتت", "اعتبر", "اعتبرت", "يعتبر", "رأى", "كشف", "كشفت", "يكشف", "نقل", "نقلت", "كتب", "كتبت",
        "گفت", "گفتند", "گفته", r"می\s?گوید", r"اظهار\s+(?:کرد|داشت|داشتند)", r"به\s+گفته",
        "فرمود", "فرمودند", "افزودند",
        r"(?:تصریح|تصريح|خاطرنشان|عنوان|بیان|ابراز|اعلام)\s+(?:کرد|کرده|داشت)", "افزود", "نوشت",
        r"یادآور\s+شد", r"اطلاع\s+داد", r"گزارش\s+داد",
        r"پاسخ\s+داد", r"توضیح\s+داد", r"مطرح\s+کرد", r"خاطرنشان\s+ساخت", r"خواستار\s+(?:\S+\s+){0,6}?شد",
        r"(?:اظهار|ابراز)\s+\S+\s+کرد",
    ],
    "accused": [
        r"accus(?:es|ed|ing|e)", r"blam(?:es|ed|ing)",
        "اتهم", "اتهمت", "يتهم", "تتهم",
        r"متهم\s+(?:کرد|کرده|می\s?کند)",
    ],
    "denied": [
        r"den(?:y|ies|ied|ying)", r"reject(?:s|ed|ing)?", DISMISSAL,
        "نفى", "نفت", "ينفي", "تنفي",
        r"تکذیب\s+(?:کرد|کرده)", r"رد\s+کرد",
    ],
    "warned": [
        r"warn(?:s|ed|ing)?", r"threaten(?:s|ed|ing)?", r"caution(?:s|ed)",
        r"vow(?:s|ed)?", r"pledg(?:es|ed)",
        "حذر", "حذّر", "حذرت", "يحذر", "تحذر", "هدد", "يهدد", "توعد", "توعدت", "يتوعد",
        r"هشدار\s+(?:داد|داده|می\s?دهد)", r"تهدید\s+کرد",
    ],
    "confirmed": [
        r"confirm(?:s|ed|ing)?",
        "أكد", "أكّد", "أكدت", "يؤكد", "تؤكد",
        r"تایید\s+(?:کرد|کرده)", r"تأیید\s+(?:کرد|کرده)", r"(?:تایید|تأیید)\s+شد",
    ],
    "announced": [
        r"announc(?:es|ed|ing|e)", r"declar(?:es|ed|ing)",
        "أعلن", "أعلنت", "يعلن", "تعلن",
        r"اعلام\s+(?:کرد|کرده|داشت)",
    ],
    "claimed": [
        r"claim(?:s|ed|ing)?", r"alleg(?:es|ed|ing)",
        "زعم", "زعمت", "يزعم", "تزعم",
        r"ادعا\s+(?:کرد|کرده)", r"مدعی\s+شد",
    ],
    "insisted": [
        r"insist(?:s|ed|ing)?",
        r"stress(?:es|ed)\s+that", r"reiterat(?:es|ed)",
        "شدد", "شدّد", "شددت", "يشدد",
        r"تاکید\s+(?:کرد|کرده)", r"تأکید\s+(?:کرد|کرده)",
        r"اصرار\s+(?:کرد|کرده|ورزید|دارد)", r"پافشاری\s+(?:کرد|کرده)",
    ],
}

# A statement in "Speaker: words" form has no verb; these cues name its act. Noun forms (violations,
# انتهاكات) are left out on purpose: "will respond to any violations" is a warning, not an accusation.
ACT_CUES: dict[str, list[str]] = {
    "accused": [r"violated", r"breached", r"انتهكا?", "انتهكت", "انتهكوا", r"خرقا?", "خرقت",
                r"نقض\s+(?:کرده|کرد)"],
    "warned": [r"will\s+not\s+tolerate", r"will\s+respond", r"will\s+retaliate",
               "سترد", "سنرد", r"لن\s+(?:يتسامح|نتسامح|يتهاون)",
               r"تحمل\s+نخواهد\s+کرد", r"پاسخ\s+(?:قاطع|کوبنده)"],
}

# What places a title in a country: "Iran's foreign minister", "وزير الخارجية الإيراني". Countries no
# configured office belongs to are listed too, so "Qatar's foreign minister" is nobody configured.
COUNTRY_ALIASES: dict[str, list[str]] = {
    "iran": ["Iran", "Iran's", "Iranian", "Tehran", "Islamic Republic", "إيران", "الإيراني", "الإيرانية", "إيراني",
             "طهران", "الجمهورية الإسلامية", "ایران", "ایرانی", "تهران", "جمهوری اسلامی"],
    "us": ["US", "U.S.", "United States", "America", "American", "Washington", "White House", "Trump administration",
           "الأمريكي", "الأمريكية", "الأميركي", "الأميركية", "أمريكا", "أميركا", "الولايات المتحدة", "واشنطن",
           "البيت الأبيض", "آمریکا", "آمریکایی", "امریکا", "ایالات متحده", "واشنگتن", "کاخ سفید"],
    "israel": ["Israel", "Israeli", "إسرائيل", "الإسرائيلي", "الإسرائيلية", "الاحتلال", "اسرائیل", "اسرائیلی",
               "رژیم صهیونیستی"],
    "other": ["Qatar", "Qatari", "Saudi", "Iraq", "Iraqi", "Oman", "Omani", "Egypt", "Egyptian", "Turkey", "Turkish",
              "Russia", "Russian", "China", "Chinese", "France", "French", "Britain", "British", "UK", "Germany",
              "German", "Lebanon", "Lebanese", "Syria", "Syrian", "Pakistan", "Emirati", "UAE", "Jordan", "Kuwait",
              "قطر", "القطري", "السعودي", "السعودية", "العراقي", "العراق", "العماني", "عمان", "المصري", "مصر",
              "التركي", "تركيا", "الروسي", "روسيا", "الصيني", "الفرنسي", "البريطاني", "اللبناني", "السوري",
              "قطری", "عربستان", "سعودی", "عراق", "عراقی", "عمانی", "مصر", "ترکیه", "روسیه", "چین", "فرانسه",
              "انگلیس", "بریتانیا", "لبنان", "سوریه"],
}
# Generic sources: a word for an official or a source with a country beside it ("a senior official in
# the US administration", "مسؤول رفيع في الإدارة الأمريكية", "یک مقام ارشد دولت آمریکا", "an Israeli security
# source") is the configured role on that country's side, whatever words stand between.
SOURCE_NOUNS: list[str] = [
    "official", "officials", "source", "sources", "diplomat", "diplomats", "aide", "aides",
    "مسؤول", "مسؤولون", "مسؤولين", "مسؤولا", "مصدر", "مصادر", "دبلوماسي", "دبلوماسيون",
    "مقام", "مقامی", "مقامات", "منبع", "منبعی", "منابع", "دیپلمات", "دیپلماتی",
]
_SOURCE_WORDS_AFTER = 6         # noun .. country: "official in the US administration", "منبعی آگاه در وزارت امور خارجه ایران"
_SOURCE_WORDS_BEFORE = 3        # country .. noun: "US administration official", "Israel's security sources"
# words after the noun that make it something else: "مقام معظم رهبری" (the Leader's title), "مصدر تهديد" (a
# source of threat), "منابع نفتی" (oil resources), "official news agency"
_NOT_A_SOURCE_AFTER = {normalize(w) for w in (
    "معظم", "تهديد", "قلق", "خطر", "دخل", "طاقة", "الطاقة", "رزق", "نفتی", "مالی", "انرژی", "آبی", "طبیعی", "درآمد",
    "news", "agency", "media", "position", "visit", "figures", "data", "statement", "website", "channel",
    "language", "residence", "title", "capacity", "account", "documents", "sources")}
_SOURCE_STOPS = re.compile(r"[.!?؟\n|:]")
_SOURCE_VERB_AFTER_LATIN = 30   # chars from an English source to its verb ("official told Axios")
_SOURCE_VERB_AFTER = 60         # ... from an Arabic or Persian one
_SOURCE_VERB_BEFORE = 24        # verb-first: "قال مسؤول أمريكي", "said a senior US official"
_SOURCE_AS_OBJECT = re.compile(r"(?<!\w)(?:with|to|from|of|by|against|between|among|met|مع|الی|من|عن|علی|بین|التقی|با|به|از|برای|میان)"
                               r"\s+(?:(?:the|two|three|several|some|a|an|dozens\s+of)\s+)?$")
_OPENS_SENTENCE_CHARS = 12      # "BREAKING: A senior US official", "🔴 یک مقام آمریکایی"
_SENTENCE_OPENING = re.compile(r"(?:^|[.!?؟\n|:]|\s[—–-])\W{0,6}(?:an?\s+|one\s+|یک\s+)?$")
# what may follow "official" when it is a person, not an adjective ("the official news agency")
_AFTER_AN_OFFICIAL = {"said", "says", "told", "tells", "who", "in", "at", "from", "of", "with", "on", "speaking",
                      "familiar", "close", "involved", "briefed", "quoted", "cited", "added", "and", "to", "for",
                      "warned", "confirmed", "denied", "insisted", "claimed", "accused", "announced", "stressed"}
# A title with one of these before or after it is another office: "deputy foreign minister", "نائب
# وزير الخارجية", "معاون وزیر امور خارجه", "the former foreign minister", "وزير الخارجية السابق".
# One word may stand between, the country: "the former US secretary of state", "وزير الخارجية الإيراني السابق".
_NOT_THE_HOLDER_BEFORE = re.compile(
    r"(?<!\w)(?:deputy|vice|former|ex|assistant|معاون|مشاور|نائب|مساعد|مستشار|قائم\s+مقام)\W+(?:[\w.]+(?:'s)?\W+)?$")
_NOT_THE_HOLDER_AFTER = re.compile(r"(?:\W+\w+)?\W{1,3}(?:السابق|الاسبق|سابق|پیشین|اسبق)(?!\w)")
# What may stand between a country name and the title it qualifies.
_QUALIFIES_BEFORE = re.compile(r"(?:\W*'s)?\W{0,3}$")
_QUALIFIES_AFTER = re.compile(r"\s*(?:of\s+(?:the\s+)?|in\s+)?$")

ACCORDING_TO = [r"according\s+to", r"citing", r"quoting", r"quoted", r"به\s+گفته", "وفقا", "بحسب", r"به\s+نقل\s+از",
                r"نقلا\s+عن", r"نقلاً\s+عن", r"نقلت\s+(?:\S+\s+){0,4}عن", r"نقل\s+(?:\S+\s+){0,4}عن"]


@dataclass(frozen=True, slots=True)
class Speaker:
    id: str
    name: str
    kind: str                   # actor | role
    side: str


class TermMatcher:
    """Finds the longest non-overlapping spellings of many terms, word by word in normalised text.

    Arabic and Persian attach "and", "by", "to", "for" (و ف ب ل) to the next word, and "to the"
    contracts to لل: a word also matches with those prefixes taken off."""

    def __init__(self, terms: list[tuple[str, str]]):
        """terms: (spelling, target id) pairs."""
        self._index: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        seen: set[tuple[tuple[str, ...], str]] = set()
        for spelling, target in terms:
            toks = tuple(w for w, _, _ in words(normalize(spelling)))
            if toks and (toks, target) not in seen:
                seen.add((toks, target))
                self._index.setdefault(toks[0], []).append((toks, target, spelling))
        for entries in self._index.values():
            entries.sort(key=lambda e: -len(e[0]))

    def __bool__(self) -> bool:
        return bool(self._index)

    def find(self, toks: list[tuple[str, int, int]]) -> list[tuple[int, int, str, str]]:
        """(start, end, target, configured spelling) for each match in a normalised text's `words`,
        in text order. Pass a `Words` when several matchers read one text."""
        starts = (toks if isinstance(toks, Words) else Words(toks)).starts
        # Only words that can begin a term are tried; the rest would fail at their first word.
        tried = sorted({i for first in self._index.keys() & starts.keys() for i in starts[first]})
        out = []
        resume = 0
        for i in tried:
            if i < resume:
                continue
            hit = self._match_at(toks, i)
            if hit:
                n, target, spelling = hit
                out.append((toks[i][1], toks[i + n - 1][2], target, spelling))
                resume = i + n
        return out

    def _match_at(self, toks: list[tuple[str, int, int]], i: int) -> tuple[int, str, str] | None:
        for first in _prefix_variants(toks[i][0]):
            for seq, target, spelling in self._index.get(first, ()):
                n = len(seq)
                if i + n <= len(toks) and all(toks[i + k][0] == seq[k] for k in range(1, n)):
                    return n, target, spelling
        return None


class Words(list):
    """A normalised text's `words`, with where each first-word spelling (`_prefix_variants`) occurs,
    worked out once for all the matchers run over the text."""

    @functools.cached_property
    def starts(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for i, (word, _, _) in enumerate(self):
            for variant in _prefix_variants(word):
                found.setdefault(variant, []).append(i)
        return found


def _prefix_variants(word: str) -> list[str]:
    out = [word]
    if len(word) > 3 and word[0] in "وفبل":
        out.append(word[1:])
        if word[1] in "بل":
            out.append(word[2:])
    if len(word) > 3 and word.startswith("لل"):
        out.append("ال" + word[2:])
    if len(word) > 4 and word[0] in "وف" and word[1:3] == "لل":
        out.append("ال" + word[3:])
    return out


def _word_list_regex(forms: list[str]) -> str:
    return "|".join(f"(?:{normalize(f) if not _has_regex(f) else _normalize_regex(f)})" for f in forms)


def _has_regex(form: str) -> bool:
    return bool(re.search(r"[\\()?\[\]|+*]", form))


def _normalize_regex(pattern: str) -> str:
    # Letters in these hand-written patterns are normalised like the text; regex syntax is ASCII.
    return "".join(normalize(ch) if ch.strip() and not ch.isascii() else ch for ch in pattern)


# Word lists may carry the attached Arabic prefixes too ("وقال", "وسترد").
_WORD_START = re.compile(r"(?:(?<!\w)|(?<=(?<!\w)[وفبل])|(?<=(?<!\w)[وف][بل]))")


class WordListRegex:
    """A word list's forms, matched where a word (or its attached prefix) starts, like
    `re.compile(WORD_START + forms).finditer`: the forms are searched first and the start checked
    after, because a pattern opening with lookbehinds is tried at every character (ten times slower)."""

    def __init__(self, forms: list[str]):
        self.pattern = re.compile(rf"(?:{_word_list_regex(forms)})(?!\w)")

    def finditer(self, text: str, pos: int = 0) -> Iterator[re.Match]:
        while (m := self.pattern.search(text, pos)) is not None:
            if _WORD_START.match(text, m.start()):
                yield m
                pos = max(m.end(), m.start() + 1)
            else:
                pos = m.start() + 1


def _compile_word_lists(lists: dict[str, list[str]]) -> list[tuple[str, WordListRegex]]:
    return [(name, WordListRegex(forms)) for name, forms in lists.items()]


_SOURCE_NOUN_SET = frozenset(normalize(w) for w in SOURCE_NOUNS)
SPEECH_VERB_REGEXES = _compile_word_lists(SPEECH_VERBS)
ACT_CUE_REGEXES = _compile_word_lists(ACT_CUES)
ACCORDING_TO_REGEX = WordListRegex(ACCORDING_TO)


@dataclass(frozen=True, slots=True)
class SignalItemRule:
    watchlist_id: str
    signal_id: str
    claims_any: frozenset[str]
    actors_any: frozenset[str]
    keywords: TermMatcher | None

    @property
    def has_item_part(self) -> bool:
        return bool(self.claims_any or self.actors_any or self.keywords)


@dataclass(frozen=True, slots=True)
class WatchlistTerms:
    id: str
    speaker_ids: frozenset[str]
    claim_ids: frozenset[str]
    keywords: TermMatcher
    source_ids: frozenset[str]             # empty: every source counts
    signals: tuple[SignalItemRule, ...]


@dataclass(frozen=True, slots=True)
class OfficeHolder:
    actor_id: str
    country: str
    since: date | None
    until: date | None

    def held_on(self, day: date | None) -> bool:
        return day is None or ((self.since is None or self.since <= day) and (self.until is None or day <= self.until))


@dataclass(slots=True)
class Lexicon:
    speakers: dict[str, Speaker]
    speaker_terms: TermMatcher
    place_terms: TermMatcher
    watchlists: list[WatchlistTerms]
    outlet_terms: TermMatcher                             # target: outlet name
    outlet_sources: dict[str, list[str]]                  # outlet name -> configured source ids
    source_outlet: dict[str, str]                         # source id -> outlet name
    handle_outlet: dict[str, str]                         # lowercase X or Telegram handle -> outlet name
    media_terms: TermMatcher
    office_terms: TermMatcher = field(default_factory=lambda: TermMatcher([]))   # target: title key
    offices: dict[str, list[OfficeHolder]] = field(default_factory=dict)        # title key -> holders
    country_terms: TermMatcher = field(default_factory=lambda: TermMatcher([]))  # target: country
    side_roles: dict[str, str] = field(default_factory=dict)     # country (side) -> its generic-source role
    claim_index: ClaimIndex | None = None
    claim_acts: dict[str, str] = field(default_factory=dict)     # claim id -> act of a verbless statement
    fingerprint: str = field(default="")

    def office_mentions(self, text: str, toks: Words, published: date | None) -> list[tuple[int, int, str, str]]:
        """Speaker mentions by title: (start, end, actor id, spelling) for each title that names a
        configured actor on the post's date, placed in a country by a country name that qualifies it
        ("Iran's foreign minister", "وزير الخارجية الإيراني", "foreign minister of Iran"), else by the only
        holder of that title, else by the countries the post names. `text`: the normalised text."""
        found = self.office_terms.find(toks) if self.office_terms else []
        if not found:
            return []
        countries = self.country_terms.find(toks)
        named = {c for _, _, c, _ in countries}
        out = []
        for start, end, key, spelling in found:
            if _NOT_THE_HOLDER_BEFORE.search(text, max(0, start - 32), start) or _NOT_THE_HOLDER_AFTER.match(text, end):
                continue
            holders = [h for h in self.offices.get(key, ()) if h.held_on(published)]
            qualifier = next((c for s, e, c, _ in countries
                              if (e <= start and _QUALIFIES_BEFORE.match(text, e, start))
                              or (s >= end and _QUALIFIES_AFTER.match(text, end, s))), None)
            if qualifier:
                holders = [h for h in holders if h.country == qualifier]
            elif len(holders) > 1:
                holders = [h for h in holders if h.country in named]
            if len({h.actor_id for h in holders}) == 1:
                out.append((start, end, holders[0].actor_id, spelling))
        return out

    def generic_mentions(self, text: str, toks: Words) -> list[tuple[int, int, str, str]]:
        """Generic sources by a country beside a word for an official or source (SOURCE_NOUNS): (start,
        end, role id, spelling), the span covering both. The country nearest the noun decides, not
        across a reporting verb; a country with no configured role ("a Qatari official") makes it nobody
        configured."""
        if not self.side_roles:
            return []
        nouns = [i for i, (w, _, _) in enumerate(toks) if any(v in _SOURCE_NOUN_SET for v in _prefix_variants(w))]
        if not nouns:
            return []
        countries = self.country_terms.find(toks)
        verbs = [m.span() for _, rx in SPEECH_VERB_REGEXES for m in rx.finditer(text)]    # once per post
        out = []
        for i in nouns:
            if i + 1 < len(toks) and toks[i + 1][0] in _NOT_A_SOURCE_AFTER:
                continue
            if toks[i][0] == "official" and i + 1 < len(toks) and toks[i + 1][0] not in _AFTER_AN_OFFICIAL \
                    and not text[toks[i][2]:toks[i + 1][1]].strip(" "):
                continue        # "the official IRNA agency", "Iran's official position": an adjective
            s, e = toks[i][1], toks[i][2]
            lo = toks[max(0, i - _SOURCE_WORDS_BEFORE)][1]
            hi = toks[min(len(toks) - 1, i + _SOURCE_WORDS_AFTER)][2]
            near = [(cs - e if cs >= e else s - ce, cs, ce, c) for cs, ce, c, _ in countries
                    if lo <= cs and ce <= hi and not _SOURCE_STOPS.search(text, min(ce, e), max(cs, s))
                    and not any(min(ce, e) <= vs and ve <= max(cs, s) for vs, ve in verbs)]
            if not near:
                continue
            _, cs, ce, country = min(near)
            role = self.side_roles.get(country)
            start, end = min(s, cs), max(e, ce)
            if role and _speaks_there(text, start, end, verbs):
                out.append((start, end, role, text[start:end]))
        return out


def _speaks_there(text: str, start: int, end: int, verbs: list[tuple[int, int]]) -> bool:
    """Whether a generic source at text[start:end] is the one speaking: it opens its sentence, or a
    reporting verb or a colon comes just after it, or (verb-first) just before it, and no preposition
    makes it an object ("after talks with American diplomats"). "Iran expelled two US diplomats on
    Monday, state television said" names no source; "a senior official in the US administration said"
    does. Arabic and Persian put more between a source and its verb."""
    if _SOURCE_AS_OBJECT.search(text, max(0, start - 12), start):
        return False
    if not text[max(0, start - _OPENS_SENTENCE_CHARS):start].strip(" ") or \
            _SENTENCE_OPENING.search(text, max(0, start - _OPENS_SENTENCE_CHARS), start):
        return True
    if text[end:].lstrip().startswith(":"):
        return True
    reach = _SOURCE_VERB_AFTER_LATIN if text[start:end].isascii() else _SOURCE_VERB_AFTER
    return any(end <= vs and ve <= end + reach or start - _SOURCE_VERB_BEFORE <= vs and ve <= start
               for vs, ve in verbs)


def _lang_terms(aliases: dict[str, list[str]], extra: list[str]) -> list[str]:
    return extra + [a for spellings in aliases.values() for a in spellings]


def _outlet_of(source: Source) -> str:
    name = normalize(source.name)
    handle = (source.handle or "").lower()
    for outlet, spellings in OUTLET_ALIASES.items():
        for s in spellings:
            ns = normalize(s)
            if name == ns or name.startswith(ns + " ") or handle == ns.replace(" ", "").replace("-", ""):
                return outlet
    return source.name


def build_lexicon(cfg: Config) -> Lexicon:
    return lexicon_from(cfg.watchlists, cfg.sources_file.sources)


def lexicon_from(watchlists: list[Watchlist], sources: list[Source]) -> Lexicon:
    speakers: dict[str, Speaker] = {}
    speaker_terms: list[tuple[str, str]] = []
    place_terms: list[tuple[str, str]] = []
    wl_terms: list[WatchlistTerms] = []
    office_terms: list[tuple[str, str]] = []
    offices: dict[str, list[OfficeHolder]] = {}
    for wl in watchlists:
        for kind, people in (("actor", wl.actors), ("role", wl.roles)):
            for p in people:
                speakers.setdefault(p.id, Speaker(p.id, p.name, kind, p.side))
                speaker_terms += [(t, p.id) for t in _lang_terms(p.aliases, [p.name])]
                for office in p.offices:
                    holder = OfficeHolder(p.id, office.country, office.since, office.until)
                    for title in (t for ts in office.titles.values() for t in ts):
                        key = " ".join(w for w, _, _ in words(normalize(title)))
                        office_terms.append((title, key))
                        if holder not in offices.setdefault(key, []):
                            offices[key].append(holder)
        for pl in wl.places:
            place_terms += [(t, pl.id) for t in _lang_terms(pl.aliases, [pl.name])]
        keywords = TermMatcher([(k, k) for ks in wl.keywords.values() for k in ks])
        signals = []
        for s in wl.signals:
            kw = [(k, k) for ks in s.rule.keywords_any.values() for k in ks]
            signals.append(SignalItemRule(wl.id, s.id, frozenset(s.rule.claims_any), frozenset(s.rule.actors_any),
                                          TermMatcher(kw) if kw else None))
        wl_terms.append(WatchlistTerms(
            wl.id, frozenset(a.id for a in wl.actors) | frozenset(r.id for r in wl.roles),
            frozenset(c.id for c in wl.claims), keywords, frozenset(wl.sources), tuple(signals)))

    source_outlet = {s.id: _outlet_of(s) for s in sources}
    outlet_sources: dict[str, list[str]] = {}
    for sid, outlet in source_outlet.items():
        outlet_sources.setdefault(outlet, []).append(sid)
    outlet_terms = [(a, o) for o, spellings in OUTLET_ALIASES.items() for a in spellings]
    for s in sources:
        outlet = source_outlet[s.id]
        outlet_terms.append((s.name, outlet))
        if s.handle and s.kind == "x":
            outlet_terms.append(("@" + s.handle, outlet))
    media_terms = [(a, m) for m, spellings in MEDIA_ALIASES.items() for a in spellings]

    lex = Lexicon(
        speakers=speakers,
        speaker_terms=TermMatcher(speaker_terms),
        place_terms=TermMatcher(place_terms),
        watchlists=wl_terms,
        outlet_terms=TermMatcher(outlet_terms),
        outlet_sources=outlet_sources,
        source_outlet=source_outlet,
        handle_outlet={s.handle.lower(): source_outlet[s.id] for s in sources if s.handle},
        media_terms=TermMatcher(media_terms),
        office_terms=TermMatcher(office_terms),
        offices=offices,
        country_terms=TermMatcher([(a, c) for c, spellings in COUNTRY_ALIASES.items() for a in spellings]),
        # the first role configured on a side is its generic source
        side_roles={sp.side: sp.id for sp in reversed(speakers.values()) if sp.kind == "role" and sp.side},
        claim_index=ClaimIndex(watchlists),
        claim_acts={c.id: c.act for wl in watchlists for c in wl.claims if c.act},
    )
    lex.fingerprint = _fingerprint(watchlists, sources)
    return lex


def _fingerprint(watchlists: list[Watchlist], sources: list[Source]) -> str:
    """Changes when anything annotation depends on changes (not recipients or schedules)."""
    parts = {
        "watchlists": [wl.model_dump(mode="json", exclude={"report", "title", "description", "markets"})
                       for wl in watchlists],
        "sources": sorted((s.id, s.name, s.handle or "", s.kind) for s in sources),
        "code": [OUTLET_ALIASES, MEDIA_ALIASES, SPEECH_VERBS, ACT_CUES, ACCORDING_TO, COUNTRY_ALIASES, SOURCE_NOUNS,
                 _NOT_THE_HOLDER_BEFORE.pattern, _NOT_THE_HOLDER_AFTER.pattern,
                 CLAIMS_VERSION, EMBEDDING_MODEL],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
