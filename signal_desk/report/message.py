"""A built report as the email that is sent: HTML and text parts, its charts attached inline."""
from __future__ import annotations

from signal_desk.report.build import Report
from signal_desk.report.chart import story_chart_png
from signal_desk.report.mail import InlineImage, compose
from signal_desk.report.render import render_html, render_text

MAX_CHARTS = 3


def render_email(report: Report, mail_from: str) -> tuple[str, str, bytes]:
    """(html, text, eml) for a built report: the charts drawn and attached inline."""
    images, charts = [], {}
    for story in [s for s in report.stories if s.series][:MAX_CHARTS]:
        png = story_chart_png(story, report.window_start, report.window_end)
        if png:
            cid = f"chart{len(images) + 1}.{report.report_id}@signal-desk"
            images.append(InlineImage(cid, png, f"odds-{len(images) + 1}.png"))
            charts[story.story_id] = cid
    html = render_html(report, charts)
    text = render_text(report)
    eml = compose(report_id=report.report_id, watchlist_id=report.watchlist_id, subject=report.subject,
                  mail_from=mail_from, recipients=list(report.recipients), text=text, html=html, images=images,
                  date=report.built_at)
    return html, text, eml
