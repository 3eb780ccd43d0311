"""A report model to an HTML email body (inline CSS, no scripts) and a plain-text body saying the same.

Made to be read on a phone: a top section that stands alone ("In short", three to six lines that fit
the first screen), then the detail, each item linking to its posts. Links read "outlet, time · host",
never a raw URL. Scraped text is untrusted: every string from the database goes through `esc`, links
get an href only when they are http(s). Direction is marked per piece of text: a right-to-left
headline, post or quote gets dir="rtl" and its lang, a right-to-left run inside left-to-right text its
own <span dir="rtl">, and names that could be either (outlets, speakers) dir="auto"; in the plain-text
part right-to-left runs are wrapped in Unicode isolates.
"""
from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from urllib.parse import unquote, urlsplit

from signal_desk.report.build import (REGISTER_NAMES, ContradictionSide, KeyStatement, Move, Post, Report, Statement,
                                Story, TopLine, short_claim)

RTL_LANGS = {"ar", "fa", "he", "ur", "ps", "ckb", "yi", "dv", "sd", "ug"}
LANG_NAMES = {"ar": "Arabic", "fa": "Persian", "en": "English", "he": "Hebrew", "ur": "Urdu", "ru": "Russian",
              "fr": "French", "de": "German", "es": "Spanish", "tr": "Turkish", "zh": "Chinese", "ps": "Pashto"}
MAX_TEXT = 220              # characters of a post shown under a statement
MAX_ALSO = 8                # posts listed as links under a statement or a contradiction side
MAX_SOURCES = 80            # posts listed under Sources in the HTML (the plain-text part lists them all)
CHART_WIDTH = 480           # CSS pixels the chart is shown at, at most (100% of the column on a phone)
REGISTER_COLOURS = {
    "state-aligned": "#c92a2a", "western-wire": "#1864ab", "western-media": "#1c7ed6", "osint": "#e67700",
    "official": "#5f3dc4", "partisan": "#a61e4d", "regional-media": "#2b8a3e", "independent": "#495057",
}

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,'Noto Sans','Noto Naskh Arabic',sans-serif"
S_BODY = f"margin:0;padding:0;background:#f1f3f5;{FONT};color:#212529"
S_CARD = "max-width:640px;width:100%;background:#ffffff;border-collapse:collapse"
S_CELL = "padding:12px 12px;font-size:15px;line-height:1.45;word-wrap:break-word;overflow-wrap:anywhere"
S_H1 = "margin:0 0 2px;font-size:20px;line-height:1.25;font-weight:700"
S_H2 = ("margin:22px 0 8px;font-size:17px;line-height:1.3;font-weight:700;border-bottom:2px solid #dee2e6;"
        "padding-bottom:3px")
S_H3 = "margin:4px 0 4px;font-size:16px;line-height:1.35;font-weight:700;color:#212529"
S_MUTED = "color:#6c757d;font-size:13px"
S_LINK = "color:#1864ab;text-decoration:underline"
S_HOST = "color:#868e96;font-size:12px;text-decoration:none"
S_ROW = "margin:0 0 12px;padding:2px 0 2px 9px;border-left:3px solid {colour}"
S_BADGE = ("display:inline-block;padding:0 5px;border-radius:3px;font-size:11px;line-height:17px;"
           "font-weight:600;color:#ffffff;background:{bg}")
S_BOX = "margin:0 0 12px;padding:8px 10px;background:#fff5f5;border:1px solid #ffc9c9;border-radius:4px"
S_TOP = "margin:0 0 4px;padding:0 0 0 18px"
S_LIST = "margin:0 0 8px;padding:0 0 0 18px"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt_time(t: datetime | None) -> str:
    return "-" if t is None else f"{t:%d %b %H:%M} UTC"


def fmt_window(r: Report) -> str:
    return f"{r.window_start:%d %b %Y %H:%M} – {r.window_end:%d %b %Y %H:%M} UTC"


def fmt_prob(p: float | None) -> str:
    if p is None:
        return "-"
    pct = round(p * 100, 1)
    return f"{pct:.0f}%" if pct == int(pct) else f"{pct:.1f}%"


def fmt_move(d: float | None) -> str:
    if d is None:
        return "-"
    pts = round(d * 100, 1)
    num = f"{abs(pts):.0f}" if pts == int(pts) else f"{abs(pts):.1f}"
    return f"{'+' if pts > 0 else '−' if pts < 0 else '±'}{num} pts"


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def without_urls(text: str) -> str:
    """A post's words without the links it carries (the report links the post itself)."""
    return " ".join(_URL.sub(" ", text).split()) or text.strip()


_URL = re.compile(r"https?://\S+")


def direction(text: str, lang: str | None = None) -> str:
    """rtl when the first strong character is right to left (or, with none, the language is)."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return "rtl"
        if bidi == "L":
            return "ltr"
    return "rtl" if lang and lang.split("-")[0].lower() in RTL_LANGS else "ltr"


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


_PERSIAN_LETTERS = frozenset("پچژگکی")


def rtl_lang(text: str, lang: str | None) -> str:
    """The language to mark on right-to-left text: the item's own when it is a right-to-left one,
    else a guess from the script (an English outlet quoting Arabic, a source of unknown language)."""
    if lang and lang.split("-")[0].lower() in RTL_LANGS:
        return lang
    if any("\u0590" <= ch <= "\u05ff" for ch in text):
        return "he"
    if any(ch in _PERSIAN_LETTERS for ch in text):
        return "fa"
    return "ar"


def _rtl_runs(text: str) -> list[tuple[bool, str]]:
    """Split left-to-right text into (is_rtl, piece): each right-to-left run from its first to its last
    right-to-left letter (numbers and spaces between them included), so it can be isolated."""
    out: list[tuple[bool, str]] = []
    i, n = 0, len(text)
    while i < n:
        if unicodedata.bidirectional(text[i]) in ("R", "AL"):
            j = last = i
            while j < n and unicodedata.bidirectional(text[j]) != "L":
                if unicodedata.bidirectional(text[j]) in ("R", "AL"):
                    last = j
                j += 1
            j = last + 1
            while j < n and unicodedata.category(text[j]).startswith("M"):   # combining marks stay attached
                j += 1
            out.append((True, text[i:j]))
            i = j
        else:
            j = i
            while j < n and unicodedata.bidirectional(text[j]) not in ("R", "AL"):
                j += 1
            out.append((False, text[i:j]))
            i = j
    return out


def bidi_inline(text: str, lang: str | None = None) -> str:
    """Escaped text for inside an element of left-to-right (or automatic) direction: its right-to-left
    runs isolated in <span dir="rtl" lang>."""
    if not has_rtl(text):
        return esc(text)
    rl = rtl_lang(text, lang)
    return "".join(f'<span dir="rtl" lang="{esc(rl)}">{esc(piece)}</span>' if rtl else esc(piece)
                   for rtl, piece in _rtl_runs(text))


def bidi_block(text: str, lang: str | None = None, *, tag: str = "div", style: str = "", attrs: str = "") -> str:
    """A block of text marked with its own direction: dir="rtl" and lang when it reads right to left
    (its runs of left-to-right words then order themselves), dir="ltr" with its right-to-left runs
    isolated otherwise."""
    style_attr = f' style="{style}"' if style else ""
    if direction(text, lang) == "rtl":
        return (f'<{tag} dir="rtl" lang="{esc(rtl_lang(text, lang))}"{attrs} style="text-align:right;{style}">'
                f"{esc(text)}</{tag}>")
    return f'<{tag} dir="ltr"{attrs}{style_attr}>{bidi_inline(text, lang)}</{tag}>'


def bidi_span(text: str, lang: str | None = None, style: str = "") -> str:
    """An inline piece (a headline, an excerpt in a sentence) isolated with its own direction."""
    style_attr = f' style="{style}"' if style else ""
    if direction(text, lang) == "rtl":
        return f'<span dir="rtl" lang="{esc(rtl_lang(text, lang))}"{style_attr}>{esc(text)}</span>'
    return f'<span dir="auto"{style_attr}>{bidi_inline(text, lang)}</span>'


def quoted(text: str, lang: str | None = None, style: str = "") -> str:
    """Quoted words inside their own isolate, with the quotation marks of their direction: «» (which
    mirror correctly) for right-to-left words, “” otherwise."""
    if direction(text, lang) == "rtl":
        return bidi_span(f"«{text}»", lang, style)
    return bidi_span(f"“{text}”", lang, style)


def name(text: str | None) -> str:
    """An outlet's or a speaker's name: automatic direction (a name can be in any script)."""
    return f'<span dir="auto">{bidi_inline(text or "")}</span>'


def url_display(url: str) -> str:
    """host + path, shortened: what a plain-text reader sees of a link."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.") + (f":{parts.port}" if parts.port else "")
    rest = unquote(parts.path.rstrip("/"))
    if parts.query:
        rest += "?" + unquote(parts.query)
    shown = host + rest
    return shown if len(shown) <= 60 else shown[:57] + "…"


def url_host(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").removeprefix("www.") + (f":{parts.port}" if parts.port else "")


def safe_href(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def link(url: str | None, label: str | None = None) -> str:
    """A link that says where it goes: its label (escaped, direction marked) and its host."""
    href = safe_href(url)
    if href is None:
        return esc(label or "")
    host = url_host(href)
    text = (f'{bidi_inline(label)} <span style="{S_HOST}">· {esc(host)}</span>' if label
            else f'<span dir="ltr">{esc(host)}</span>')
    return f'<a href="{esc(href)}" dir="auto" style="{S_LINK}">{text}</a>'


def post_link(p: Post, *, short: bool = False) -> str:
    """A post as its outlet and time, linked (short: without "UTC", for the top section)."""
    label = f"{p.outlet} {p.published_at:%d %b %H:%M}" if short else f"{p.outlet} {fmt_time(p.published_at)}"
    return link(p.url, label) if safe_href(p.url) else esc(label)


def badge(text: str, bg: str) -> str:
    return f'<span style="{S_BADGE.format(bg=bg)}">{esc(text)}</span>'


def lang_badge(lang: str | None) -> str:
    return badge(lang.upper(), "#868e96") if lang else ""


def register_name(register: str | None) -> str:
    return REGISTER_NAMES.get(register or "", (register or "").replace("-", " "))


def register_badge(register: str | None) -> str:
    if not register:
        return ""
    return badge(register_name(register), REGISTER_COLOURS.get(register, "#495057"))


def lang_names(codes: tuple[str, ...]) -> str:
    return ", ".join(LANG_NAMES.get(c, c.upper()) for c in codes) or "-"


# ---- plain text ---------------------------------------------------------------------------------

RLI, PDI = "\u2067", "\u2069"   # isolate right-to-left runs so plain-text viewers order them correctly


def text_plain(text: str, lang: str | None = None) -> str:
    if direction(text, lang) == "rtl":
        return f"{RLI}{text}{PDI}"
    if not has_rtl(text):
        return text
    return "".join(f"{RLI}{piece}{PDI}" if rtl else piece for rtl, piece in _rtl_runs(text))


def quoted_plain(text: str, lang: str | None = None) -> str:
    return text_plain(f"«{text}»" if direction(text, lang) == "rtl" else f"“{text}”", lang)


# ---- words shared by both parts --------------------------------------------------------------------

def who(s: Statement) -> str | None:
    """"an Iranian official", "Abbas Araqchi", with the attribution when it says more."""
    if s.attributed_to and s.speaker and s.speaker.lower() not in s.attributed_to.lower():
        return f"{s.speaker} ({s.attributed_to})"
    return s.attributed_to or s.speaker


def said(s: Statement) -> str:
    """The speech act as a verb ("accused"), "said" when none was found."""
    return (s.speech_act or "said").replace("_", " ").replace("-", " ")


def move_words(r: Report, m: Move) -> str:
    return f"{r.market_name(m.venue, m.question)} {fmt_prob(m.before)} → {fmt_prob(m.after)} ({fmt_move(m.delta)})"


def move_span(moves) -> str:
    """When moves happened: "01 Jul 08:45–10:00"."""
    start, end = min(m.start for m in moves), max(m.end for m in moves)
    return f"{start:%d %b %H:%M}–{end:%H:%M}" if start.date() == end.date() else \
        f"{start:%d %b %H:%M} – {end:%d %b %H:%M}"


def top_words(r: Report, s: Statement) -> str:
    """What a statement said, in a few words: its first claim's short description, or its text."""
    if s.claims:
        return short_claim(r.claim_label(s.claims[0]))
    return shorten(without_urls(s.post.text), 80)


def story_ref(n: int) -> str:
    return f"story {n}" if n else "a story not shown in full"


# ---- HTML ---------------------------------------------------------------------------------------

def render_html(r: Report, charts: dict[str, str] | None = None) -> str:
    """The HTML part. `charts` maps story_id to the Content-ID of its chart image."""
    charts = charts or {}
    parts = [_header(r), _top_html(r), _signals_html(r), _cards_html(r), _markets_html(r)]
    if r.stories:
        parts.append(f'<h2 style="{S_H2}">Stories</h2>')
    charted = [st.story_id for st in r.stories if st.chart and charts.get(st.story_id)]
    parts += [_story_html(r, st, charts.get(st.story_id), charted.index(st.story_id) + 1
                          if st.story_id in charted else 0) for st in r.stories]
    if r.other_stories:
        items = "".join(f'<li style="margin:0 0 4px">{bidi_span(shorten(st.headline, 140))} '
                        f'<span style="{S_MUTED}">{st.items} posts, first '
                        f'{post_link(st.first_report) if st.first_report else esc(fmt_time(st.first_seen_at))}'
                        f'</span></li>' for st in r.other_stories)
        parts.append(f'<h3 style="{S_H3}">Other stories in the window</h3><ul style="{S_LIST}">{items}</ul>')
    parts.append(_provenance_html(r))
    parts.append(f'<p style="{S_MUTED};margin-top:16px">Built {esc(fmt_time(r.built_at))}. Times are UTC. Scraped '
                 f'text is shown as published; state-aligned statements are claims of position, not '
                 f'confirmation of disputed facts.</p>')
    body = "\n".join(p for p in parts if p)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(r.subject)}</title></head>\n"
        f'<body style="{S_BODY}">\n'
        f"<!-- report {esc(r.report_id)} -->\n"
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;'
        f'border-collapse:collapse;background:#f1f3f5"><tr><td align="center" style="padding:0">\n'
        f'<table role="presentation" cellpadding="0" cellspacing="0" style="{S_CARD}"><tr>'
        f'<td style="{S_CELL}">\n{body}\n</td></tr></table>\n'
        "</td></tr></table>\n</body></html>\n")


def _header(r: Report) -> str:
    since = ("first report of this watch list: all of the window is new" if r.changes.first_report
             else f"changes since the last report ({fmt_time(r.since)})")
    return (f'<div style="{S_MUTED}">Watch-list report · {esc(fmt_window(r))}</div>'
            f'<h1 style="{S_H1}">{bidi_span(r.title)}</h1>'
            f'<div style="{S_MUTED}">{esc(since)}</div>')


def _top_html(r: Report) -> str:
    items = "".join(f'<li style="margin:0 0 7px">{_top_line_html(r, line)}</li>' for line in r.top)
    return (f'<div id="top"><h2 style="{S_H2};margin-top:12px">In short</h2>'
            f'<ul style="{S_TOP}">{items}</ul></div>')


def _top_line_html(r: Report, line: TopLine) -> str:
    if line.kind == "moves" and line.moves:
        t = line.moves
        odds = ", ".join(f"{esc(r.market_name(m.venue, m.question))} {esc(fmt_prob(m.before))} → "
                         f"{esc(fmt_prob(m.after))}" for m in t.moves)
        s = t.statement
        if s is None:
            return (f"<b>{odds}</b> ({esc(move_span(t.moves))}), with no statement of the watch list in the "
                    f"hours before.")
        what = top_words(r, s)
        speaker = f"<i>{name(s.speaker)}</i> " if s.speaker else ""
        anchor = f' <a href="#story-{t.story_number}" style="{S_LINK}">story {t.story_number}</a>' \
            if t.story_number else ""
        return f"<b>{odds}</b> after {speaker}({post_link(s.post, short=True)}): {bidi_span(what)}.{anchor}"
    if line.kind == "contradiction" and line.card:
        c = line.card
        return (f'<b>Contradiction</b> (<a href="#contradiction-{r.cards.index(c) + 1}" style="{S_LINK}">'
                f'{esc(story_ref(c.story_number or 0))}</a>): {_side_short_html(r, c.a)} '
                f"<i>against</i> {_side_short_html(r, c.b)}.")
    if line.kind == "signals":
        titles = "; ".join(bidi_span(short_claim(s.title, 50)) for s in line.signals)
        n = len(line.signals)
        return (f'<b>{n} signal{"s" * (n != 1)} now seen</b> (<a href="#signals" style="{S_LINK}">evidence</a>): '
                f"{titles}.")
    if line.kind == "stories":
        n = len(line.stories)
        top = line.stories[0]
        ref = f'<a href="#story-{top.number}" style="{S_LINK}">story {top.number}</a>' if top.number else ""
        return (f"<b>{n} new stor{'ies' if n != 1 else 'y'}</b>; the most active: "
                f"{bidi_span(shorten(top.headline, 80))} ({top.items} posts{', ' + ref if ref else ''}).")
    return f"Nothing new since {esc(fmt_time(r.changes.since))}."


def _side_short_html(r: Report, side: ContradictionSide) -> str:
    speaker = f"{name(side.speaker)}, " if side.speaker else ""
    n = len(side.posts)
    return (f"{bidi_span(short_claim(r.claim_label(side.claim)))} ({speaker}{post_link(side.first, short=True)}"
            f"{f', {n} posts' if n > 1 else ''})")


def _cards_html(r: Report) -> str:
    if not r.cards:
        return ""
    out = [f'<h2 style="{S_H2}">Contradictions</h2>']
    for i, c in enumerate(r.cards):
        new = " · " + badge("NEW", "#e67700") if c.is_new else ""
        out.append(
            f'<div id="contradiction-{i + 1}" style="{S_BOX}">'
            f'<div style="{S_MUTED}"><a href="#story-{c.story_number}" style="{S_LINK}">'
            f'{esc(story_ref(c.story_number or 0).capitalize())}</a>{new}</div>'
            f"{_side_html(r, c.a)}"
            f'<div style="margin:6px 0;font-size:12px;font-weight:700;color:#c92a2a">CONTRADICTED BY</div>'
            f"{_side_html(r, c.b)}</div>")
    return "".join(out)


def _side_html(r: Report, side: ContradictionSide) -> str:
    n = len(side.posts)
    first = (f'<div style="font-size:14px">first: {name(side.speaker) + ", " if side.speaker else ""}'
             f"{post_link(side.first)}</div>")
    also = _also_html(side.posts[1:], f"{n} posts in all; also")
    return f'{bidi_block(r.claim_label(side.claim), style="font-weight:600")}{first}{also}'


def _also_html(posts, lead: str) -> str:
    if not posts:
        return ""
    shown = " · ".join(post_link(p) for p in posts[:MAX_ALSO])
    more = f" and {len(posts) - MAX_ALSO} more (Sources)" if len(posts) > MAX_ALSO else ""
    return f'<div style="{S_MUTED}">{esc(lead)}: {shown}{esc(more)}</div>'


def _markets_html(r: Report) -> str:
    if not r.markets:
        return ""
    items = []
    for m in r.markets:
        flag = " " + badge("MOVED", "#e67700") if abs(m.move) >= r.odds_move_threshold - 1e-9 else ""
        items.append(f'<li style="margin:0 0 5px"><b>{esc(r.market_name(m.venue, m.question))}</b>: '
                     f"{bidi_span(m.question)} ({esc(m.outcome)}) {esc(fmt_prob(m.then))} → "
                     f"<b>{esc(fmt_prob(m.now))}</b> ({esc(fmt_move(m.move))}){flag}"
                     + (f" {link(m.url)}" if safe_href(m.url) else "") + "</li>")
    since = "in the window" if r.changes.first_report else "since the last report"
    charts = " Each story's chart ties its statements to the moves after them." \
        if any(st.chart for st in r.stories) else ""
    return (f'<h2 style="{S_H2}" id="odds">Odds</h2><p style="{S_MUTED};margin:0 0 4px">Each market {since}.'
            f"{esc(charts)}</p>"
            f'<ul style="{S_LIST};font-size:14px">{"".join(items)}</ul>')


def _signals_html(r: Report) -> str:
    if not r.signals:
        return ""
    out = [f'<h2 style="{S_H2}" id="signals">Signals to watch</h2>']
    for s in r.signals:
        if s.seen_in_window:
            status = badge("SEEN", "#2b8a3e")
            when = (f"seen {s.evidence_count} time{'s' * (s.evidence_count != 1)} in the window, latest "
                    f"{fmt_time(s.last_seen_at)}")
        elif s.status == "seen":
            status = badge("SEEN BEFORE", "#868e96")
            when = "nothing in this window"
        else:
            status = badge("NOT SEEN", "#adb5bd")
            when = ""
        new = " " + badge("NEW", "#e67700") if s.newly_seen else ""
        whys = {e.why for e in s.evidence}
        same = len(whys) == 1 and len(s.evidence) > 1
        ev = "".join(f'<li>{post_link(_evidence_post(e))}' + ("" if same else f": {bidi_span(e.why)}") + "</li>"
                     for e in s.evidence)
        if same:
            ev = f'<li style="list-style:none;margin-left:-18px">{bidi_span(whys.pop())}:</li>' + ev
        if s.evidence_count > len(s.evidence):
            ev = (f'<li style="{S_MUTED}">{s.evidence_count - len(s.evidence)} earlier in the window '
                  f"(Sources)</li>") + ev
        if s.earlier_count:
            ev += (f'<li style="{S_MUTED}">earlier context: {s.earlier_count} post{"s" * (s.earlier_count != 1)} '
                   f"before this window ({esc(fmt_time(s.earlier_first_at))} to {esc(fmt_time(s.earlier_last_at))})"
                   f"</li>")
        out.append(f'<div style="margin:0 0 10px">{status}{new} {bidi_span(s.title, style="font-weight:600")}'
                   + (f' <span style="{S_MUTED}">{esc(when)}</span>' if when else "")
                   + (f'<ul style="{S_LIST};font-size:13px">{ev}</ul>' if ev else "") + "</div>")
    return "".join(out)


def _evidence_post(e) -> Post:
    return Post(source_id=e.source_id or "", item_id=e.item_id or "", url=e.url or "", outlet=e.outlet,
                published_at=e.published_at)


def _story_html(r: Report, st: Story, chart_cid: str | None, chart_number: int) -> str:
    tags = [f"STORY {st.number}"]
    if st.is_new:
        tags.append("NEW")
    if st.began_before_window:
        tags.append("began before this window")
    out = [f'<div id="story-{st.number}" style="margin:18px 0 0">',
           f'<div style="{S_MUTED};font-weight:600">{esc(" · ".join(tags))}</div>',
           bidi_block(st.headline, tag="h3", style=S_H3),
           f'<div style="{S_MUTED}">first report {post_link(st.first_report) if st.first_report else "-"} · '
           f"{st.items} posts from {st.sources} sources in {esc(lang_names(st.languages))}</div>"]
    out.append(_registers_html(st))
    if st.chart and chart_cid:
        out.append(_chart_html(r, st, chart_cid, chart_number))
    if st.cards:
        refs = ", ".join(f'<a href="#contradiction-{r.cards.index(c) + 1}" style="{S_LINK}">'
                         f"{esc(short_claim(r.claim_label(c.a.claim)))} against "
                         f"{esc(short_claim(r.claim_label(c.b.claim)))}</a>" for c in st.cards if c in r.cards)
        out.append(f'<div style="font-size:14px;margin:6px 0">Contradiction: {refs}</div>')
    out.append(f'<div style="{S_MUTED};margin:8px 0 4px">Key statements, oldest first; relays and repeats '
               f"under the statement they repeat</div>")
    out += [_key_html(r, k) for k in st.key_statements]
    if st.key_omitted:
        out.append(_also_html([k.statement.post for k in st.key_omitted], f"{len(st.key_omitted)} more statements"))
    out.append("</div>")
    return "".join(out)


def _registers_html(st: Story) -> str:
    if not st.register_coverage:
        return ""
    first = min(st.register_coverage, key=lambda c: c.first_seen_at)
    loudest = max(st.register_coverage, key=lambda c: c.share)
    each = " · ".join(f"{esc(register_name(c.register))} {c.items}" for c in st.register_coverage)
    return (f'<div style="{S_MUTED}">registers: {esc(register_name(first.register))} first '
            f'({esc(f"{first.first_seen_at:%d %b %H:%M}")}), {esc(register_name(loudest.register))} loudest '
            f"({loudest.share * 100:.0f}%): {each}</div>")


def _chart_html(r: Report, st: Story, cid: str, number: int) -> str:
    plan = st.chart
    rows = []
    for s in plan.labelled:
        moves = [m for m in plan.moves if m.statement == s]
        rows.append(f'<li style="margin:0 0 4px"><b>{esc(s.short_name)}</b> ({post_link(s.post)}): '
                    + ", ".join(f"{esc(r.market_name(m.venue, m.question))} {esc(fmt_prob(m.before))} → "
                                f"{esc(fmt_prob(m.after))} by {esc(f'{m.end:%H:%M}')}" for m in moves) + "</li>")
    outside = (f'<div style="{S_MUTED}">{plan.outside} statement{"s" * (plan.outside != 1)} of the story fall '
               f"outside the chart's hours.</div>") if plan.outside else ""
    return (f'<div id="chart-{number}"><img src="cid:{esc(cid)}" width="{CHART_WIDTH}" alt="Odds of the markets from '
            f'{esc(f"{plan.start:%d %b %H:%M}")} to {esc(f"{plan.end:%d %b %H:%M}")} UTC, with the statements '
            f'before the largest moves named" style="display:block;width:100%;max-width:{CHART_WIDTH}px;'
            f'height:auto;border:0;margin:8px 0 4px">'
            f'<div style="{S_MUTED};margin:0 0 2px">Named on the chart: the statements right before the largest '
            f"moves, and the moves after them</div>"
            f'<ul style="{S_LIST};font-size:14px">{"".join(rows)}</ul>{outside}</div>')


def _key_html(r: Report, k: KeyStatement) -> str:
    s, p = k.statement, k.statement.post
    colour = REGISTER_COLOURS.get(p.register or "", "#adb5bd")
    tags = []
    if s.is_first_report:
        tags.append(badge("FIRST REPORT", "#c92a2a"))
    if not s.in_window:
        tags.append(badge("EARLIER CONTEXT", "#868e96"))
    elif s.is_new and not r.changes.first_report:
        tags.append(badge("NEW", "#e67700"))
    speaker = f"<b>{name(who(s))}</b> {esc(said(s))} · " if who(s) else ""
    text = shorten(without_urls(p.text), MAX_TEXT)
    quotes = "".join(f'<div style="font-size:14px;margin:2px 0">{lang_badge(p.lang)} '
                     f'{quoted(q, p.lang, "font-style:italic")}</div>'
                     for q in s.quotes if " ".join(q.split()) not in text)
    claims = ""
    if s.claims:
        firsts = {f.claim: f for f in s.claim_firsts}
        words = []
        for c in s.claims:
            f = firsts.get(c)
            note = ""
            if f is not None and f.is_this_post:
                note = ' <b style="color:#a61e4d;font-size:12px">first report of this claim</b>'
            elif f is not None:
                where = "this story" if f.same_story else "another story"
                note = f' <span style="{S_MUTED}">(first reported by {post_link(f.post)}, {where})</span>'
            words.append(f"{bidi_span(r.claim_label(c))}{note}")
        claims = f'<div style="font-size:13px;color:#495057">claims: {"; ".join(words)}</div>'
    return (f'<div style="{S_ROW.format(colour=colour)}">'
            f'<div style="font-size:13px">{speaker}{post_link(p)} {register_badge(p.register)} '
            f'{lang_badge(p.lang)} {" ".join(tags)}</div>'
            f'{bidi_block(text, p.lang, style="font-size:15px;margin:2px 0")}'
            f"{quotes}{claims}{_also_html([a.post for a in k.also], 'repeated by')}</div>")


def _provenance_html(r: Report) -> str:
    posts = r.posts()
    if not posts:
        return ""
    items = " · ".join(post_link(p) for p in posts[:MAX_SOURCES])
    more = (f" · and {len(posts) - MAX_SOURCES} more, listed in the plain-text part"
            if len(posts) > MAX_SOURCES else "")
    return (f'<h2 style="{S_H2}" id="sources">Sources</h2><p style="{S_MUTED};margin:0 0 4px">Every post this '
            f'report rests on, oldest first.</p><div style="font-size:13px;line-height:1.6">{items}{esc(more)}</div>')


# ---- plain text ---------------------------------------------------------------------------------

def render_text(r: Report) -> str:
    posts = r.posts()
    ref = {p.url: i + 1 for i, p in enumerate(posts)}

    def cite(url: str | None) -> str:
        return f" [{ref[url]}]" if url in ref else (f" <{url}>" if safe_href(url) else "")

    def at(p: Post) -> str:
        return f"{text_plain(p.outlet)} {fmt_time(p.published_at)}{cite(p.url)}"

    c = r.changes
    out = [f"WATCH-LIST REPORT: {text_plain(r.title)}", fmt_window(r),
           ("First report of this watch list: all of the window is new." if c.first_report
            else f"Changes since the last report ({fmt_time(r.since)})."), ""]
    out += ["IN SHORT", "--------"]
    out += [f"* {line}" for line in (_top_line_text(r, t, at) for t in r.top)]
    out.append("")
    if r.signals:
        out += ["SIGNALS TO WATCH", "----------------"]
        for s in r.signals:
            mark = "[SEEN]" if s.seen_in_window else "[seen before]" if s.status == "seen" else "[not seen]"
            new = " NEW" if s.newly_seen else ""
            when = (f" (seen {s.evidence_count} time{'s' * (s.evidence_count != 1)} in the window, latest "
                    f"{fmt_time(s.last_seen_at)})"
                    if s.seen_in_window else " (nothing in this window)" if s.status == "seen" else "")
            out.append(f"{mark}{new} {text_plain(s.title)}{when}")
            if s.evidence_count > len(s.evidence):
                out.append(f"    - {s.evidence_count - len(s.evidence)} earlier in the window")
            whys = {e.why for e in s.evidence}
            if len(whys) == 1 and len(s.evidence) > 1:
                out.append(f"    {text_plain(whys.pop())}:")
                out += [f"    - {at(_evidence_post(e))}" for e in s.evidence]
            else:
                out += [f"    - {at(_evidence_post(e))}: {text_plain(e.why)}" for e in s.evidence]
            if s.earlier_count:
                out.append(f"    - earlier context: {s.earlier_count} post{'s' * (s.earlier_count != 1)} "
                           f"before this window "
                           f"({fmt_time(s.earlier_first_at)} to {fmt_time(s.earlier_last_at)})")
        out.append("")
    if r.cards:
        out += ["CONTRADICTIONS", "--------------"]
        for card in r.cards:
            out.append(f"* {story_ref(card.story_number or 0).capitalize()}{' (NEW)' if card.is_new else ''}:")
            out += _side_text(r, card.a, at)
            out.append("    CONTRADICTED BY")
            out += _side_text(r, card.b, at)
        out.append("")
    if r.markets:
        out += ["ODDS", "----"]
        out += [f"* {r.market_name(m.venue, m.question)}: {m.question} ({m.outcome}) {fmt_prob(m.then)} -> "
                f"{fmt_prob(m.now)} ({fmt_move(m.move)}){cite(m.url) if safe_href(m.url) else ''}"
                for m in r.markets]
        out.append("")
    for st in r.stories:
        out += _story_text(r, st, at)
    if r.other_stories:
        out.append("OTHER STORIES IN THE WINDOW")
        out += [f"  * {text_plain(shorten(st.headline, 140))} ({st.items} posts, first "
                f"{at(st.first_report) if st.first_report else fmt_time(st.first_seen_at)})" for st in r.other_stories]
        out.append("")
    if posts:
        out += ["SOURCES", "-------"]
        out += [f"[{ref[p.url]}] {fmt_time(p.published_at)} {text_plain(p.outlet)}: {p.url}" for p in posts]
        out.append("")
    out.append(f"Built {fmt_time(r.built_at)}. Times are UTC.")
    return "\n".join(out) + "\n"


def _top_line_text(r: Report, line: TopLine, at) -> str:
    if line.kind == "moves" and line.moves:
        t = line.moves
        odds = ", ".join(f"{r.market_name(m.venue, m.question)} {fmt_prob(m.before)} -> {fmt_prob(m.after)}"
                         for m in t.moves)
        s = t.statement
        if s is None:
            return f"Odds: {odds} ({move_span(t.moves)}), with no statement of the watch list in the hours before."
        speaker = f"{text_plain(s.speaker)} " if s.speaker else ""
        return (f"Odds: {odds} after {speaker}({at(s.post)}): {text_plain(top_words(r, s))}"
                f"{f' (story {t.story_number})' if t.story_number else ''}.")
    if line.kind == "contradiction" and line.card:
        c = line.card
        return (f"Contradiction ({story_ref(c.story_number or 0)}): {_side_short_text(r, c.a, at)} against "
                f"{_side_short_text(r, c.b, at)}.")
    if line.kind == "signals":
        n = len(line.signals)
        return (f"{n} signal{'s' * (n != 1)} now seen: "
                + "; ".join(text_plain(short_claim(s.title, 50)) for s in line.signals) + ".")
    if line.kind == "stories":
        n, top = len(line.stories), line.stories[0]
        return (f"{n} new stor{'ies' if n != 1 else 'y'}; the most active: {text_plain(shorten(top.headline, 90))} "
                f"({top.items} posts).")
    return f"Nothing new since {fmt_time(r.changes.since)}."


def _side_short_text(r: Report, side: ContradictionSide, at) -> str:
    speaker = f"{text_plain(side.speaker)}, " if side.speaker else ""
    n = len(side.posts)
    count = f", {n} posts" if n > 1 else ""
    return f"{text_plain(short_claim(r.claim_label(side.claim)))} ({speaker}{at(side.first)}{count})"


def _side_text(r: Report, side: ContradictionSide, at) -> list[str]:
    out = [f"    {text_plain(r.claim_label(side.claim))}",
           f"      first: {text_plain(side.speaker) + ', ' if side.speaker else ''}{at(side.first)}"]
    if len(side.posts) > 1:
        out.append(f"      {len(side.posts)} posts in all; also: " + ", ".join(at(p) for p in side.posts[1:]))
    return out


def _story_text(r: Report, st: Story, at) -> list[str]:
    title = (f"STORY {st.number}{' (NEW)' if st.is_new else ''}"
             f"{', began before this window' if st.began_before_window else ''}")
    out = [title, "=" * len(title), text_plain(st.headline),
           f"First report {at(st.first_report) if st.first_report else '-'}; {st.items} posts from {st.sources} "
           f"sources in {lang_names(st.languages)}."]
    if st.register_coverage:
        first = min(st.register_coverage, key=lambda c: c.first_seen_at)
        loudest = max(st.register_coverage, key=lambda c: c.share)
        out.append(f"Registers: {register_name(first.register)} first ({first.first_seen_at:%d %b %H:%M}), "
                   f"{register_name(loudest.register)} loudest ({loudest.share * 100:.0f}%): "
                   + ", ".join(f"{register_name(c.register)} {c.items}" for c in st.register_coverage) + ".")
    if st.chart:
        out.append("Odds chart (in the HTML version). Named on it: the statements right before the largest moves:")
        for s in st.chart.labelled:
            moves = [m for m in st.chart.moves if m.statement == s]
            out.append(f"  * {s.short_name} ({text_plain(who(s) or s.post.outlet)}, {at(s.post)}): "
                       + ", ".join(f"{move_words(r, m)} by {m.end:%H:%M}" for m in moves))
    for c in st.cards:
        out.append(f"Contradiction: {text_plain(short_claim(r.claim_label(c.a.claim)))} against "
                   f"{text_plain(short_claim(r.claim_label(c.b.claim)))} (see CONTRADICTIONS).")
    out.append("Key statements (relays and repeats under the statement they repeat):")
    for k in st.key_statements:
        s, p = k.statement, k.statement.post
        tags = "".join([" FIRST REPORT" if s.is_first_report else "", " EARLIER CONTEXT" if not s.in_window else "",
                        " NEW" if s.is_new and s.in_window and not r.changes.first_report else ""])
        speaker = f"{text_plain(who(s))} {said(s)}, " if who(s) else ""
        out.append(f"  - {speaker}{at(p)} ({register_name(p.register) or '-'}, {p.lang or '?'}){tags}")
        text = shorten(without_urls(p.text), MAX_TEXT)
        out.append(f"      {text_plain(text, p.lang)}")
        out += [f"      [{p.lang or '?'}] {quoted_plain(q, p.lang)}" for q in s.quotes
                if " ".join(q.split()) not in text]
        if s.claims:
            firsts = {f.claim: f for f in s.claim_firsts}
            words = []
            for c in s.claims:
                f = firsts.get(c)
                note = "" if f is None else " (FIRST REPORT OF THIS CLAIM)" if f.is_this_post else \
                    f" (first reported by {at(f.post)}, {'this story' if f.same_story else 'another story'})"
                words.append(text_plain(r.claim_label(c)) + note)
            out.append(f"      claims: {'; '.join(words)}")
        if k.also:
            out.append("      repeated by: " + ", ".join(at(a.post) for a in k.also))
    if st.key_omitted:
        out.append(f"  {len(st.key_omitted)} more statements: "
                   + ", ".join(at(k.statement.post) for k in st.key_omitted))
    out.append("")
    return out
