"""Annotate one item against the watch lists: who spoke, the speech act, the quoted words, the claims,
the entities that link it across languages, whom it cites, and which watch lists it is relevant to.

Pure: text and lexicon in, an `Annotation` out. English, Arabic and Persian are covered by the word
lists in `lexicon`; the watch lists bring names, claims and keywords in any language.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from signal_desk.signals.lexicon import (
    ACCORDING_TO_REGEX,
    ACT_CUE_REGEXES,
    SPEECH_VERB_REGEXES,
    Lexicon,
    SignalItemRule,
    Words,
)
from signal_desk.signals.claims import ClaimMatch
from signal_desk.signals.links import post_account, url_key
from signal_desk.signals.textnorm import normalize, script_language, words

_QUOTES = [
    re.compile(r"«\s*([^«»]{2,600}?)\s*»"),
    re.compile(r"“\s*([^“”]{2,600}?)\s*”"),
    re.compile(r"„\s*([^„“”]{2,600}?)\s*[“”]"),
    re.compile(r"‘\s*([^‘’\n]{2,300}?)\s*’(?!\w)"),
    re.compile(r"\"\s*([^\"\n]{2,600}?)\s*\""),
]
# "Speaker: words". A colon in a URL or a clock time is not one.
_HEADER_COLON = re.compile(r"[:：](?!//)(?!\d)")
_HEADER_MAX = 120
_SUBJECT_BEFORE = 80            # chars between a speaker and the verb that follows it
_SUBJECT_AFTER = 40             # verb-first order: "قال عراقجي", "said Araqchi"
_OPENS_SENTENCE = 40            # Persian puts the verb last: a subject this near the sentence's start
_SENTENCE_BREAK = re.compile(r"[.!?؟\n]")
# ", whose editor the Leader appoints,", "، که مدیرمسئول آن را رهبر منصوب می‌کند،": who is named in a
# relative clause between commas speaks no verb outside it
_RELATIVE_CLAUSE = re.compile(r"[,،]\s*(?:(?:who|whose|whom|which)\b|(?:الذی|التی|الذین|اللذان|اللتان)(?!\w)|که(?!\w))"
                              r"[^,،.!?؟\n]{1,120}[,،]", re.IGNORECASE)
# what opens a Persian sentence before its subject: the agency's lead ("به گزارش خبرگزاری فارس،") or a
# prepositional phrase ("در پاسخ به ادعای ترامپ،", "با اشاره به سخنان وزیر خارجه آمریکا،")
_PERSIAN_LEAD = re.compile(r"\s*(?:به\s+گزارش|پس\s+از|در\s+پی|درباره|در|با|به|از)\s[^،,\n.]{1,60}[،,]\s*")
_ATTACH_MAX = 30                # chars between "according to" and the name it introduces
_SPAN_TEXT_MAX = 4000           # annotation reads the head of long articles only
PREPARED_POSTS = 2_000          # posts whose sentences are embedded in one batch: their units fit the cache


@dataclass(frozen=True, slots=True)
class ItemText:
    source_id: str
    item_id: str
    url: str
    text: str
    lang: str | None = None
    outlinks: tuple[str, ...] = ()
    forwarded_from_url: str | None = None
    link_preview_url: str | None = None
    published_at: datetime | None = None     # dates a title: "the foreign minister" on that day


@dataclass(frozen=True, slots=True)
class SignalHit:
    watchlist_id: str
    signal_id: str
    why: str


@dataclass(slots=True)
class Annotation:
    source_id: str
    item_id: str
    lang: str
    speaker_id: str | None = None
    speaker_name: str | None = None
    speaker_kind: str | None = None         # actor | role
    speech_act: str | None = None           # said accused denied warned confirmed announced claimed insisted
    quotes: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)      # asserted claims only: what the post states
    claim_stances: list[dict] = field(default_factory=list)   # every claim found: {claim, stance, score, matched_by}
    actors: list[str] = field(default_factory=list)      # every actor or role named, in text order
    places: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)    # watch-list keywords found, as configured
    cited_outlets: list[str] = field(default_factory=list)
    cited_source_ids: list[str] = field(default_factory=list)
    medium: str | None = None               # where the speaker spoke ("state TV")
    attributed_to: str | None = None        # "Reuters, citing an Iranian official speaking to state TV"
    attribution_chain: list[str] = field(default_factory=list)
    url_key: str | None = None
    link_keys: list[str] = field(default_factory=list)
    forwarded_key: str | None = None
    watchlist_ids: list[str] = field(default_factory=list)
    signal_hits: list[SignalHit] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)


def extract_quotes(text: str) -> list[str]:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for rx in _QUOTES:
        for m in rx.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            words = " ".join(m.group(1).split())
            if len(words) >= 2:
                found.append((m.start(), words))
                taken.append((m.start(), m.end()))
    out: list[str] = []
    for _, q in sorted(found):
        if q not in out:
            out.append(q)
    return out


def match_claims(text: str, lang: str, declared: str | None, lex: Lexicon,
                 by_meaning: bool = True) -> list[ClaimMatch]:
    if lex.claim_index is None:
        return []
    return lex.claim_index.find(text, lang, declared, by_meaning=by_meaning)


# A reporting verb under negation or refusal reports nothing of its own kind: "declined to confirm".
# a negation just before the verb, or before a parenthesis in front of it ("was not, at this point, accusing")
_VERB_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\b(?:declin|refus|fail)\w*\s+to|(?<!\w)(?:لم|لن|لا|رفض\w*))"
                           r"(?:\s*[,،]\s*(?:(?!(?:and|but|or|و)\b)[^,،\"“”«»]{1,30}[,،]|[\"“«][^\"“”«»]{1,30}[\"”»]\s*[,،]?))?\s*$")
_NEGATION_REACH = 60


def _verbs(norm: str) -> list[tuple[int, int, str]]:
    found = []
    for act, rx in SPEECH_VERB_REGEXES:
        for m in rx.finditer(norm):
            negated = act != "said" and _VERB_NEGATED.search(norm, max(0, m.start() - _NEGATION_REACH), m.start())
            found.append((m.start(), m.end(), "said" if negated else act))
    return sorted(found)


def _nearest_speaker(mentions: list[tuple[int, int, str, str]], start: int, end: int,
                     after: bool = True) -> tuple[str, int] | None:
    """The speaker mention closest to a verb: before it within _SUBJECT_BEFORE, or (when `after`) after
    it within _SUBJECT_AFTER. Ties go to the mention before (subject-verb order)."""
    best: tuple[int, int, str] | None = None
    for s, e, target, _ in mentions:
        if e <= start and start - e <= _SUBJECT_BEFORE:
            cand = (start - e, 0, target)
        elif after and s >= end and s - end <= _SUBJECT_AFTER:
            cand = (s - end, 1, target)
        else:
            continue
        if best is None or cand < best:
            best = cand
    return (best[2], best[0]) if best else None


def _header_speaker(norm: str, mentions: list[tuple[int, int, str, str]]) -> tuple[str, int] | None:
    m = _HEADER_COLON.search(norm[:_HEADER_MAX])
    if not m:
        return None
    head_start = norm.rfind("|", 0, m.start()) + 1
    head_start = max(head_start, norm.rfind("\n", 0, m.start()) + 1)
    for s, e, target, _ in mentions:
        if s >= head_start and e <= m.start():
            return target, m.end()
    return None


def find_speaker(norm: str, mentions: list[tuple[int, int, str, str]],
                 lang: str = "en") -> tuple[str | None, str | None]:
    """(speaker id, speech act) for a normalised text and its speaker mentions. Arabic and Persian put
    any verb before its subject; English inverts only "said X" ("claims that the IRGC attacked" is
    about the IRGC, not by it)."""
    verbs = [(s, e, act, lang == "ar" or (lang == "en" and act == "said")) for s, e, act in _verbs(norm)]
    relative = [m.span() for m in _RELATIVE_CLAUSE.finditer(norm)]
    if relative:
        mentions = [m for m in mentions if not any(a <= m[0] and m[1] <= b for a, b in relative)]
    header = _header_speaker(norm, mentions)
    if header:
        speaker, body_start = header
        acts = [act for s, e, act, after in verbs if s >= body_start
                and (_nearest_speaker(mentions, s, e, after) or (speaker, 0))[0] == speaker]
        strong = [a for a in acts if a != "said"]
        if strong:
            return speaker, strong[0]
        cues = sorted((m.start(), act) for act, rx in ACT_CUE_REGEXES for m in rx.finditer(norm, body_start))
        if cues:
            return speaker, cues[0][1]
        return speaker, "said"
    for m in ACCORDING_TO_REGEX.finditer(norm):
        for s, e, target, _ in mentions:
            if 0 <= s - m.end() <= _ATTACH_MAX:
                return target, "said"
    def subject(s: int, e: int, after: bool) -> str | None:
        if lang == "fa":
            # subject-object-verb: the sentence's opening names who speaks, however many others the
            # words before the verb name ("قالیباف ... با اشاره به اظهارات وزیر خارجه آمریکا تأکید کرد")
            opens = max((m.end() for m in _SENTENCE_BREAK.finditer(norm, 0, s)), default=0)
            while (lead := _PERSIAN_LEAD.match(norm, opens)) is not None:
                opens = lead.end()
            first = [t for ms, me, t, _ in mentions if opens <= ms <= opens + _OPENS_SENTENCE and me <= s]
            if first:
                return first[0]
        near = _nearest_speaker(mentions, s, e, after)
        return near[0] if near else None

    speaker = next((who for s, e, act, after in verbs if (who := subject(s, e, after))), None)
    if speaker is None:
        return None, None
    acts = [act for s, e, act, after in verbs if subject(s, e, after) == speaker]
    strong = [a for a in acts if a != "said"]
    return speaker, (strong[0] if strong else "said")


def _unique(values) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _signal_hit(rule: SignalItemRule, claims: list[str], speakers: set[str],
                toks: list[tuple[str, int, int]]) -> str | None:
    """All of a rule's non-empty parts must hold (any one claim, any one actor, any one keyword)."""
    if not rule.has_item_part:
        return None
    why = []
    if rule.claims_any:
        hit = [c for c in claims if c in rule.claims_any]
        if not hit:
            return None
        why.append("claim " + ", ".join(hit))
    if rule.actors_any:
        hit = sorted(speakers & rule.actors_any)
        if not hit:
            return None
        why.append("actor " + ", ".join(hit))
    if rule.keywords:
        hit = _unique(sp for _, _, sp, _ in rule.keywords.find(toks))
        if not hit:
            return None
        why.append("keyword " + ", ".join(f"'{k}'" for k in hit))
    return "; ".join(why)


def attribution(speaker_name: str | None, medium: str | None, cited: list[str]) -> tuple[str | None, list[str]]:
    chain = cited[:1] + ([speaker_name] if speaker_name else []) + ([medium] if medium else [])
    said = None
    if speaker_name:
        said = speaker_name + (f" speaking to {medium}" if medium else "")
    elif medium:
        said = medium
    if cited:
        return (f"{cited[0]}, citing {said}" if said else cited[0]), chain
    return (said if medium else None), chain


def speaker_mentions(norm: str, toks: Words, lex: Lexicon, published: datetime | None) -> list[tuple[int, int, str, str]]:
    """Names and titles of configured speakers, in text order; a name inside a title's span (or the
    reverse) is one mention."""
    return _one_per_span([*lex.speaker_terms.find(toks),
                          *lex.office_mentions(norm, toks, published.date() if published else None)])


def with_generic_sources(named: list[tuple[int, int, str, str]], norm: str, toks: Words,
                         lex: Lexicon) -> list[tuple[int, int, str, str]]:
    """Names and titles, and generic sources ("a senior official in the US administration") where they
    overlap no name or title. Generic sources name who speaks, not who a post is about, so they are not
    among its actors (which group posts into stories)."""
    generic = [m for m in lex.generic_mentions(norm, toks) if not any(m[0] < e and s < m[1] for s, e, _, _ in named)]
    return sorted(named + generic) if generic else named


def _one_per_span(mentions: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    found = sorted(mentions)
    out: list[tuple[int, int, str, str]] = []
    for m in found:
        if out and m[0] < out[-1][1]:
            if m[1] - m[0] > out[-1][1] - out[-1][0]:
                out[-1] = m
            continue
        out.append(m)
    return out


def annotate_all(items: Sequence[ItemText], lex: Lexicon, vectors: np.ndarray) -> list[Annotation]:
    """Annotate a batch of items given their whole-post embeddings (rows of `vectors`): the posts that
    may be read sentence by sentence have their sentences embedded by the cheap encoder in one batch per
    PREPARED_POSTS posts (see ClaimIndex.prepare), then each of those posts is annotated."""
    index = lex.claim_index
    if index is None:
        return [annotate(item, lex, 0.0) for item in items]
    closeness = [float(c) for c in index.closeness(vectors)]
    out: list[Annotation] = []
    # in slices, so that a slice's sentences stay in the sentence cache until its posts are read
    for start in range(0, len(items), PREPARED_POSTS):
        part = range(start, min(start + PREPARED_POSTS, len(items)))
        index.prepare([_read_text(items[k]) for k in part if index.may_read(closeness[k])])
        out += [annotate(items[k], lex, closeness[k]) for k in part]
    return out


def _read_text(item: ItemText) -> tuple[str, str]:
    """What annotation reads of a post: its head, and the language of its script."""
    text = item.text[:_SPAN_TEXT_MAX]
    return text, script_language(text, item.lang)


def annotate(item: ItemText, lex: Lexicon, closeness: float | None = None) -> Annotation:
    """`closeness`: the post's whole-post cosine to the closest claim example (ClaimIndex.closeness);
    a post too far from every example is not read sentence by sentence (only pattern rules are tried).
    None: always read."""
    text, lang = _read_text(item)
    ann = Annotation(item.source_id, item.item_id, lang)
    norm = normalize(text)
    toks = Words(words(norm))
    mentions = speaker_mentions(norm, toks, lex, item.published_at)
    ann.actors = _unique(t for _, _, t, _ in mentions)
    ann.places = _unique(t for _, _, t, _ in lex.place_terms.find(toks))
    ann.quotes = extract_quotes(text)
    names_watched = bool(ann.actors) or any(wl.keywords.find(toks) for wl in lex.watchlists if wl.keywords)
    read_meaning = closeness is None or (lex.claim_index is not None
                                         and lex.claim_index.worth_reading(closeness, names_watched))
    matches = match_claims(text, lang, item.lang, lex, by_meaning=read_meaning)
    ann.claim_stances = [{"claim": m.claim_id, "stance": m.stance, "score": m.score, "matched_by": m.by} for m in matches]
    ann.claims = _unique(m.claim_id for m in matches if m.stance == "asserted")

    speaker_id, act = find_speaker(norm, with_generic_sources(mentions, norm, toks, lex), lang)
    if speaker_id and act == "said" and not any(a != "said" for _, _, a in _verbs(norm)):
        # no reporting verb names the act: the claim stated does ("X: the US violated the memorandum")
        act = next((lex.claim_acts[c] for c in ann.claims if c in lex.claim_acts), act)
    if speaker_id:
        sp = lex.speakers[speaker_id]
        ann.speaker_id, ann.speaker_name, ann.speaker_kind, ann.speech_act = sp.id, sp.name, sp.kind, act

    own_outlet = lex.source_outlet.get(item.source_id)
    ann.cited_outlets = _unique(o for _, _, o, _ in lex.outlet_terms.find(toks) if o != own_outlet)
    media = [m for _, _, m, _ in lex.media_terms.find(toks)]
    ann.medium = media[0] if media else None

    ann.url_key = url_key(item.url)
    ann.link_keys = _unique(k for k in (url_key(u) for u in (*item.outlinks, item.link_preview_url))
                            if k and k != ann.url_key)
    ann.forwarded_key = url_key(item.forwarded_from_url)
    linked = (lex.handle_outlet.get(h) for h in (post_account(u) for u in item.outlinks) if h)
    ann.cited_outlets = _unique([*ann.cited_outlets, *(o for o in linked if o and o != own_outlet)])
    ann.cited_source_ids = _unique(s for o in ann.cited_outlets for s in lex.outlet_sources.get(o, []))
    ann.attributed_to, ann.attribution_chain = attribution(ann.speaker_name, ann.medium, ann.cited_outlets)

    speakers = set(ann.actors) | ({ann.speaker_id} if ann.speaker_id else set())
    keywords_by_wl = {}
    for wl in lex.watchlists:
        kws = _unique(sp for _, _, sp, _ in wl.keywords.find(toks))
        keywords_by_wl[wl.id] = kws
        ann.keywords = _unique([*ann.keywords, *kws])
        if wl.source_ids and item.source_id not in wl.source_ids:
            continue
        if speakers & wl.speaker_ids or set(ann.claims) & wl.claim_ids or kws:
            ann.watchlist_ids.append(wl.id)
        for rule in wl.signals:
            why = _signal_hit(rule, ann.claims, speakers, toks)
            if why:
                ann.signal_hits.append(SignalHit(wl.id, rule.signal_id, why))

    ann.entities = grouping_entities(ann, [wl for wl, kws in keywords_by_wl.items() if kws])
    return ann



def grouping_entities(ann: Annotation, topics: list[str]) -> list[str]:
    """What the story grouper links a post by, across languages: the watch-list topics it touches and
    the claims it makes; the actors and places it names only when it makes no claim. Claims say what a
    post is about better than the names in it, and every extra id dilutes the similarity the grouper
    computes over ids, so URLs (unique to a post) are left out: a post that links or forwards another
    takes that post's ids instead (see signal_desk.signals.run)."""
    mentions = [] if ann.claims else [*(f"actor:{a}" for a in ann.actors), *(f"place:{p}" for p in ann.places)]
    return _unique([*(f"topic:{wl}" for wl in topics), *(f"claim:{c}" for c in ann.claims), *mentions])
