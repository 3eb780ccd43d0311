"""How a sentence holds a claim: asserted, denied, negated, reported as false, or asked.

Rules over word lists in English, Arabic and Persian; they run on the sentence (and clause) in which a
claim was found by meaning, so a negation elsewhere in a long post does not flip it. Negation is
counted, not just detected: a claim whose own wording is negative ("Iran did not attend") is asserted
by a sentence with as many negations as the claim's example it matched, and negated by one with one
more ("it is not true that Iran did not attend" is rare; "Washington does not accuse Iran of violating
the memorandum" is common).
"""
from __future__ import annotations

import re
from typing import Literal

Stance = Literal["asserted", "denied", "negated", "reported_false", "asked"]
STANCES: tuple[Stance, ...] = ("asserted", "denied", "negated", "reported_false", "asked")

_ZWNJ = "\u200c"

# Negation cues counted per clause. English: particles and refusal verbs ("declined to confirm").
_EN_NEGATION = re.compile(
    r"\b(?:not|never|no|none|neither|nor|without|cannot)\b|n't\b|"
    r"\b(?:declin|refus|fail)(?:e|es|ed|ing|s)?\s+to\b",
    re.IGNORECASE)
# Arabic: particles, and negation fused to a following word is rare; "عدم" (non-) and "غير" (un-).
_AR_NEGATION = re.compile(r"(?<!\w)[وف]?(?:لم|لن|لا(?!\s*سيما)|ليس|ليست|ليسوا|لسنا|عدم|بدون)(?!\w)|"
                          r"(?<!\w)[وف]?(?:رفض|يرفض|ترفض|رفضت)\w*\s+(?:أن|ال)")
# Persian verbs negate with a prefix: ن / نمی / نخواهد. Matched as a word starting with ن followed by a
# verb stem, so nouns beginning with ن (نشست "session", نقض "violation", نظامی) are not negations.
_FA_VERB_STEMS = (
    "کرد", "کن", "شد", "شو", "داد", "ده", "داشت", "دار", "بود", "است", "یست", "خواه", "فرستاد", "فرست",
    "آمد", "یامد", "آی", "یافت", "یاب", "رفت", "رو", "گفت", "گوی", "پذیرفت", "پذیر", "دید", "بین",
    "کرده", "شده", "داده", "رسید", "رس", "گرفت", "گیر", "ماند", "مان", "خواست", "توان", "تواند", "بایست",
    "زد", "زن", "کشید", "نشست", "پیوست", "پیوند",
)
_FA_ENDINGS = "(?:م|ی|د|یم|ید|ند|ه|ده|ست|ش|اند|ه[" + _ZWNJ + " ]?(?:ام|ای|است|ایم|اید|اند))?"
_FA_NEGATION = re.compile(
    r"(?<!\w)(?:نمی[" + _ZWNJ + r" ]?\w+|ن(?:" + "|".join(sorted(_FA_VERB_STEMS, key=len, reverse=True))
    + r")" + _FA_ENDINGS + r"|عدم|بدون)(?!\w)")

# Phrases that carry a negation word but negate nothing: "still" (لا يزال), "especially" (لا سيما),
# "unprecedented", "no doubt", "not only", contrasts ("a hiccup, not a rupture" is read as not negating
# what the sentence says before it), "no choice but" (لا خيار سوى, چاره‌ای جز ... ندارد), and threat formulas ("will not tolerate", "لن يتسامح", "تحمل
# نخواهد کرد": a warning, asserted).
_NEGATION_IDIOMS = re.compile(
    r"\b(?:never\s+(?:before\s+)?seen|no\s+doubt|not\s+only|no\s+less\s+than|no\s+longer\s+than|"
    r"nothing\s+short\s+of|second\s+to\s+none|,\s+not\s+\w+(?:\s+\w+)?[.!\"”]?$|"
    r"(?:will|would|shall)\s+not\s+(?:tolerate|stand\s+idly|go\s+unanswered|go\s+unpunished|hesitate|"
    r"(?:stay|remain|keep)\s+silent)|won't\s+(?:tolerate|hesitate|(?:stay|remain)\s+silent)|"
    r"without\s+(?:any\s+|further\s+|prior\s+)?(?:notice|warning|hesitation)|"
    r"(?:no|little)\s+(?:choice|option|alternative|way)\s+but)|"
    r"(?<!\w)[وف]?(?:لا\s+(?:خيار|بديل|سبيل)|ليس\s+(?:أمام\s+\S+\s+|لدى\s+\S+\s+)?(?:من\s+)?(?:خيار|بديل))(?=.{0,40}(?:سوى|إلا|غير))|"
    r"(?<!\w)(?:چاره|راه|گزینه)(?:[\u200c ]?ای)?\s+(?:جز|به\s+جز|غیر\s+از)\s+.{0,40}?ن(?:دارد|داریم|دارند|مانده)(?!\w)|"
    r"(?<!\w)[وف]?(?:لن|لا)\s+(?:يتسامح|نتسامح|تتسامح|يتهاون|نتهاون|تتهاون|نقف\s+مكتوفي|يقف\s+مكتوف|نتردد|تتردد|يتردد)\w*|"
    r"(?<!\w)(?:تحمل|تردید)\s+نخواه\w*\s+کرد|(?<!\w)دست\s+روی\s+دست\s+(?:نخواه\w*\s+گذاشت|نمی[\u200c ]?گذار\w*)|"
    r"(?<!\w)(?:بی[\u200c ]?پاسخ|بی[\u200c ]?جواب)\s+نخواه\w*\s+ماند|(?<!\w)ساکت\s+نخواه\w*\s+نشست|"
    r"(?<!\w)(?:بدون|بی)[\u200c ]?(?:هشدار|اخطار)|"
    r"(?<!\w)[وف]?(?:لن|لا)\s+(?:ن|ت|ي)(?:قف|بقى|سكت|صمت)\w*\s+(?:صامت|مكتوف|متفرج)\w*|"
    r"(?<!\w)[وف]?لن\s+(?:ي|ت)مر\s+(?:دون|بدون|من\s+دون|بلا)\s+(?:رد|عقاب|حساب)|(?<!\w)(?:دون|بدون|من\s+دون)\s+(?:سابق\s+)?إنذار|"
    r"(?<!\w)[وف]?(?:لا\s*سيما|لاسيما|لا\s*(?:يزال|تزال|زال|يزالون|تزالان)|ما\s+(?:زال|زالت|يزال|تزال)|"
    r"لا\s*بد|لا\s*شك|بلا\s+شك|لم\s+(?:\w+\s+){0,2}(?:من\s+قبل|مثيل\w*)|لم\s+يسبق)(?!\w)|"
    r"(?<!\w)(?:نه\s+تنها|بی[" + _ZWNJ + r" ]?شک|بدون\s+شک|هیچ[" + _ZWNJ + r" ]?گاه\s+\S+\s+نشده)(?!\w)",
    re.IGNORECASE)
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")

# Not confirming is not asserting: "declined to confirm that the talks were on track".
_NON_CONFIRMATION = re.compile(
    r"\b(?:(?:declin|refus)\w*\s+to|(?:did|does|would|could)\s*n[o']t|not)\s+(?:confirm|say|comment|verify)\w*|"
    r"(?<!\w)(?:لم|رفض|يرفض)\s+(?:يؤكد|تؤكد|تأكيد|يكشف)|(?<!\w)(?:تایید|تأیید)\s+نکرد|از\s+تایید\s+\S+\s+خودداری",
    re.IGNORECASE)

_NEGATION = {"en": _EN_NEGATION, "ar": _AR_NEGATION, "fa": _FA_NEGATION}

# Dismissing what others say is denying it: "dismissed the reports", "dismissed as 'baseless' claims that",
# "dismissed US allegations". Dismissing a person ("dismissed his adviser", "was dismissed as commander
# amid reports") is not. Shared with the speech act `denied` (lexicon.SPEECH_VERBS).
DISMISSAL = (r"dismiss(?:es|ed|ing)?\s+(?:as\s+(?:[\"“'‘][\w ]{1,30}[\"”'’]|(?!(?:\w+\s+){0,2}?(?:amid|after|over|following)\b)\w+(?:\s+\w+){0,2})\s+|[\"“'‘][\w ]{1,30}[\"”'’]\s+)?"
             r"(?:(?:the|a|an|these|those|such)\s+|\w+['’]s\s+)?(?:\w[\w.-]*\s+)?"
             r"(?:reports?|claims?|charges?|allegations?|accusations?|rumou?rs?|suggestions?|assertions?)")
# A speaker denying the claim ("Tehran denied reports that ...").
_DENIAL = {
    "en": re.compile(
        r"\b(?:den(?:y|ies|ied|ying)|refut(?:e|es|ed|ing)|" + DISMISSAL + r"|reject(?:s|ed|ing)?\s+(?:(?:the|a|an|these|those|such)\s+|\w+['’]s\s+)?(?:\w[\w.-]*\s+)?(?:reports?|claims?|allegations?|"
        r"accusations?|charges?|assertions?)|"
        r"(?:baseless|unfounded)\s+(?:reports?|claims?|allegations?)|(?:is|was|are|were)\s+not\s+true)\b",
        re.IGNORECASE),
    "ar": re.compile(r"(?<!\w)[وف]?(?:نفى|نفت|ينفي|تنفي|نفي|نفوا|كذب|كذّب|كذبت|تكذيب|يكذب|دحض|دحضت)(?!\w)"),
    "fa": re.compile(r"(?<!\w)(?:تکذیب|تكذيب|نفی\s+کرد|رد\s+کرد\w*\s+که|"
                     r"(?:ادعا|ادعای|ادعاهای|اتهام|اتهامات|گزارش|گزارش[" + _ZWNJ + r" ]?های|خبر|اخبار)\S*\s+(?:\S+\s+){0,8}?را\s+"
                     r"(?:\S+\s+)?رد(?!\w))"),
}

# A fact-check or debunk framing the claim as false; read over the whole post.
_FACT_CHECK_LABEL = re.compile(r"(?:^|\W)(?:FALSE|FAKE|MISLEADING|DEBUNKED|FACT CHECK)\b")
_FACT_CHECK = re.compile(
    r"\bfact[\s-]?check\w*|\bdebunk\w*|^\W*fake\s+news\s*[:|!-]|\b(?:AI|digitally)[\s-](?:generated|altered)\b|"
    r"\b(?:is|are|was|were)\s+(?:false|fake|fabricated|misleading|untrue)(?=\s*(?:[.,;:!)]|$))|\bno\s+evidence\b|"
    r"(?<!\w)(?:كاذب\w*|زائف\w*|مضلل\w*|مفبرك\w*|شائع\w*|غير\s+صحيح\w*|عار\w*\s+عن\s+الصحة|"
    r"تضليل\w*|شایعه\w*|نادرست\w*|جعلی|کذب|خلاف\s+واقع|صحت\s+ندارد|راستی[" + _ZWNJ + r" ]?آزمایی|"
    r"دروغ\w*|فیک)(?!\w)", re.IGNORECASE)

# In a fact-check, the line that gives the facts ("✅ Fact:", "✅ واقعیت:", "الحقيقة:") states them: it is
# read like any other statement, not reported false.
_FACTS_LINE = re.compile(r"^\W*(?:✅|✔️?|☑️?)|^\W*(?:(?:the\s+)?facts?|truth|true|correct|الحقيقة|الحقیقة|الصحيح|واقعیت|حقیقت)\s*[:：]",
                         re.IGNORECASE)

_FALSE_ALARM = re.compile(r"false\s+alarm|إنذار\w*\s+كاذب\w*|هشدار\s+کاذب|آژیر\s+کاذب", re.IGNORECASE)

# A question about the claim ("Will Iran attend?", «هل ...», «آیا ...»): yes/no openers, which can be
# dropped to leave the statement asked about, and the other question words, which ask about something else.
_YES_NO_WORDS = {"en": "will|would|did|does|do|is|are|was|were|has|have|can|could|should", "ar": "هل", "fa": "آیا"}
_OTHER_QUESTION_WORDS = {"en": "who|why|what", "ar": "أ?ل[مل]|ماذا|لماذا|متى", "fa": "چرا|چه|چگونه"}
_QUESTION_START = {lang: re.compile(rf"^\W*(?:{yes_no}|{_OTHER_QUESTION_WORDS[lang]})(?!\w)", re.IGNORECASE)
                   for lang, yes_no in _YES_NO_WORDS.items()}
_YES_NO_OPENER = {lang: re.compile(rf"^\W*(?:{yes_no})\s+", re.IGNORECASE) for lang, yes_no in _YES_NO_WORDS.items()}
_QUESTION_MARK = re.compile(r"[?؟]\s*\W*$")


def plain(text: str) -> str:
    """Text as the cue lists read it: Arabic short vowels and tatweel dropped (نفى written نَفَى)."""
    return _ARABIC_MARKS.sub("", text)


def negations(text: str, lang: str) -> int:
    """How many negation cues a clause carries (idioms that negate nothing left out, and the "not" of a
    contrast, which negates only its own words: "needs the deterrent, not another piece of paper")."""
    text = plain(text)
    if (contrasted := contrast(text, lang)) is not None:
        text = contrasted[0]
    text = _NEGATION_IDIOMS.sub(" ", text)
    rx = _NEGATION.get(lang)
    if rx is None:
        return len(_EN_NEGATION.findall(text))
    found = len(rx.findall(text))
    if lang != "en":        # Latin words inside Arabic or Persian posts ("NOT", quoted English)
        found += len(_EN_NEGATION.findall(text))
    return found


# What a negation cue becomes when it is taken out: English words by their positive counterpart (or
# nothing); a Persian verb loses its negative prefix; an Arabic particle goes, keeping a joined و/ف; an
# Arabic refusal verb leaves the أن or ال it introduced.
_EN_POSITIVE = {"won't": "will", "can't": "can", "shan't": "shall", "cannot": "can", "no": "a", "none": "some",
                "without": "with"}
_EN_CONTRACTED = re.compile(r"\b(?:won't|can't|shan't)\b", re.IGNORECASE)
_AR_PARTICLES = {"لم", "لن", "لا", "ليس", "ليست", "ليسوا", "لسنا", "عدم", "بدون"}
_AR_REFUSAL_OBJECT = re.compile(r"(?:أن|ال)$")


def _positive(cue: str, lang: str) -> str:
    low = cue.lower()
    if low in _EN_POSITIVE:
        return _EN_POSITIVE[low]
    if lang == "fa" and cue.startswith("ن"):
        return cue[1:]
    if lang == "ar" and (refused := _AR_REFUSAL_OBJECT.search(cue)):
        return refused.group(0)
    if lang == "ar" and cue[:1] in "وف" and cue[1:] in _AR_PARTICLES:
        return cue[0]
    return ""           # not, never, n't, declined to, لم, عدم, بدون ...


def _take_out(rx: re.Pattern, text: str, lang: str) -> str:
    # what `negations` does not count stays: idioms, and the "not" of a contrast
    kept = [m.span() for m in _NEGATION_IDIOMS.finditer(text)]
    kept += [m.span() for m in _CONTRAST.get(lang, _CONTRAST["en"]).finditer(text)]
    return rx.sub(lambda m: m.group(0) if any(a <= m.start() < b for a, b in kept)
                  else _positive(m.group(0), lang), text)


def without_negations(text: str, lang: str) -> str:
    """The clause with its negation cues taken out ("no meeting was cancelled" -> "a meeting was
    cancelled", لم يحضر -> يحضر, نمی‌شود -> می‌شود): claims read both to tell a negation of the claim
    from a claim worded with one ("did not attend")."""
    text = _EN_CONTRACTED.sub(lambda m: _EN_POSITIVE[m.group(0).lower()], plain(text))
    text = _take_out(_NEGATION.get(lang, _EN_NEGATION), text, lang)
    if lang != "en":        # Latin words inside Arabic or Persian posts, as `negations` counts them
        text = _take_out(_EN_NEGATION, text, "en")
    return re.sub(r"\s+", " ", text).strip()


def is_denial(text: str, lang: str) -> bool:
    text = plain(text)
    rx = _DENIAL.get(lang, _DENIAL["en"])
    return bool(rx.search(text)) or (lang != "en" and bool(_DENIAL["en"].search(text)))


def is_fact_check(post: str) -> bool:
    post = _FALSE_ALARM.sub(" ", plain(post))
    return bool(_FACT_CHECK_LABEL.search(post) or _FACT_CHECK.search(post))


def is_question(sentence: str, lang: str) -> bool:
    if _QUESTION_MARK.search(sentence):
        return True
    rx = _QUESTION_START.get(lang)
    return bool(rx and rx.search(sentence) and sentence.rstrip().endswith(("?", "؟")))


def as_statement(sentence: str, lang: str, fact_check: bool) -> str | None:
    """The statement a yes/no question asks about or a fact-check checks, for matching against claims
    that examples only ever assert ("هل تحضر إيران الجولة؟" -> "تحضر إيران الجولة"; "FALSE: claims that
    the IRGC attacked a tanker" -> "claims that the IRGC attacked a tanker"). The stance is still read
    from the sentence itself. None for any other sentence, and when only a question mark would go."""
    restated = sentence
    opener = _YES_NO_OPENER.get(lang)
    if opener and opener.search(sentence) and is_question(sentence, lang):
        restated = _QUESTION_MARK.sub("", opener.sub("", restated))
    if fact_check:
        restated = _FACT_CHECK.sub(" ", _FACT_CHECK_LABEL.sub(" ", restated))
    if restated == sentence:
        return None
    restated = " ".join(restated.split()).strip(" :|-–—")
    return restated if len(restated) >= 12 else None


# A contrast says one thing and negates another: "a review, not a suspension", "إلغاء وليس تأجيلاً",
# "بازنگری است، نه تعلیق". What follows the cue, up to the next punctuation, is negated; what comes
# before it is said. Not "، لا ..." (after a comma لا negates a verb as often as it contrasts a noun),
# not "did not withdraw but asked" (left to the negation rules: "did not attend, but" can be the
# claim's own wording), nor "stayed home rather than go to Vienna" (which says it by both).

# "..., not least", "..., not yet", "..., not all of them": a negation after a comma that contrasts nothing
NOT_A_CONTRAST = (r"(?:least|only|just|merely|yet|to\s+mention|that|so|even|now|always|necessarily|surprisingly|"
                  r"exactly|quite|all|every|one|a\s+single|much|many|for\s+the\s+first|if|unless|when|until|"
                  r"since|because)\b")
_CONTRAST = {
    "en": re.compile(r",\s*(?:and\s+|but\s+)?not\s+(?!" + NOT_A_CONTRAST + ")", re.IGNORECASE),
    # after a word ("تأجيل وليس إلغاء"), not "وليس لديها نية" / "وليس سرا أن" (plain negations)
    "ar": re.compile(r"(?<=\w)\s+وليس(?:ت)?\s+(?!(?:فقط|من|لدى|لدي\w*|ل(?:ه|ها|هم|هما|نا|ي|ك|كم)|أمام|ثمة|هناك|ذلك|هذا|هذه|"
                     r"سرا|غريبا|بعيدا|مستبعدا|صحيحا)(?!\w))"),
    "fa": re.compile(r"[،,]\s*نه\s+(?!تنها|فقط|[^،,.؛]*?\sو\s+نه(?!\w))"),
}
QUOTE_MARKS = "\"'“”‘’«»"
_CONTRAST_END = re.compile(r"[,.;:!?،؛؟]|\s+(?:but|and|as|while|whereas|that|بل|بلکه|و\s+نه|أن|إن|بينما|که)\s+|$")


def contrast(sentence: str, lang: str) -> tuple[str, list[str]] | None:
    """What a sentence with a contrast says and what it negates: ("Tehran is weighing its answer to the
    sanctions.", ["the future of the talks"]) for "... the sanctions, not the future of the talks.";
    None without a contrast."""
    rx = _CONTRAST.get(lang, _CONTRAST["en"])
    text = plain(sentence)
    said, negated, last = [], [], 0
    for m in rx.finditer(text):
        if m.start() < last:
            continue
        end = _CONTRAST_END.search(text, m.end() + 1)
        said.append(text[last:m.start()])
        last = end.start() if end else len(text)
        negated.append(text[m.end():last].strip(" " + QUOTE_MARKS))
    if not said:
        return None
    said.append(text[last:])
    rest = re.sub(r"\s+([,.;:!?،؛؟])", r"\1", re.sub(r"\s+", " ", "".join(said))).strip()
    return rest, [n for n in negated if n]


# A clause that opens with its own reporting verb starts a new statement: "..., confirming that the
# delegation did not attend" is not under the denial before it.
_NEW_STATEMENT = re.compile(
    r"^\W*(?:and\s+)?(?:saying|adding|telling|stressing|insisting|noting|confirming|said|added|told|"
    r"[وف]?(?:مؤكد|مضيف|مشير|قائل|موضح|لافت)\w*|[وف]?(?:أكد|أضاف|قال|أشار|أوضح)\w*|"
    r"(?:و\s+)?(?:گفت|افزود|تاکید\s+کرد|تأکید\s+کرد|اظهار\s+داشت))(?!\w)", re.IGNORECASE)


def opens_statement(clause: str) -> bool:
    return bool(_NEW_STATEMENT.search(plain(clause)))


def _gives_the_facts(line: str) -> bool:
    """A fact-check's line that states the facts ("✅ Fact: ..."), not one that is itself a verdict
    ("✅ Fact check: ... is false")."""
    return bool(_FACTS_LINE.search(line)) and not _FACT_CHECK_LABEL.search(line) and not _FACT_CHECK.search(line)


def stance_of(sentence: str, carried: str, lang: str, negated: bool, fact_check: bool,
              denial_scope: str | None = None) -> Stance:
    """The stance of a claim carried by `carried` (clauses of `sentence`); `negated`: the carrying
    clauses negate it (see claims); `fact_check`: the post frames what it reports as false;
    `denial_scope`: the text a denial verb must be in to deny the claim (default: the sentence). In a
    fact-check, the line giving the facts ("✅ Fact: ...") is read as a statement of its own."""
    if fact_check and not _gives_the_facts(sentence):
        return "reported_false"
    if is_question(sentence, lang):
        return "asked"
    if is_denial(sentence if denial_scope is None else denial_scope, lang):
        return "denied"
    if _NON_CONFIRMATION.search(plain(sentence)):
        return "negated"
    return "negated" if negated else "asserted"
