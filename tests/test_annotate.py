"""Annotation of Arabic, Persian and English posts against the demo watch lists.

The texts are the demo scenario's posts (mirror/scenarios/iran_talks/seed_posts.yaml); the expected
speakers, acts, quotes and claims are read off those texts."""
from __future__ import annotations

import pytest

from signal_desk.config import Watchlist, load_config
from signal_desk.signals.annotate import ItemText, annotate, extract_quotes
from signal_desk.signals.lexicon import lexicon_from
from signal_desk.signals.links import post_account, url_key
from signal_desk.signals.textnorm import normalize, script_language


@pytest.fixture(scope="module")
def lex():
    mp = pytest.MonkeyPatch()
    mp.setenv("MIRROR_URL", "http://127.0.0.1:9")
    try:
        cfg = load_config("config/demo")
    finally:
        mp.undo()
    return lexicon_from(cfg.watchlists, cfg.sources_file.sources)


def ann(lex, source_id: str, text: str, lang: str | None = None, **kw):
    return annotate(ItemText(source_id, "1", f"https://example.org/{source_id}/1", text, lang, **kw), lex)


def test_araqchi_arabic_statement_with_quote(lex):
    a = ann(lex, "alalamarabic",
            "🔴 عراقجي من كربلاء: أمريكا والكيان الصهيوني انتهكا مذكرة التفاهم «لا سيما البند الأول»، وهذا عائق "
            "أمام استعادة الأمن في المنطقة", "ar")
    assert a.lang == "ar"
    assert (a.speaker_id, a.speaker_name, a.speaker_kind) == ("araqchi", "Abbas Araqchi", "actor")
    assert a.speech_act == "accused"
    assert a.quotes == ["لا سيما البند الأول"]
    assert a.claims == ["memorandum-violated"]
    assert a.places == ["karbala"]
    assert "us-iran-talks" in a.watchlist_ids
    # what the grouper links it by: the topic and the claim (names stand in only when there is no claim)
    assert a.entities == ["topic:us-iran-talks", "claim:memorandum-violated"]


def test_araqchi_warning_with_attached_conjunction(lex):
    a = ann(lex, "alalamarabic",
            "🔴 عراقجي: طهران تطبق مبدأ «الالتزام مقابل الالتزام» بحسن نية، وسترد بحزم على أي انتهاكات أخرى", "ar")
    assert a.speaker_id == "araqchi"
    assert a.speech_act == "warned"          # "وسترد بحزم": and-will-respond-firmly
    assert a.quotes == ["الالتزام مقابل الالتزام"]
    assert a.claims == ["incident-response-warning"]


def test_arabic_role_told_state_tv(lex):
    a = ann(lex, "alalamarabic",
            "🔴 عاجل | مسؤول إيراني للتلفزيون الرسمي: إيران لن تشارك في جولة المحادثات الفنية المقررة مع "
            "أمريكا بسبب الاعتداءات الأخيرة", "ar")
    assert (a.speaker_id, a.speaker_kind) == ("iranian-official", "role")
    assert a.claims == ["talks-suspended"]
    assert a.medium == "state TV"           # للتلفزيون: "to the television", the article contracted
    assert a.attributed_to == "an Iranian official speaking to state TV"


def test_arabic_verb_picks_the_nearest_speaker_not_the_one_quoted(lex):
    a = ann(lex, "alalamarabic",
            "المندوب الأمريكي لدى الأمم المتحدة مايك والتز يزعم أن ترامب «لن يتسامح» مع ما وصفه باستمرار "
            "الهجمات الإيرانية على الملاحة الدولية", "ar")
    assert a.speaker_id == "waltz"
    assert a.speech_act == "claimed"
    assert a.actors == ["waltz", "trump"]
    assert a.quotes == ["لن يتسامح"]


def test_persian_official_to_state_tv(lex):
    a = ann(lex, "bbcpersian",
            "یک مقام ایرانی به تلویزیون دولتی گفت ایران به دلیل حملات اخیر در دور برنامه‌ریزی‌شده مذاکرات فنی "
            "با آمریکا شرکت نکرد.\nهنوز روشن نیست منظور از این حملات کدام رویدادهاست.", "fa")
    assert a.lang == "fa"
    assert (a.speaker_id, a.speech_act) == ("iranian-official", "said")
    assert a.claims == ["talks-suspended"]
    assert a.attributed_to == "an Iranian official speaking to state TV"


def test_persian_senior_us_official_citing_axios(lex):
    a = ann(lex, "bbcpersian",
            "یک مقام ارشد آمریکایی به اکسیوس گفت مذاکرات فنی برای اجرای تفاهم‌نامه «در مسیر» است و «هیچ "
            "نشستی لغو نشده است». به گفته او دو طرف همچنان از کانال‌های جلوگیری از درگیری استفاده می‌کنند.", "fa")
    assert a.speaker_id == "senior-us-official"      # not "an Iranian official": the longer name wins
    assert a.quotes == ["در مسیر", "هیچ نشستی لغو نشده است"]
    assert a.claims == ["talks-on-track"]
    assert a.cited_outlets == ["Axios"]
    assert a.cited_source_ids == ["axios"]
    assert a.attributed_to == "Axios, citing a senior US official"


def test_persian_header_statement_baghaei(lex):
    a = ann(lex, "iranmfa",
            "🔸 اسماعیل بقائی، سخنگوی وزارت امور خارجه:\nمسیر مذاکره با آمریکا در پی رویدادهای شب گذشته در دست "
            "بررسی است. «کار دیپلماتیک در خلأ اتفاق نمی‌افتد.»", "fa")
    assert (a.speaker_id, a.speech_act) == ("baghaei", "said")
    assert a.claims == ["talks-under-review"]
    assert a.quotes == ["کار دیپلماتیک در خلأ اتفاق نمی\u200cافتد."]


def test_english_relay_citing_reuters_and_linking_its_post(lex):
    reuters_url = "https://x.com/reuters/status/2071325357740156528"
    mirror_link = "http://127.0.0.1:8765/nitter-a/reuters/status/2071325357740156528"
    a = ann(lex, "sprinterpress",
            "BREAKING: An Iranian official, speaking on state TV, confirms Tehran did not attend the scheduled "
            f"technical talks with the US, citing recent attacks — Reuters {mirror_link}", "en",
            outlinks=(mirror_link,))
    assert (a.speaker_id, a.speech_act) == ("iranian-official", "confirmed")
    assert a.claims == ["talks-suspended"]
    assert a.cited_outlets == ["Reuters"]
    assert set(a.cited_source_ids) == {"reuters", "reuters-world"}
    assert a.link_keys == [url_key(reuters_url)]
    assert a.attributed_to == "Reuters, citing an Iranian official speaking to state TV"
    assert a.attribution_chain == ["Reuters", "an Iranian official", "state TV"]


def test_wire_does_not_cite_itself(lex):
    a = ann(lex, "reuters-world",
            "Iran will not take part in planned technical talks with US, official tells state TV  DUBAI, June 29 "
            "(Reuters) - Iran will not take part in a planned round of technical talks with the United States, "
            "citing recent attacks, an Iranian official told state television late on Sunday.", "en")
    assert a.cited_outlets == []
    assert a.speaker_id == "iranian-official"
    assert a.claims == ["talks-suspended"]


def test_english_quotes_and_the_spoken_not_the_mentioned(lex):
    a = ann(lex, "usun",
            "Ambassador Mike Waltz: “President Trump will not tolerate continued Iranian attacks on "
            "international shipping. Our recent military responses should leave no doubt about that.”", "en")
    assert (a.speaker_id, a.speech_act) == ("waltz", "warned")
    assert a.quotes == ["President Trump will not tolerate continued Iranian attacks on international shipping. "
                        "Our recent military responses should leave no doubt about that."]
    # the warning is the statement; the attacks it names may also be read as an incident
    assert "incident-response-warning" in a.claims and set(a.claims) <= {"incident-response-warning", "regional-incident"}
    assert set(a.watchlist_ids) == {"us-iran-talks", "gulf-shipping"}


def test_on_track_quotes_in_curly_quotes(lex):
    a = ann(lex, "axios",
            "Scoop: A senior U.S. official tells Axios the technical talks on implementing the memorandum of "
            "understanding with Iran remain “on track” — “no meetings have been cancelled.” "
            "https://www.axios.com/2026/06/28/iran-us-technical-talks-memorandum-on-track", "en")
    assert (a.speaker_id, a.speech_act) == ("senior-us-official", "said")
    assert a.quotes == ["on track", "no meetings have been cancelled."]
    assert a.claims == ["talks-on-track"]
    assert a.cited_outlets == []            # Axios telling its own scoop cites no one


def test_single_curly_quotes_and_latin_text_on_a_persian_channel(lex):
    a = ann(lex, "irna-en",
            "Araghchi: US, Israel violated MoU, ‘especially the first clause’  Iranian Foreign Minister Abbas "
            "Araghchi said in Karbala on Sunday that the United States and the Israeli regime have violated the "
            "memorandum of understanding", "fa")
    assert a.lang == "en"                   # the script decides, whatever the source usually writes in
    assert a.speaker_id == "araqchi"
    assert a.quotes[0] == "especially the first clause"
    assert "memorandum-violated" in a.claims


def test_unrelated_post_is_relevant_to_no_watch_list(lex):
    a = ann(lex, "reuters", "Gold climbs 2.4% to $4090 an ounce as investors trim bets on rate cuts "
                            "https://reut.rs/aZkHkMh", "en", outlinks=("https://reut.rs/aZkHkMh",))
    assert a.watchlist_ids == [] and a.claims == [] and a.speaker_id is None
    assert a.entities == []


def test_mention_without_speech_has_no_speaker(lex):
    a = ann(lex, "alalamarabic", "📸 وزير الخارجية الإيراني عباس عراقجي يصل إلى كربلاء", "ar")
    assert a.speaker_id is None
    assert a.actors == ["araqchi"] and a.places == ["karbala"]
    assert a.watchlist_ids == ["us-iran-talks"]
    assert a.entities == ["actor:araqchi", "place:karbala"]


def test_signal_item_hits(lex):
    veto = ann(lex, "alalamarabic", "🔴 عراقجي: «الفيتو على بعض البنود» من جانب واشنطن «يعيق استعادة الأمن الإقليمي»",
               "ar")
    assert [(h.watchlist_id, h.signal_id) for h in veto.signal_hits] == [("us-iran-talks", "memorandum-scope")]
    assert veto.signal_hits[0].why == "claim memorandum-scope"


def test_signal_rule_parts_must_all_hold():
    wl = Watchlist.model_validate({
        "id": "w", "title": "w", "report": {"recipients": ["a@b.c"]},
        "actors": [{"id": "araqchi", "name": "Abbas Araqchi", "aliases": {"ar": ["عراقجي"]}}],
        "signals": [{"id": "karbala-statement", "title": "t",
                     "rule": {"actors_any": ["araqchi"], "keywords_any": {"ar": ["كربلاء"], "en": ["Karbala"]}}}],
    })
    lex = lexicon_from([wl], [])
    both = annotate(ItemText("s", "1", "u", "عراقجي من كربلاء: نص", "ar"), lex)
    only_actor = annotate(ItemText("s", "2", "u", "عراقجي: نص آخر", "ar"), lex)
    assert [(h.signal_id, h.why) for h in both.signal_hits] == [
        ("karbala-statement", "actor araqchi; keyword 'كربلاء'")]
    assert only_actor.signal_hits == []


def test_quote_extraction_styles():
    assert extract_quotes('He said "we will return" and «نعود» then „wir kommen“.') == [
        "we will return", "نعود", "wir kommen"]
    assert extract_quotes("Iran’s minister didn’t say") == []


def test_url_keys_find_a_post_through_any_mirror():
    assert url_key("https://x.com/Reuters/status/123456789") == url_key(
        "http://127.0.0.1:8765/nitter-b/reuters/status/123456789#m") == "tweet:123456789"
    assert url_key("https://t.me/s/alalamarabic/61915") == url_key("https://t.me/alalamarabic/61915?single") \
        == "tg:alalamarabic/61915"
    assert url_key("https://www.Axios.com/2026/06/28/x/?utm_source=tw") == "url:axios.com/2026/06/28/x"
    assert post_account("http://127.0.0.1:8765/nitter-a/reuters/status/2071325357740156528") == "reuters"


def test_spellings_meet_after_normalisation():
    assert normalize("عراقجي") == normalize("عراقجی")               # Arabic and Persian yeh
    assert normalize("إسماعيل") == normalize("اسماعیل")
    assert normalize("خامنه‌ای") == "خامنه ای"                        # ZWNJ becomes a space
    assert script_language("مایک والتز، سفیر آمریکا", "ar") == "fa"
    assert script_language("قال المتحدث الإيراني", "fa") == "ar"        # ي is Arabic only
    assert script_language("Spokesman Esmaeil Baghaei:", "fa") == "en"
