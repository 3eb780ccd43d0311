"""Stance rules: what counts as a negation, a denial, a fact-check or a question, in English, Arabic and
Persian. Each case is a way outlets write that the rules once got wrong or must keep right."""
from __future__ import annotations

import pytest

from signal_desk.signals.stance import (as_statement, contrast, is_denial, is_fact_check, is_question,
                                        negations, opens_statement, stance_of, without_negations)


@pytest.mark.parametrize("text, lang, expected", [
    ("Washington does not accuse Iran of violating the memorandum", "en", 1),
    ("Iran will respond decisively to any further breaches", "en", 0),
    ("declined to confirm that the talks were on track", "en", 1),
    ("Our responses should leave no doubt about that", "en", 0),                # idiom, negates nothing
    ("عراقجي: انتهكا مذكرة التفاهم «لا سيما البند الأول»", "ar", 0),           # "especially"
    ("المحادثات لا تزال على المسار الصحيح", "ar", 0),                           # "still"
    ("ولم يتم إلغاء أي اجتماع", "ar", 1),
    ("إيران لن تشارك في جولة المحادثات", "ar", 1),
    ("سيقابل بردّ لم تشهده من قبل", "ar", 0),                                  # "unprecedented"
    ("ایران در نشست فنی شرکت نکرد", "fa", 1),
    ("ایران در نشست فنی شرکت نمی‌کند", "fa", 1),
    ("ایران در نشست فنی شرکت نخواهد کرد", "fa", 1),
    # nouns that begin with ن are not negated verbs: session, proxy, nearby, force
    ("نشست فنی با حضور نیروهای نیابتی در نزدیکی تنگه برگزار شد", "fa", 0),
    # threat formulas warn, they negate nothing
    ("The president will not tolerate attacks on shipping", "en", 0),
    ("ترامب «لن يتسامح» مع الهجمات", "ar", 0),
    ("لن نقف مكتوفي الأيدي أمام أي اعتداء", "ar", 0),
    ("ایران حملات را «تحمل نخواهد کرد».", "fa", 0),
    ("ایران در برابر این حملات دست روی دست نخواهد گذاشت", "fa", 0),
    ("واشنگتن در برابر هر حمله تازه دست روی دست نمی‌گذارد", "fa", 0),
    ("Tehran will not stay silent if its tankers are hit again", "en", 0),
    ("The Guards will shoot down any drone without further notice", "en", 0),
    ("Any attack will not go unpunished, the minister said", "en", 0),
    ("أي اعتداء جديد لن يمر دون رد", "ar", 0),
    ("إيران لن تقف صامتة أمام استهداف سفنها", "ar", 0),
    ("هرگونه تجاوز بی‌پاسخ نخواهد ماند", "fa", 0),
    ("سپاه بدون هشدار قبلی پهپادها را سرنگون می‌کند", "fa", 0),
    # "has no choice but" states what must happen
    ("Tehran has no choice but to build the bomb", "en", 0),
    ("لا خيار أمام طهران سوى القنبلة", "ar", 0),
    ("ایران «چاره‌ای جز بمب اتمی ندارد»", "fa", 0),
    # the "not" of a contrast negates its own words, not the clause ("needs X, not Y" says it needs X)
    ("the country needs the deterrent, not another piece of paper, the editorial said", "en", 0),
    ("ما جرى إلغاء وليس تأجيلاً", "ar", 0),
    ("The ministry said the talks were postponed, not least because of the strikes", "en", 1),
    ("إيران ملتزمة بالجولة وليس لديها أي نية لمقاطعتها", "ar", 1),
])
def test_negation_cues_are_counted_where_they_negate(text, lang, expected):
    assert negations(text, lang) == expected


@pytest.mark.parametrize("text, lang, expected", [
    ("Tehran denied reports that it had skipped the talks", "en", True),
    ("Iran rejected the claims as baseless", "en", True),
    ("Iran rejected the US demands on missiles", "en", False),                  # refusing is not denying
    ("نَفَى المتحدث أن تكون إيران قد قاطعت الجولة", "ar", True),                # with short vowels written
    ("سخنگوی وزارت خارجه این خبر را تکذیب کرد", "fa", True),
    ("بقائی ادعای مقام آمریکایی را رد کرد", "fa", True),
    ("The spokeswoman flatly rejected Tehran's charge that Washington broke the deal", "en", True),
    ("The minister dismissed Israel's claims about the tanker", "en", True),
    # dismissed as something: what it is dismissed as may be quoted
    ("A spokesman dismissed as \"baseless\" reports that the delegation had been recalled", "en", True),
    ("The envoy dismissed as pure speculation claims that the session was off", "en", True),
    ("The ministry dismissed its press officer after the reports", "en", False),
    ("Gen. Tangsiri was dismissed as navy commander amid reports that Iran had seized a tanker", "en", False),
    ("Araqchi dismissed US allegations that Tehran had breached the memorandum", "en", True),
    # the object of the denial can run long, and an adverb can sit before the verb
    ("عراقچی ادعای رئیس‌جمهور آمریکا درباره نقض تفاهم‌نامه از سوی ایران را قاطعانه رد کرد", "fa", True),
    ("ایران پیشنهاد آمریکا برای پیوست دریایی را رد کرد", "fa", False),         # refusing a proposal
])
def test_denials(text, lang, expected):
    assert is_denial(text, lang) is expected


@pytest.mark.parametrize("post, expected", [
    ("FALSE: claims that the IRGC attacked a tanker are fabricated", True),
    ("Fact Check: Video does not show Khamenei calling for a bomb", True),
    ("#كاذب | لم يستهدف الحرس الثوري ناقلة نفط", True),
    ("مُفبرك ❌ | المقطع المنسوب إلى قائد في الحرس الثوري", True),            # with a damma on the mim
    ("شایعه | خبر حضور هیئت ایرانی در مسقط صحت ندارد", True),
    ("The earlier report is assessed as a false alarm", False),                 # a false alarm is news
    ("Iran says the talks are false hope for the region", False),
    # "Fake News" as an epithet is not a fact-check; as a label opening the post it is
    ("Talks are going very nicely. NOTHING has been cancelled, no matter what the Fake News says!", False),
    ("Fake news: the IRGC did not seize a tanker near Tunb", True),
])
def test_fact_checks(post, expected):
    assert is_fact_check(post) is expected


@pytest.mark.parametrize("sentence, lang, expected", [
    ("Has Iran pulled out of the technical talks for good?", "en", True),
    ("هل تحضر إيران جولة المحادثات المقبلة؟", "ar", True),
    ("آیا ایران در دور بعدی مذاکرات شرکت می‌کند؟", "fa", True),
    ("Iran will not attend the talks.", "en", False),
])
def test_questions(sentence, lang, expected):
    assert is_question(sentence, lang) is expected


def test_a_clause_with_its_own_reporting_verb_starts_a_new_statement():
    assert opens_statement("مؤكدًا أن الوفد الإيراني لم يحضر اجتماع الأحد")
    assert opens_statement("telling Reuters that Sunday's boycott was a message")
    assert not opens_statement("that Tehran had skipped the talks")


@pytest.mark.parametrize("text, lang, expected", [
    ("no meeting with Iran has been called off", "en", "a meeting with Iran has been called off"),
    ("Iranian diplomats didn't travel and won't go", "en", "Iranian diplomats did travel and will go"),
    ("Washington will not tolerate it but did not reply", "en", "Washington will not tolerate it but did reply"),
    ("قال إن طهران لم تلغ مشاركتها ولن تقاطع", "ar", "قال إن طهران تلغ مشاركتها و تقاطع"),
    ("لا يزال الوفد لم يصل", "ar", "لا يزال الوفد يصل"),
    ("هیئت ایرانی به ژنو اعزام نمی‌شود", "fa", "هیئت ایرانی به ژنو اعزام می‌شود"),
    # the "not" of a contrast is not counted, so it is not taken out either
    ("Iran will not attend in Muscat, not in Geneva", "en", "Iran will attend in Muscat, not in Geneva"),
    ("ایران در نشست حضور نخواهد یافت", "fa", "ایران در نشست حضور خواهد یافت"),
])
def test_a_clause_read_without_its_negations(text, lang, expected):
    assert without_negations(text, lang) == expected


@pytest.mark.parametrize("sentence, lang, fact_check, expected", [
    ("Will Iran send a delegation to the Geneva session?", "en", False, "Iran send a delegation to the Geneva session"),
    ("هل تشارك إيران في الجولة الفنية المقبلة؟", "ar", False, "تشارك إيران في الجولة الفنية المقبلة"),
    ("آیا ایران در نشست فنی ژنو شرکت می‌کند؟", "fa", False, "ایران در نشست فنی ژنو شرکت می‌کند"),
    ("FALSE: claims that the IRGC seized a tanker", "en", True, "claims that the IRGC seized a tanker"),
    ("ادعای توقیف نفتکش توسط سپاه نادرست است", "fa", True, "ادعای توقیف نفتکش توسط سپاه است"),
    ("Why did Iran skip the session?", "en", False, None),          # a wh-question asks about something else
    ("- Iran did not attend the Geneva session", "en", False, None),  # a bullet is no question
    ("Iran sent a delegation to Geneva.", "en", False, None),
])
def test_a_question_or_fact_check_as_the_statement_it_is_about(sentence, lang, fact_check, expected):
    assert as_statement(sentence, lang, fact_check) == expected


@pytest.mark.parametrize("sentence, lang, expected", [
    ("Tehran is weighing its reply to the sanctions, not the future of the talks.", "en",
     ("Tehran is weighing its reply to the sanctions.", ["the future of the talks"])),
    ('Officials called it "a delay, not a cancellation," and said the round would go ahead.', "en",
     ('Officials called it "a delay," and said the round would go ahead.', ["a cancellation"])),
    ("ما حدث تأجيل وليس إلغاءً للجولة، بحسب الوسيط.", "ar", ("ما حدث تأجيل، بحسب الوسيط.", ["إلغاء للجولة"])),
    ("قال عراقجي، لا نريد الحرب", "ar", None),                       # لا after a comma negating a verb
    ("آنچه اعلام شد «بازنگری» است، نه «تعلیق»؛ میز ترک نشده است.", "fa",
     ("آنچه اعلام شد «بازنگری» است؛ میز ترک نشده است.", ["تعلیق"])),
    # no contrast: "not only", "neither ... nor", a sentence negated as a whole
    ("The strike hit not only the port, not least its fuel depot.", "en", None),
    ("توان موشکی ما، نه امروز و نه فردا، قابل مذاکره نیست", "fa", None),
    ("إيران ملتزمة بالجولة وليس لديها أي نية لمقاطعتها", "ar", None),
    ("وليس سرا أن واشنطن خرقت مذكرة التفاهم مرارا", "ar", None),
    ("ایران، نه در نشست ژنو با هیئت آمریکایی و نه در مسقط، شرکت نمی‌کند", "fa", None),
    ("Washington violated the memorandum, not least by backing the strikes.", "en", None),
    ("Iran will attend, not all of its experts will.", "en", None),
    # the contrasted words end where the clause does
    ("The talks were postponed, not cancelled as Tehran had feared.", "en",
     ("The talks were postponed as Tehran had feared.", ["cancelled"])),
])
def test_a_contrast_says_one_thing_and_negates_another(sentence, lang, expected):
    assert contrast(sentence, lang) == expected


@pytest.mark.parametrize("sentence, lang, expected", [
    ("❌ Claim: Iran boycotted the Geneva session.", "en", "reported_false"),
    ("✅ Fact: the Iranian delegation attended the Geneva session.", "en", "asserted"),
    ("FACT: Iranian negotiators were in Muscat on Tuesday.", "en", "asserted"),
    ("الحقيقة: الوفد الإيراني حضر جلسة جنيف كاملة.", "ar", "asserted"),
    ("✅ واقعیت: هیئت ایرانی فردا در ژنو حضور خواهد داشت.", "fa", "asserted"),
    ("Iranian negotiators were in Muscat, the claim says.", "en", "reported_false"),
    # a line that is itself the verdict is the fact-check, whatever mark opens it
    ("✅ Fact check: claims that Iran boycotted the Geneva session are false.", "en", "reported_false"),
    ("Fact: the claim that Iran skipped the Geneva session is false.", "en", "reported_false"),
    ("✅ FALSE: Iran boycotted the Geneva session.", "en", "reported_false"),
])
def test_in_a_fact_check_the_line_giving_the_facts_states_them(sentence, lang, expected):
    assert stance_of(sentence, sentence, lang, negated=False, fact_check=True) == expected
