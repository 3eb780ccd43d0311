"""A report model to an HTML email body (inline CSS, no scripts) and a plain-text body saying the same.

Scraped text is untrusted: every string from the database goes through `esc`, links get an href only
when they are http(s), and every link shows its host. Right-to-left text carries dir="rtl" and its lang.
"""
from __future__ import annotations

import html
import unicodedata
from datetime import datetime
from urllib.parse import unquote, urlsplit

from tasks.report.build import Contradiction, MarketLink, OddsMove, Post, Report, Statement, Story

RTL_LANGS = {"ar", "fa", "he", "ur", "ps", "ckb", "yi", "dv", "sd", "ug"}
MAX_TEXT = 420              # characters of a post shown under a statement
MAX_CONTRADICTIONS = 4      # pairs shown per story; the rest are counted
REGISTER_COLOURS = {
    "state-aligned": "#c92a2a", "western-wire": "#1864ab", "western-media": "#1c7ed6", "osint": "#e67700",
    "official": "#5f3dc4", "partisan": "#a61e4d", "regional-media": "#2b8a3e", "independent": "#495057",
}

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,'Noto Sans','Noto Naskh Arabic',sans-serif"
S_BODY = f"margin:0;padding:0;background:#f1f3f5;{FONT};color:#212529"
S_CARD = "max-width:640px;width:100%;background:#ffffff;border-collapse:collapse"
S_CELL = "padding:14px 14px;font-size:15px;line-height:1.45;word-wrap:break-word;overflow-wrap:anywhere"
S_H1 = "margin:0 0 4px;font-size:21px;line-height:1.25;font-weight:700"
S_H2 = ("margin:22px 0 8px;font-size:17px;line-height:1.3;font-weight:700;border-bottom:2px solid #dee2e6;"
        "padding-bottom:4px")
S_H3 = "margin:14px 0 6px;font-size:15px;font-weight:700;color:#343a40"
S_MUTED = "color:#6c757d;font-size:13px"
S_LINK = "color:#1864ab;text-decoration:underline;word-break:break-all"
S_ROW = "margin:0 0 10px;padding:6px 0 6px 10px;border-left:3px solid {colour}"
S_TABLE = "border-collapse:collapse;width:100%;font-size:13px"
S_TH = "text-align:left;padding:4px 6px;border-bottom:1px solid #ced4da;color:#495057;font-weight:600"
S_TD = "padding:4px 5px;border-bottom:1px solid #f1f3f5;vertical-align:top"
S_BADGE = ("display:inline-block;padding:0 5px;border-radius:3px;font-size:11px;line-height:17px;"
           "font-weight:600;color:#ffffff;background:{bg}")
S_BOX = "margin:0 0 10px;padding:8px 10px;background:#fff5f5;border:1px solid #ffc9c9;border-radius:4px"
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
    text = " ".join(text.split()) if limit < 200 else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def direction(text: str, lang: str | None = None) -> str:
    """rtl when the language is written right to left or the first strong character is."""
    if lang and lang.split("-")[0].lower() in RTL_LANGS:
        return "rtl"
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return "rtl"
        if bidi == "L":
            return "ltr"
    return "ltr"


_PERSIAN_LETTERS = frozenset("پچژگکی")


def rtl_lang(text: str, lang: str | None) -> str | None:
    """The language to mark on right-to-left text: the item's own when it is a right-to-left one,
    else a guess from the script (an English outlet quoting Arabic, a source of unknown language)."""
    if lang and lang.split("-")[0].lower() in RTL_LANGS:
        return lang
    if any("\u0590" <= ch <= "\u05ff" for ch in text):
        return "he"
    if any(ch in _PERSIAN_LETTERS for ch in text):
        return "fa"
    return "ar"


def url_display(url: str) -> str:
    """host + path, shortened: what the reader sees before following a link."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.") + (f":{parts.port}" if parts.port else "")
    rest = unquote(parts.path.rstrip("/"))
    if parts.query:
        rest += "?" + unquote(parts.query)
    shown = host + rest
    return shown if len(shown) <= 60 else shown[:57] + "…"


def safe_href(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def link(url: str | None, label: str | None = None) -> str:
    href = safe_href(url)
    if href is None:
        return esc(url or "")
    shown = url_display(href)
    text = f"{esc(label)} ({esc(shown)})" if label else esc(shown)
    return f'<a href="{esc(href)}" style="{S_LINK}">{text}</a>'


def lang_badge(lang: str | None) -> str:
    if not lang:
        return ""
    return (f'<span style="{S_BADGE.format(bg="#868e96")}" title="language">'
            f'{esc(lang.upper())}</span>')


def register_badge(register: str | None) -> str:
    if not register:
        return ""
    return f'<span style="{S_BADGE.format(bg=REGISTER_COLOURS.get(register, "#495057"))}">{esc(register)}</span>'


def text_html(text: str, lang: str | None, *, limit: int = MAX_TEXT, style: str = "") -> str:
    dir_ = direction(text, lang)
    if dir_ == "rtl":
        lang = rtl_lang(text, lang)
    align = "text-align:right;" if dir_ == "rtl" else ""
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    body = esc(shorten(text, limit)).replace("\n", "<br>")
    return f'<div dir="{dir_}"{lang_attr} style="{align}{style}">{body}</div>'


def quote_html(quote: str, lang: str | None) -> str:
    dir_ = direction(quote, lang)
    if dir_ == "rtl":
        lang = rtl_lang(quote, lang)
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    return (f'<div style="margin:3px 0;font-size:14px">{lang_badge(lang)} '
            f'<q dir="{dir_}"{lang_attr} style="font-style:italic">{esc(quote)}</q></div>')


# ---- plain text ---------------------------------------------------------------------------------

RLI, PDI = "\u2067", "\u2069"   # isolate right-to-left runs so plain-text viewers order them correctly


def text_plain(text: str, lang: str | None) -> str:
    return f"{RLI}{text}{PDI}" if direction(text, lang) == "rtl" else text


# ---- HTML ---------------------------------------------------------------------------------------

def render_html(r: Report, charts: dict[str, str] | None = None) -> str:
    """The HTML part. `charts` maps story_id to the Content-ID of its chart image."""
    charts = charts or {}
    parts = [_header(r), _changes_html(r), _signals_html(r)]
    if r.stories:
        parts.append(f'<h2 style="{S_H2}">Stories</h2>')
    parts += [_story_html(r, i + 1, st, charts.get(st.story_id)) for i, st in enumerate(r.stories)]
    if r.other_stories:
        items = "".join(f"<li>{esc(shorten(st.headline, 140))} <span style=\"{S_MUTED}\">first seen "
                        f"{esc(fmt_time(st.first_seen_at))}, {st.items} posts</span> "
                        f"{link(st.first_report.url if st.first_report else None)}</li>" for st in r.other_stories)
        parts.append(f'<h3 style="{S_H3}">Other stories in the window</h3><ul style="{S_LIST}">{items}</ul>')
    parts.append(_provenance_html(r))
    parts.append(f'<p style="{S_MUTED};margin-top:18px">Report {esc(r.report_id)}, built '
                 f'{esc(fmt_time(r.built_at))}. Times are UTC. Scraped text is shown as published; state-aligned '
                 f'statements are claims of position, not confirmation of disputed facts.</p>')
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(r.subject)}</title></head>\n"
        f'<body style="{S_BODY}">\n'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;'
        f'border-collapse:collapse;background:#f1f3f5"><tr><td align="center" style="padding:8px 0">\n'
        f'<table role="presentation" cellpadding="0" cellspacing="0" style="{S_CARD}"><tr>'
        f'<td style="{S_CELL}">\n{body}\n</td></tr></table>\n'
        "</td></tr></table>\n</body></html>\n")


def _header(r: Report) -> str:
    since = ("first report of this watch list: everything in the window is new" if r.changes.first_report
             else f"changes since the last report ({fmt_time(r.since)})")
    return (f'<div style="{S_MUTED};text-transform:uppercase;letter-spacing:.04em">Watch-list report</div>'
            f'<h1 style="{S_H1}">{esc(r.title)}</h1>'
            f'<div style="{S_MUTED}">{esc(fmt_window(r))} · {esc(since)}</div>')


def _changes_html(r: Report) -> str:
    c = r.changes
    out = [f'<h2 style="{S_H2}">What changed</h2>']
    if c.nothing:
        out.append(f'<p style="margin:0 0 8px">Nothing new since {esc(fmt_time(c.since))}.</p>')
        return "".join(out)
    if c.new_stories:
        items = "".join(
            f"<li><b>{esc(shorten(st.headline, 140))}</b><br><span style=\"{S_MUTED}\">first seen "
            f"{esc(fmt_time(st.first_seen_at))}"
            f"{' by ' + esc(st.first_report.outlet) if st.first_report else ''}, {st.items} posts from "
            f"{st.sources} sources</span></li>" for st in c.new_stories)
        out.append(f'<h3 style="{S_H3}">New stories</h3><ul style="{S_LIST}">{items}</ul>')
    if c.new_statements:
        more = c.new_statements_total - len(c.new_statements)
        items = "".join(
            f"<li><b>{esc(fmt_time(n.statement.post.published_at))}</b> {esc(n.statement.post.outlet)}"
            f"{': ' + esc(n.statement.speaker) if n.statement.speaker else ''} "
            f"{_inline_text(n.statement.post.text, n.statement.post.lang, 160)} "
            f"{link(n.statement.post.url)}</li>" for n in c.new_statements)
        head = (f"New statements ({c.new_statements_total}"
                + (f", latest {len(c.new_statements)} listed" if more else "") + ")")
        out.append(f'<h3 style="{S_H3}">{esc(head)}</h3><ul style="{S_LIST}">{items}</ul>')
    if c.contradictions:
        out.append(f'<h3 style="{S_H3}">Contradictions</h3>')
        out += [_contradiction_html(r, x) for x in c.contradictions[:MAX_CONTRADICTIONS]]
        if len(c.contradictions) > MAX_CONTRADICTIONS:
            out.append(f'<p style="{S_MUTED}">and {len(c.contradictions) - MAX_CONTRADICTIONS} more pairs '
                       f'(see the stories below)</p>')
    if c.odds_moves:
        items = "".join(f"<li>{_odds_move_html(m)}</li>" for m in c.odds_moves)
        out.append(f'<h3 style="{S_H3}">Odds moves of {esc(fmt_move(r.odds_move_threshold).lstrip("+"))} or more'
                   f'</h3><ul style="{S_LIST}">{items}</ul>')
    if c.signals_newly_seen:
        items = "".join(f"<li><b>{esc(s.title)}</b> <span style=\"{S_MUTED}\">first seen "
                        f"{esc(fmt_time(s.first_seen_at))}</span></li>" for s in c.signals_newly_seen)
        out.append(f'<h3 style="{S_H3}">Signals newly seen</h3><ul style="{S_LIST}">{items}</ul>')
    return "".join(out)


def _inline_text(text: str, lang: str | None, limit: int) -> str:
    """A short excerpt inside a sentence: isolated, so right-to-left text does not reorder its neighbours."""
    dir_ = direction(text, lang)
    if dir_ == "rtl":
        lang = rtl_lang(text, lang)
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    return f'“<bdi dir="{dir_}"{lang_attr}>{esc(shorten(text, limit))}</bdi>”'


def _odds_move_html(m: OddsMove) -> str:
    name = f"{m.venue.capitalize()}: {m.question} ({m.outcome})"
    return (f"<b>{esc(name)}</b> {esc(fmt_prob(m.then))} → <b>{esc(fmt_prob(m.now))}</b> "
            f"({esc(fmt_move(m.move))}) {link(m.url) if safe_href(m.url) else ''}")


def _contradiction_html(r: Report, c: Contradiction) -> str:
    def side(claim: str, p: Post) -> str:
        return (f'<div style="font-weight:600">{esc(r.claim_labels.get(claim, claim))}</div>'
                f'<div style="{S_MUTED}">{esc(fmt_time(p.published_at))} · {esc(p.outlet)}</div>'
                f'{text_html(p.text, p.lang, limit=240, style="font-size:14px;margin:2px 0")}'
                f'<div style="font-size:13px">{link(p.url)}</div>')
    return (f'<div style="{S_BOX}">{side(c.claim_a, c.post_a)}'
            f'<div style="margin:6px 0;font-size:12px;font-weight:700;color:#c92a2a">CONTRADICTED BY</div>'
            f'{side(c.claim_b, c.post_b)}</div>')


def _signals_html(r: Report) -> str:
    if not r.signals:
        return ""
    out = [f'<h2 style="{S_H2}">Signals to watch</h2>']
    for s in r.signals:
        seen = s.status == "seen"
        badge = S_BADGE.format(bg="#2b8a3e" if seen else "#adb5bd")
        when = (f" first {fmt_time(s.first_seen_at)}, last {fmt_time(s.last_seen_at)}, "
                f"{s.evidence_count} post{'s' * (s.evidence_count != 1)}") if seen else ""
        new = f' <span style="{S_BADGE.format(bg="#e67700")}">NEW</span>' if s.newly_seen else ""
        ev = "".join(
            f"<li>{esc(fmt_time(e.published_at))} {esc(e.outlet)}: {esc(e.why)} {link(e.url)}</li>"
            for e in s.evidence[:5])
        if len(s.evidence) > 5:
            ev += f'<li style="{S_MUTED}">and {len(s.evidence) - 5} more</li>'
        out.append(f'<div style="margin:0 0 10px"><span style="{badge}">{esc(s.status.upper())}</span>{new} '
                   f'<b>{esc(s.title)}</b><span style="{S_MUTED}">{esc(when)}</span>'
                   + (f'<ul style="{S_LIST};font-size:13px">{ev}</ul>' if ev else "") + "</div>")
    return "".join(out)


def _story_html(r: Report, n: int, st: Story, chart_cid: str | None) -> str:
    new = '<b style="color:#e67700">NEW</b> · ' if st.is_new else ""
    out = [f'<h2 style="{S_H2}">{n}. {esc(shorten(st.headline, 160))}</h2>',
           f'<div style="{S_MUTED}">{new}'
           f'first seen {esc(fmt_time(st.first_seen_at))}, last {esc(fmt_time(st.last_seen_at))} · '
           f'{st.items} posts, {st.sources} sources · languages: {esc(", ".join(st.languages) or "-")}</div>']
    if st.first_report:
        fr = st.first_report
        out.append(f'<p style="margin:8px 0">First report: <b>{esc(fr.outlet)}</b> at '
                   f'<b>{esc(fmt_time(fr.published_at))}</b> {link(fr.url)}</p>')
    out.append(_registers_html(st))
    if st.markets:
        out.append(f'<h3 style="{S_H3}">Linked markets</h3>')
        if chart_cid:
            out.append(f'<img src="cid:{esc(chart_cid)}" width="600" alt="Odds of the linked markets over the '
                       f'report window, with the statements of this story marked" style="display:block;width:100%;'
                       f'max-width:600px;height:auto;border:0;margin:4px 0 8px">')
        out.append(_markets_html(st.markets))
        out.append(_statement_odds_html(st))
    if st.contradictions:
        out.append(f'<h3 style="{S_H3}">Contradictions</h3>')
        out += [_contradiction_html(r, c) for c in st.contradictions[:MAX_CONTRADICTIONS]]
        if len(st.contradictions) > MAX_CONTRADICTIONS:
            out.append(f'<p style="{S_MUTED}">and {len(st.contradictions) - MAX_CONTRADICTIONS} more pairs of '
                       f'the same claims</p>')
    out.append(f'<h3 style="{S_H3}">Timeline</h3>')
    if st.statements_omitted:
        out.append(f'<p style="{S_MUTED}">{st.statements_omitted} earlier statements not shown.</p>')
    out += [_statement_html(r, s) for s in st.statements]
    return "".join(out)


def _registers_html(st: Story) -> str:
    if not st.register_coverage:
        return ""
    th = S_TH + ";white-space:nowrap"
    rows = "".join(
        f'<tr><td style="{S_TD}">{register_badge(c.register)}</td><td style="{S_TD};white-space:nowrap">'
        f'{esc(f"{c.first_seen_at:%d %b %H:%M}")}</td><td style="{S_TD};text-align:right">{c.items}</td>'
        f'<td style="{S_TD};text-align:right">{c.share * 100:.0f}%</td></tr>' for c in st.register_coverage)
    first = min(st.register_coverage, key=lambda c: c.first_seen_at)
    loudest = max(st.register_coverage, key=lambda c: c.share)
    voices = "".join(
        f'<li style="margin:0 0 4px">{register_badge(reg)} <b>{esc(s.post.outlet)}</b> '
        f'{esc(fmt_time(s.post.published_at))}{": " + esc(s.speaker) if s.speaker else ""} '
        f'{_inline_text(s.post.text, s.post.lang, 140)}</li>' for reg, s in _first_by_register(st))
    return (f'<h3 style="{S_H3}">Registers side by side</h3>'
            f'<p style="margin:0 0 6px;font-size:14px">First to speak: <b>{esc(first.register)}</b> '
            f'({esc(fmt_time(first.first_seen_at))}); loudest: <b>{esc(loudest.register)}</b> '
            f'({loudest.share * 100:.0f}% of posts).</p>'
            f'<table role="presentation" style="{S_TABLE}"><tr><th style="{th}">register</th>'
            f'<th style="{th}">first (UTC)</th><th style="{th};text-align:right">posts</th>'
            f'<th style="{th};text-align:right">share</th></tr>{rows}</table>'
            + (f'<div style="{S_MUTED};margin:8px 0 4px">What each register said first</div>'
               f'<ul style="{S_LIST};font-size:14px;list-style:none;padding:0">{voices}</ul>' if voices else ""))


def _first_by_register(st: Story) -> list[tuple[str, Statement]]:
    first: dict[str, Statement] = {}
    for s in st.statements:
        if s.post.register and s.post.register not in first:
            first[s.post.register] = s
    return sorted(first.items(), key=lambda kv: kv[1].post.published_at)


def _markets_html(markets: tuple[MarketLink, ...]) -> str:
    items = []
    for m in markets:
        before = (f"; moved {fmt_move(m.move_before_first_report)} before the first report"
                  if m.moved_before_first_report else "")
        items.append(
            f"<li><b>{esc(m.venue.capitalize())}: {esc(m.question)}</b> ({esc(m.outcome)})<br>"
            f"at first report {esc(fmt_prob(m.price_at_first_report))} → now <b>{esc(fmt_prob(m.price_now))}</b>"
            f" ({esc(fmt_move(m.move_since_first_report))}){esc(before)}"
            + (f"<br>{link(m.url)}" if safe_href(m.url) else "") + "</li>")
    return f'<ul style="{S_LIST};font-size:14px">{"".join(items)}</ul>'


def _statement_odds_html(st: Story) -> str:
    """One row per statement, one column per market: the price at the statement -> an hour after."""
    if not st.statement_odds:
        return ""
    markets = sorted({(o.venue, o.market_id) for o in st.statement_odds})
    cell = {(o.statement_number, o.venue, o.market_id): o for o in st.statement_odds}
    th = S_TH + ";white-space:nowrap"
    head = "".join(f'<th style="{S_TH};text-align:right">{esc(v.capitalize())}</th>' for v, _ in markets)
    rows = []
    for s in st.statements:
        cells = [cell.get((s.number, v, m)) for v, m in markets]
        if not any(cells):
            continue
        tds = "".join(
            f'<td style="{S_TD};text-align:right">'
            + (f'<b style="white-space:nowrap">{esc(fmt_prob(o.at))}</b> '
               f'<span style="white-space:nowrap">→ {esc(fmt_prob(o.after))}</span>' if o else "-") + "</td>"
            for o in cells)
        rows.append(f'<tr><td style="{S_TD};white-space:nowrap">#{s.number} '
                    f'{esc(f"{s.post.published_at:%H:%M}")}</td>{tds}</tr>')
    return (f'<div style="{S_MUTED};margin:6px 0 2px">Odds at each statement → an hour later</div>'
            f'<table role="presentation" style="{S_TABLE}"><tr><th style="{th}"># time (UTC)</th>{head}</tr>'
            f'{"".join(rows)}</table>')


def _statement_html(r: Report, s: Statement) -> str:
    p = s.post
    colour = REGISTER_COLOURS.get(p.register or "", "#adb5bd")
    tags = []
    if s.is_first_report:
        tags.append(f'<span style="{S_BADGE.format(bg="#c92a2a")}">FIRST REPORT</span>')
    if s.is_new:
        tags.append(f'<span style="{S_BADGE.format(bg="#e67700")}">NEW</span>')
    relay = ""
    if s.relay_of is not None:
        lag = f", {s.relay_lag_minutes} min later" if s.relay_lag_minutes is not None else ""
        relay = (f'<div style="{S_MUTED}">relay of {esc(s.relay_of.outlet)} '
                 f'({esc(fmt_time(s.relay_of.published_at))}{esc(lag)}) {link(s.relay_of.url)}</div>')
    who = ""
    if s.speaker or s.attributed_to:
        who = f'<div style="font-size:14px">{_who(s, esc)}</div>'
    claims = ""
    if s.claims:
        claims = (f'<div style="{S_MUTED}">claims: '
                  f'{esc("; ".join(r.claim_labels.get(c, c) for c in s.claims))}</div>')
    quotes = "".join(quote_html(q, p.lang) for q in s.quotes)
    return (f'<div style="{S_ROW.format(colour=colour)}">'
            f'<div style="font-size:13px"><b>#{s.number} · {esc(fmt_time(p.published_at))}</b> · '
            f'{esc(p.outlet)} {register_badge(p.register)} {lang_badge(p.lang)} {" ".join(tags)}</div>'
            f'{who}{relay}'
            f'{text_html(p.text, p.lang, style="font-size:15px;margin:3px 0")}'
            f'{quotes}{claims}'
            f'<div style="font-size:13px">{link(p.url)}</div></div>')


def _who(s: Statement, fmt=lambda x: x) -> str:
    """"<b>speaker</b> (act), attributed to ...", without repeating a speaker the attribution already names."""
    speaker = s.speaker or s.attributed_to or ""
    act = f" ({s.speech_act})" if s.speech_act else ""
    via = s.attributed_to if s.attributed_to and s.speaker and s.speaker.lower() not in s.attributed_to.lower() \
        else None
    if s.attributed_to and s.speaker and via is None and s.attributed_to != s.speaker:
        speaker = s.attributed_to       # "an Iranian official speaking to state TV" says more than the name
    bold = f"<b>{fmt(speaker)}</b>" if fmt is esc else speaker
    return bold + fmt(act) + (fmt(f", attributed to {via}") if via else "")


def _provenance_html(r: Report) -> str:
    posts = r.posts()
    if not posts:
        return ""
    items = "".join(f'<li style="margin:0 0 3px">{esc(fmt_time(p.published_at))} {esc(p.outlet)} '
                    f'{link(p.url)}</li>' for p in posts)
    return (f'<h2 style="{S_H2}">Sources used</h2><p style="{S_MUTED}">Every post this report rests on, '
            f'oldest first.</p><ol style="{S_LIST};font-size:13px">{items}</ol>')


# ---- plain text ---------------------------------------------------------------------------------

def render_text(r: Report) -> str:
    posts = r.posts()
    ref = {p.url: i + 1 for i, p in enumerate(posts)}

    def cite(url: str | None) -> str:
        return f" [{ref[url]}]" if url in ref else (f" <{url}>" if safe_href(url) else "")

    c = r.changes
    out = [f"WATCH-LIST REPORT: {r.title}", fmt_window(r),
           ("First report of this watch list: everything in the window is new." if c.first_report
            else f"Changes since the last report ({fmt_time(r.since)})."), ""]
    out += ["WHAT CHANGED", "------------"]
    if c.nothing:
        out.append(f"Nothing new since {fmt_time(c.since)}.")
    if c.new_stories:
        out.append("New stories:")
        out += [f"  * {shorten(st.headline, 140)} (first seen {fmt_time(st.first_seen_at)}"
                f"{' by ' + st.first_report.outlet if st.first_report else ''}, {st.items} posts)"
                f"{cite(st.first_report.url if st.first_report else None)}" for st in c.new_stories]
    if c.new_statements:
        out.append(f"New statements ({c.new_statements_total}"
                   + (f", latest {len(c.new_statements)} listed" if c.new_statements_total > len(c.new_statements)
                      else "") + "):")
        out += [f"  * {fmt_time(n.statement.post.published_at)} {n.statement.post.outlet}"
                f"{': ' + n.statement.speaker if n.statement.speaker else ''} "
                f"\"{text_plain(shorten(n.statement.post.text, 160), n.statement.post.lang)}\""
                f"{cite(n.statement.post.url)}" for n in c.new_statements]
    if c.contradictions:
        out.append("Contradictions:")
        for x in c.contradictions[:MAX_CONTRADICTIONS]:
            out += _contradiction_text(r, x, cite)
        if len(c.contradictions) > MAX_CONTRADICTIONS:
            out.append(f"  and {len(c.contradictions) - MAX_CONTRADICTIONS} more pairs (see the stories below)")
    if c.odds_moves:
        out.append(f"Odds moves of {fmt_move(r.odds_move_threshold).lstrip('+')} or more:")
        out += [f"  * {m.venue.capitalize()}: {m.question} ({m.outcome}) {fmt_prob(m.then)} -> {fmt_prob(m.now)} "
                f"({fmt_move(m.move)})" for m in c.odds_moves]
    if c.signals_newly_seen:
        out.append("Signals newly seen:")
        out += [f"  * {s.title} (first seen {fmt_time(s.first_seen_at)})" for s in c.signals_newly_seen]
    out.append("")
    if r.signals:
        out += ["SIGNALS TO WATCH", "----------------"]
        for s in r.signals:
            mark = "[SEEN]" if s.status == "seen" else "[not seen]"
            new = " NEW" if s.newly_seen else ""
            when = (f" (first {fmt_time(s.first_seen_at)}, last {fmt_time(s.last_seen_at)}, "
                    f"{s.evidence_count} posts)") if s.status == "seen" else ""
            out.append(f"{mark}{new} {s.title}{when}")
            out += [f"    - {fmt_time(e.published_at)} {e.outlet}: {e.why}{cite(e.url)}" for e in s.evidence[:5]]
            if len(s.evidence) > 5:
                out.append(f"    - and {len(s.evidence) - 5} more")
        out.append("")
    for i, st in enumerate(r.stories):
        out += _story_text(r, i + 1, st, cite)
    if r.other_stories:
        out.append("OTHER STORIES IN THE WINDOW")
        out += [f"  * {shorten(st.headline, 140)} (first seen {fmt_time(st.first_seen_at)}, {st.items} posts)"
                f"{cite(st.first_report.url if st.first_report else None)}" for st in r.other_stories]
        out.append("")
    if posts:
        out += ["SOURCES USED", "------------"]
        out += [f"[{ref[p.url]}] {fmt_time(p.published_at)} {p.outlet}: {p.url}" for p in posts]
        out.append("")
    out.append(f"Report {r.report_id}, built {fmt_time(r.built_at)}. Times are UTC.")
    return "\n".join(out) + "\n"


def _contradiction_text(r: Report, c: Contradiction, cite) -> list[str]:
    a, b = c.post_a, c.post_b
    return [f"  * {r.claim_labels.get(c.claim_a, c.claim_a)}",
            f"      {fmt_time(a.published_at)} {a.outlet}: \"{text_plain(shorten(a.text, 200), a.lang)}\"{cite(a.url)}",
            f"    CONTRADICTED BY {r.claim_labels.get(c.claim_b, c.claim_b)}",
            f"      {fmt_time(b.published_at)} {b.outlet}: \"{text_plain(shorten(b.text, 200), b.lang)}\"{cite(b.url)}"]


def _story_text(r: Report, n: int, st: Story, cite) -> list[str]:
    title = f"{n}. {shorten(st.headline, 160)}"
    out = [title, "=" * min(len(title), 72),
           f"{'NEW. ' if st.is_new else ''}First seen {fmt_time(st.first_seen_at)}, last {fmt_time(st.last_seen_at)}; "
           f"{st.items} posts, {st.sources} sources; languages: {', '.join(st.languages) or '-'}"]
    if st.first_report:
        out.append(f"First report: {st.first_report.outlet} at {fmt_time(st.first_report.published_at)}"
                   f"{cite(st.first_report.url)}")
    if st.register_coverage:
        out.append("Registers side by side:")
        first = min(st.register_coverage, key=lambda c: c.first_seen_at)
        loudest = max(st.register_coverage, key=lambda c: c.share)
        out.append(f"  First to speak: {first.register} ({fmt_time(first.first_seen_at)}); loudest: "
                   f"{loudest.register} ({loudest.share * 100:.0f}% of posts).")
        out += [f"  {c.register:<15} first {fmt_time(c.first_seen_at)}  {c.items:>3} posts  {c.sources:>2} sources  "
                f"{c.share * 100:>3.0f}%" for c in st.register_coverage]
        out.append("  What each register said first:")
        out += [f"    {reg}: {s.post.outlet} {fmt_time(s.post.published_at)}"
                f"{': ' + s.speaker if s.speaker else ''} \"{text_plain(shorten(s.post.text, 140), s.post.lang)}\""
                f"{cite(s.post.url)}" for reg, s in _first_by_register(st)]
    if st.markets:
        out.append("Linked markets (chart in the HTML version):")
        for m in st.markets:
            before = (f"; moved {fmt_move(m.move_before_first_report)} before the first report"
                      if m.moved_before_first_report else "")
            out.append(f"  * {m.venue.capitalize()}: {m.question} ({m.outcome}): at first report "
                       f"{fmt_prob(m.price_at_first_report)} -> now {fmt_prob(m.price_now)} "
                       f"({fmt_move(m.move_since_first_report)}){before}")
        if st.statement_odds:
            out.append("  Odds at each statement -> an hour later:")
            by_number: dict[int, list[str]] = {}
            for o in st.statement_odds:
                by_number.setdefault(o.statement_number, []).append(
                    f"{o.venue.capitalize()} {fmt_prob(o.at)} -> {fmt_prob(o.after)}")
            out += [f"    #{s.number} {s.post.published_at:%H:%M} UTC: {', '.join(by_number[s.number])}"
                    for s in st.statements if s.number in by_number]
    if st.contradictions:
        out.append("Contradictions:")
        for c in st.contradictions[:MAX_CONTRADICTIONS]:
            out += _contradiction_text(r, c, cite)
        if len(st.contradictions) > MAX_CONTRADICTIONS:
            out.append(f"  and {len(st.contradictions) - MAX_CONTRADICTIONS} more pairs of the same claims")
    out.append("Timeline:")
    if st.statements_omitted:
        out.append(f"  ({st.statements_omitted} earlier statements not shown)")
    for s in st.statements:
        p = s.post
        tags = "".join([" FIRST REPORT" if s.is_first_report else "", " NEW" if s.is_new else ""])
        out.append(f"  #{s.number} {fmt_time(p.published_at)} {p.outlet} ({p.register or '-'}, "
                   f"{p.lang or '?'}){tags}{cite(p.url)}")
        if s.speaker or s.attributed_to:
            out.append(f"     {_who(s)}")
        if s.relay_of is not None:
            lag = f", {s.relay_lag_minutes} min later" if s.relay_lag_minutes is not None else ""
            out.append(f"     relay of {s.relay_of.outlet} ({fmt_time(s.relay_of.published_at)}{lag})"
                       f"{cite(s.relay_of.url)}")
        out.append(f"     {text_plain(shorten(p.text, MAX_TEXT).replace(chr(10), ' '), p.lang)}")
        out += [f"     [{(p.lang or '?')}] \"{text_plain(q, p.lang)}\"" for q in s.quotes]
        if s.claims:
            out.append(f"     claims: {'; '.join(r.claim_labels.get(c, c) for c in s.claims)}")
    out.append("")
    return out
