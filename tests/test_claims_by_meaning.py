"""Claims and speakers the way outlets write them, against the production watch lists: claims found by
meaning (no pattern matches these), stance kept apart from the claim, speakers by title on the post's
date. The sentences are the issue's own examples of what used to go wrong, and plain ways outlets put
the same things; none is in the labelled evaluation sets."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from signal_desk.config import load_config
from signal_desk.signals.annotate import ItemText, annotate
from signal_desk.signals.lexicon import build_lexicon

JUNE_2026 = datetime(2026, 6, 28, 20, 0, tzinfo=timezone.utc)
# Known misread: the classifier takes a negation cue itself (لم, "no") as evidence of a claim its examples
# often word with one, so "did not suspend" scores as high as "did not attend"; taking the negation out
# leaves too weak a contrast to overrule it. Examples of each claim's negation, as a class of their own,
# are the fix.
_NEGATION_LEARNED = "known misread: a negation cue read as part of a negatively worded claim"


@pytest.fixture(scope="module")
def lex():
    return build_lexicon(load_config("config"))


def read(lex, text: str, lang: str | None = None, at: datetime | None = JUNE_2026):
    return annotate(ItemText("wire", "1", "https://example.org/1", text, lang, published_at=at), lex)


def stances(a) -> set[tuple[str, str]]:
    return {(c["claim"], c["stance"]) for c in a.claim_stances}


def test_a_claim_in_other_words_is_found(lex):
    a = read(lex, "Iran did not send a delegation to Sunday's technical talks with the United States, "
                  "state media said.")
    assert ("talks-suspended", "asserted") in stances(a)
    assert a.claims == ["talks-suspended"]


def test_a_negated_accusation_is_stored_as_negated_never_as_the_claim(lex):
    a = read(lex, "A senior administration official said Washington does not accuse Iran of violating the "
                  "memorandum of understanding.")
    assert ("memorandum-violated", "negated") in stances(a)
    assert "memorandum-violated" not in a.claims
    assert a.speaker_id == "senior-us-official"


@pytest.mark.parametrize("text", [
    "Tehran on Monday rejected U.S. accusations that it had breached the memorandum by expanding enrichment "
    "at Natanz.",
    "The foreign ministry dismissed U.S. claims that Iran had broken the memorandum of understanding.",
])
def test_rejecting_an_accusation_denies_what_it_accuses(lex, text):
    # Regression: "rejected U.S. accusations" was no denial ("U.S." is not a word), and a claim whose
    # closest clause was the reporting clause was dropped, or read from it ("rejected" as "suspended").
    assert stances(read(lex, text)) == {("memorandum-violated", "denied")}


@pytest.mark.parametrize("text", [
    "Rubio told senators the administration was not, at this point, accusing Tehran of violating the "
    "memorandum of understanding.",
    'The State Department spokesman said Washington was not, "for the time being," accusing Iran of '
    "breaching the memorandum.",
])
def test_a_negation_before_a_parenthesis_still_negates_what_follows_it(lex, text):
    # Regression: the clause split at the parenthesis left "was not" in one clause and the accusation
    # in the next, which carried the claim with no negation in it; the act read "accusing" as an
    # accusation for the same reason.
    a = read(lex, text)
    assert stances(a) == {("memorandum-violated", "negated")}
    assert a.speech_act != "accused"


def test_a_clause_does_not_end_in_its_negation():
    from signal_desk.signals.claims import clauses
    assert clauses("Rubio said the administration was not, at this point, accusing Tehran of violating "
                   "the memorandum, and that talks continue.")[0].startswith(
        "Rubio said the administration was not at this point accusing Tehran of violating the memorandum")


def test_an_arabic_negation_joined_by_wa_opens_a_clause_of_its_own(lex):
    # Regression: "ولم تلتزم" (and did not honour) was read in one clause with the violation it follows,
    # and negated it.
    from signal_desk.signals.claims import clauses
    text = "عراقجي: أمريكا خرقت بنود مذكرة التفاهم ولم تلتزم بتعهداتها."
    assert clauses(text)[-1] == "ولم تلتزم بتعهداتها."
    assert stances(read(lex, text, "ar")) == {("memorandum-violated", "asserted")}


def test_a_negation_is_judged_on_the_same_clauses_read_with_and_without_it(lex):
    # Regression: "no meeting was cancelled" + "talks expected to resume" read without the negation was
    # compared with the one clause's probability, not the two read together, and looked "stronger":
    # the claim the sentence makes was stored as negated.
    a = read(lex, "قال ويتكوف إن واشنطن لم تلغِ أي اجتماع، ويُتوقع استئناف المحادثات الفنية قريباً.", "ar")
    assert ("talks-on-track", "asserted") in stances(a)


@pytest.mark.parametrize("text, expected", [
    ("Iran attended the technical session in Muscat, not the one in Geneva.", ("iran-attends-talks", "asserted")),
    ("Washington violated the memorandum of understanding, not least by backing the Israeli strikes.",
     ("memorandum-violated", "asserted")),
])
def test_what_a_contrast_says_is_asserted(lex, text, expected):
    # Regressions: the clause left after a contrast was no longer read on its own, and "not least" was
    # counted as a negation
    assert expected in stances(read(lex, text))


def test_declining_to_confirm_is_not_confirming(lex):
    a = read(lex, "The White House press secretary declined to confirm that the technical talks with Iran "
                  "were still on track.")
    assert ("talks-on-track", "negated") in stances(a)
    assert "talks-on-track" not in a.claims
    assert (a.speaker_id, a.speech_act) == ("leavitt", "said")


def test_a_fact_check_reports_the_claim_false_and_its_subject_is_not_its_speaker(lex):
    a = read(lex, "FALSE: Claims that the IRGC attacked an American oil tanker in the Strait of Hormuz. "
                  "The video shows a 2021 fire in Bandar Abbas port.")
    assert ("regional-incident", "reported_false") in stances(a)
    assert a.claims == []
    assert a.speaker_id is None


def test_a_denial_in_arabic(lex):
    a = read(lex, "نفى المتحدث باسم الخارجية الإيرانية إسماعيل بقائي التقارير التي تحدثت عن إرسال وفد "
                  "إيراني إلى مسقط للمشاركة في المحادثات الفنية", "ar")
    assert a.speaker_id == "baghaei"
    assert a.speech_act == "denied"
    assert all(stance != "asserted" for _, stance in stances(a))


def test_a_persian_negated_verb_asserts_the_suspension(lex):
    a = read(lex, "به گزارش ایرنا، هیئت ایرانی در دور جدید مذاکرات فنی با آمریکا شرکت نکرد.", "fa")
    assert ("talks-suspended", "asserted") in stances(a)


@pytest.mark.parametrize("text, claim", [
    ("ادعای لغو نشست فنی ژنو از سوی تهران نادرست است؛ سخنگوی وزارت خارجه این خبر را جعلی خواند.",
     "talks-suspended"),
    ("ادعای حمله قایق‌های سپاه به یک کشتی تجاری در تنگه هرمز نادرست است؛ تصاویر مربوط به رزمایش سال "
     "گذشته است.", "regional-incident"),
])
def test_a_persian_fact_check_is_read_as_the_claim_it_reports_false(lex, text, claim):
    # "the claim of X is false" matches no example as a whole (examples assert X): it is also read
    # without its verdict
    a = read(lex, text, "fa")
    assert (claim, "reported_false") in stances(a)
    assert a.claims == []


def test_a_post_that_states_nothing_makes_no_claim(lex):
    for text in ("Oil prices rose 2% on Monday as traders weighed supply risks in the Gulf.",
                 "Iran's foreign ministry spokesman holds his weekly news conference on Monday at 10:30.",
                 "منتخب ایران فوتبال در دیداری دوستانه ۲ بر یک از ازبکستان برد."):
        assert read(lex, text).claims == [], text


@pytest.mark.parametrize("text, lang, speaker", [
    ("The foreign minister said the United States had trampled on the memorandum.", "en", "araqchi"),
    ("Iran's top diplomat warned Washington against further strikes.", "en", "araqchi"),
    ("قال وزير الخارجية الإيراني إن واشنطن انتهكت مذكرة التفاهم", "ar", "araqchi"),
    ("سخنگوی وزارت خارجه گفت ایران در نشست فنی شرکت نخواهد کرد", "fa", "baghaei"),
    ("The Supreme Leader said Iran would not negotiate under pressure.", "en", "khamenei"),
    ("A senior administration official told reporters the talks remain on track.", "en", "senior-us-official"),
    ("یک مقام آگاه ایرانی: مسیر مذاکره با آمریکا در دست بررسی است", "fa", "iranian-official"),
    ("مصدر مطلع: طهران لن ترسل وفدا إلى مسقط", "ar", "iranian-official"),
    ("أبلغ رئيس البرلمان الإيراني محمد باقر قاليباف الصحفيين أن طهران سترد بحزم", "ar", "ghalibaf"),
])
def test_speakers_named_by_title_or_role(lex, text, lang, speaker):
    assert read(lex, text, lang).speaker_id == speaker


@pytest.mark.parametrize("text, lang, speaker", [
    # a word for an official or a source, with the country somewhere beside it
    ("A senior official in the US administration said the next session is still planned for the autumn.",
     "en", "senior-us-official"),
    ("قال مسؤول رفيع في الإدارة الأمريكية إن موعد الجلسة المقبلة لم يتغير", "ar", "senior-us-official"),
    ("یک مقام ارشد دولت آمریکا به خبرنگاران گفت نشست بعدی طبق برنامه برگزار می‌شود", "fa", "senior-us-official"),
    ("An Israeli military source said the drone was launched from Yemen.", "en", "israeli-official"),
    ("منبعی آگاه در وزارت امور خارجه ایران گفت تصمیمی درباره نشست بعدی گرفته نشده است", "fa", "iranian-official"),
    # a country no role is configured for is nobody configured
    ("A Qatari official said the mediators were preparing a new venue for the talks.", "en", None),
    # ... but not one that is the object of a preposition, or not the one speaking
    ("Araqchi, speaking after talks with American diplomats in Muscat, said the memorandum still stands.",
     "en", "araqchi"),
    ("Iran expelled two US diplomats on Monday, state television said.", "en", None),
    ("Iran's official IRNA news agency said the delegation would travel to Muscat on Sunday.", "en", None),
    # the deputy or a former holder of a title is not its holder
    ("Deputy Foreign Minister Kazem Gharibabadi said Iran's team would travel to the talks on Sunday.", "en", None),
    ("قال نائب وزير الخارجية الإيراني إن الوفد سيغادر إلى الجولة المقبلة", "ar", None),
    ("معاون وزیر امور خارجه گفت هیئت ایرانی یکشنبه عازم نشست فنی می‌شود", "fa", None),
    ("The former US secretary of state said the talks were doomed.", "en", None),
    ("قال وزير الخارجية الإيراني السابق إن الاتفاق انتهى", "ar", None),
    # Persian puts the verb last: the sentence's opening names who speaks, not the name nearest the verb,
    # after an agency's lead or an opening prepositional phrase
    ("به گزارش خبرنگار سیاسی خبرگزاری تسنیم از تهران، عراقچی درباره ادعای ترامپ گفت ایران تفاهم‌نامه را "
     "نقض نکرده است", "fa", "araqchi"),
    ("قالیباف با اشاره به سخنان اخیر وزیر خارجه آمریکا تأکید کرد مجلس اجازه گسترش تفاهم‌نامه را نمی‌دهد.",
     "fa", "ghalibaf"),
    ("در پاسخ به ادعای ترامپ، عراقچی گفت ایران تفاهم‌نامه را نقض نکرده است", "fa", "araqchi"),
    ("حضرت آیت‌الله خامنه‌ای در دیدار فرماندهان نیروی دریایی فرمودند هر تعرضی بی‌پاسخ نمی‌ماند.", "fa", "khamenei"),
    # ... and a name after a Persian verb is what is said, not who says it
    ("روزنامه جوان در سرمقاله خود نوشت که عراقچی باید از مذاکره کناره بگیرد.", "fa", None),
    # who is named in a relative clause between commas speaks no verb outside it
    ("The hardline daily, whose editor is appointed by the Supreme Leader, wrote that Iran must leave the NPT.",
     "en", None),
    ("صحيفة كيهان، التي يعين المرشد رئيس تحريرها، كتبت أن على إيران الانسحاب من معاهدة عدم الانتشار.", "ar", None),
    ("روزنامه جوان، که به سپاه نزدیک است، در سرمقاله خود نوشت مذاکره بی‌فایده است.", "fa", None),
    ("Araqchi, who met his Omani counterpart on Sunday, said Iran would not attend the talks.", "en", "araqchi"),
    ("عراقچی، که روز یکشنبه با همتای عمانی خود دیدار کرد، گفت ایران در مذاکرات شرکت نمی‌کند.", "fa", "araqchi"),
])
def test_speakers_by_generic_source_deputy_title_and_persian_word_order(lex, text, lang, speaker):
    assert read(lex, text, lang).speaker_id == speaker


def test_dismissing_a_report_is_a_denial_and_dismissing_a_person_is_not(lex):
    a = read(lex, "Foreign Minister Abbas Araqchi dismissed as fiction a report that Iran had agreed to new terms.")
    assert (a.speaker_id, a.speech_act) == ("araqchi", "denied")
    a = read(lex, "Trump dismissed his national security adviser on Friday, the White House said.")
    assert (a.speaker_id, a.speech_act) == ("trump", "said")


@pytest.mark.parametrize("text", [
    "Iran sent its delegation to the talks, but the US did not, and Washington accused Tehran of violating "
    "the memorandum.",
    "Whether Washington likes it or not, Iran violated the memorandum, the envoy said.",
])
def test_a_negation_that_ends_its_clause_negates_nothing_after_it(lex, text):
    # "the US did not" (send one) and "like it or not" close their clauses: the accusation after them is
    # made, not negated
    assert ("memorandum-violated", "asserted") in stances(read(lex, text))


def test_a_title_names_whoever_held_it_on_the_posts_date(lex):
    text = "The US secretary of state said the talks remain on track."
    assert read(lex, text).speaker_id == "rubio"
    assert read(lex, text, at=datetime(2023, 5, 1, tzinfo=timezone.utc)).speaker_id is None


def test_a_title_of_another_country_is_not_a_configured_actor(lex):
    assert read(lex, "Qatar's foreign minister said mediation with Tehran continues.").speaker_id is None


@pytest.mark.parametrize("text, lang", [
    ("Iran's foreign minister said Tehran will not tolerate any further attack on its oil terminals and "
     "will respond firmly.", "en"),
    ("قال عراقجي إن طهران لن تتسامح مع أي اعتداء جديد على منشآتها النفطية", "ar"),
    ("عراقچی گفت ایران هیچ حمله تازه‌ای به تأسیسات نفتی خود را تحمل نخواهد کرد.", "fa"),
    ("سفیر ایران در سازمان ملل گفت تهران در برابر هر تعرض تازه به نفتکش‌هایش دست روی دست نمی‌گذارد و "
     "پاسخی قاطع خواهد داد.", "fa"),
])
def test_a_threat_worded_with_a_negation_is_a_warning_asserted(lex, text, lang):
    # Regression: "لن يتسامح" / "تحمل نخواهد کرد" were read as negating the warning.
    assert ("incident-response-warning", "asserted") in stances(read(lex, text, lang))


def test_who_is_reporting_is_not_read_as_what_is_claimed(lex):
    # Regression: the reporting clause alone ("the US envoy to the UN claims") was classified as an
    # accusation that the memorandum was violated.
    a = read(lex, "المندوب الأمريكي لدى الأمم المتحدة يزعم أن الرئيس ترامب «لن يتسامح» مع الهجمات الإيرانية "
                  "على ناقلات النفط في الخليج", "ar")
    assert "memorandum-violated" not in {c for c, _ in stances(a)}
    a = read(lex, "مندوب الولايات المتحدة في مجلس الأمن يزعم أن واشنطن «لن تتسامح» مع أي هجوم إيراني جديد "
                  "على السفن التجارية", "ar")
    assert stances(a) == {("incident-response-warning", "asserted")}


@pytest.mark.parametrize("text, lang", [
    ("Forest fires threaten villages near Izmir in western Turkey.", "en"),
    ("🌍 زمین‌لرزه‌ای در شمال ژاپن چند خانه را ویران کرد", "fa"),
    ("سوريا | مقتل خمسة أشخاص في اشتباكات بريف دير الزور", "ar"),
    ("Israeli drone strike hits a car near Nabatieh, Lebanese state media say", "en"),
    ("BREAKING: Air raid alert across the Dnipro region; explosions reported", "en"),
])
def test_an_unrelated_disaster_or_clash_is_not_a_regional_incident(lex, text, lang):
    # Regression: the demo's Greek wildfire and Syrian clashes fired the Gulf shipping signal.
    assert read(lex, text, lang).claim_stances == []


def test_an_attack_on_a_tanker_is_a_regional_incident(lex):
    a = read(lex, "A drone hit a Panama-flagged tanker off Ras Tanura on Sunday, maritime sources said.")
    assert ("regional-incident", "asserted") in stances(a)


@pytest.mark.parametrize("text, lang", [
    ("وجاءت تصريحات الوزير بعد يومين من احتجاز الحرس الثوري ناقلة ترفع علم بنما قرب جزيرة قشم", "ar"),
    ("سخنان وزیر دو روز پس از توقیف یک نفتکش با پرچم پاناما در نزدیکی قشم توسط سپاه مطرح شد", "fa"),
])
def test_an_incident_told_in_passing_is_a_regional_incident(lex, text, lang):
    # Regression: the examples only ever reported incidents as the news itself; one mentioned inside a
    # statement about something else ("after the Guards seized a tanker") went unread in Arabic and Persian.
    assert ("regional-incident", "asserted") in stances(read(lex, text, lang))


def test_a_label_before_a_bar_is_the_dateline_of_its_sentence():
    from signal_desk.signals.claims import sentences
    assert sentences("سوريا | اشتباكات في ريف اللاذقية وسقوط 3 قتلى") == ["سوريا | اشتباكات في ريف اللاذقية وسقوط 3 قتلى"]
    assert sentences("Iran says the talks are off for now | Reuters") == ["Iran says the talks are off for now", "Reuters"]


def test_a_claims_near_misses_keep_it_off_the_same_event_elsewhere(lex):
    """Regression: strikes in Lebanon (the demo's background) read as the Gulf incident claim until the
    claim listed near misses, which the classifier learns as a class of their own."""
    from signal_desk.signals.claims import ClaimIndex
    text = "Israeli drone strike hits a motorcycle near Marjayoun, killing its rider, local media report."
    configured = lex.claim_index
    assert "regional-incident" not in {m.claim_id for m in configured.find(text, "en")}
    watchlists = load_config("config").watchlists
    bare = [wl.model_copy(update={"claims": [c.model_copy(update={"near_misses": {}}) for c in wl.claims]})
            for wl in watchlists]
    assert "regional-incident" in {m.claim_id for m in ClaimIndex(bare).find(text, "en")}
    # a tanker attack is still the claim
    assert "regional-incident" in {m.claim_id for m in configured.find(
        "A drone hit a Panama-flagged tanker off Ras Tanura on Sunday, maritime sources said.", "en")}


@pytest.mark.parametrize("text, lang", [
    ("White House officials said no meeting with Iran had been canceled and more sessions were planned.", "en"),
    pytest.param("The State Department said no session with the Iranian delegation had been called off.", "en",
                 marks=pytest.mark.xfail(strict=True, reason=_NEGATION_LEARNED)),
    pytest.param("أكد مصدر عماني أن طهران لم تعلّق مشاركتها في الاجتماعات الفنية.", "ar",
                 marks=pytest.mark.xfail(strict=True, reason=_NEGATION_LEARNED)),
])
def test_a_negation_of_a_claim_worded_with_one_is_not_the_claim(lex, text, lang):
    # talks-suspended is often worded with a negation ("did not attend"); here the negation is of it
    assert ("talks-suspended", "asserted") not in stances(read(lex, text, lang))
