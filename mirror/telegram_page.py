"""Scenario posts rendered as Telegram's public web preview (t.me/s/<channel>) renders them.

- `render_channel_page`: a full t.me/s page in the markup of real captures (channel header,
  `tgme_widget_message_wrap` blocks, footer with views and `<time datetime>`), paging links included.
  A post that is a poll shows its question, options with percentages and, in the footer, its voters.
- `render_not_found`: the t.me/<name> landing page served when a name has no public preview.

Scripts, stylesheets and the inline SVG decorations of the real pages are left out: nothing reads
them, and a page served by the mirror should not make a browser call telegram.org. Post and channel
identities stay on https://t.me (they are the data); paging links stay relative as Telegram writes
them, so they resolve against the mirror.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from datetime import datetime, timezone
from html import escape
from urllib.parse import quote

from mirror.scenario_types import Outlet, Post, ScenarioPoll

TELEGRAM_URL = "https://t.me"
CHANNEL_CREATED_TEXT = "Channel created"
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_ENTITY = re.compile(
    r"(?P<url>https?://[^\s<>\"'«»]+)"
    r"|(?<![\w@/.])@(?P<mention>[A-Za-z][A-Za-z0-9_]{3,31})\b"
    r"|(?<![\w#&/])#(?P<tag>[^\W\d_]\w*)")
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»…"
_ALBUM_KINDS = ("photo", "video")
POLL_VOTING_HOURS = 3.0           # a poll's voters arrive over this long after it is posted
_TRANSPARENT_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def render_channel_page(outlet: Outlet, posts: list[Post], *, before: int | None, base_url: str,
                        as_of: datetime | None = None) -> str:
    """One t.me/s/<handle> page showing `posts` (oldest first).

    before: the cursor of the next older page, written into `<link rel="prev">` and the "more" link;
    Telegram uses the smallest post id shown. None when this page reaches the channel's first post,
    which is also when the "Channel created" service message shows (as id 1, if outlet.created_at is
    known and id 1 is free).
    base_url: where the mirror serves this source (e.g. http://127.0.0.1:8765/telegram); links to the
    channel itself point there.
    as_of: the mirror's clock; an edited post shows its edited text and "edited" from edited_at on.
    """
    handle = _checked_handle(outlet.handle)
    ordered = sorted(posts, key=lambda p: p.post_id)
    for post in ordered:
        if post.outlet != outlet.handle:
            raise ValueError(f"post {post.outlet}/{post.post_id} is not from channel {outlet.handle}")
        _checked_utc(post.published_at, f"post {post.outlet}/{post.post_id} published_at")
    if before is not None and ordered and before > ordered[0].post_id:
        raise ValueError(f"before={before} must be the older-page cursor (at most the smallest id shown, "
                         f"{ordered[0].post_id}), not the request's own ?before")
    channel_link = f"{base_url.rstrip('/')}/{handle}"
    by_id = {p.post_id: p for p in ordered}

    messages = []
    if before is None and _shows_channel_created(outlet, ordered, as_of):
        messages.append(_service_message(outlet, handle, 1, _checked_utc(outlet.created_at, "created_at"),
                                         CHANNEL_CREATED_TEXT, channel_link))
    for post in ordered:
        messages.append(_message(outlet, handle, post, by_id, as_of, channel_link))

    head_links = []
    if before is not None:
        head_links.append(f'<link rel="prev" href="/s/{handle}?before={before}">')
    if ordered:
        head_links.append(f'<link rel="canonical" href="/s/{handle}?before={ordered[-1].post_id + 1}">')
    more = ""
    if before is not None:
        more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{handle}?before='
                f'{before}" class="tme_messages_more js-messages_more" data-before="{before}"></a></div>')

    title = escape(outlet.title)
    description = escape(outlet.description)
    return "\n".join([
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta charset="utf-8">',
        f"    <title>{title} – Telegram</title>",
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0, '
        'maximum-scale=1.0, user-scalable=no" />',
        '    <meta name="format-detection" content="telephone=no" />',
        f'<meta property="og:title" content="{title}">',
        '<meta property="og:image" content="">',
        '<meta property="og:site_name" content="Telegram">',
        f'<meta property="og:description" content="{description}">',
        f'<meta property="twitter:title" content="{title}">',
        '<meta property="twitter:site" content="@Telegram">',
        f'<meta property="al:ios:url" content="tg://resolve?domain={handle}">',
        f'<meta property="al:android:url" content="tg://resolve?domain={handle}">',
        '<meta name="twitter:card" content="summary">',
        f'<meta name="twitter:description" content="{description}\n">',
        *(f"    {link}" for link in head_links),
        "  </head>",
        '  <body class="widget_frame_base tgme_webpreview emoji_image thin_box_shadow tme_mode no_transitions">',
        _header(outlet, handle, channel_link),
        f'<main class="tgme_main" data-url="/{handle}">',
        '  <div class="tgme_container">',
        '    <section class="tgme_channel_history js-message_history">',
        *([more] if more else []),
        "".join(messages),
        "    </section>",
        "  </div>",
        "</main>",
        "  </body>",
        "</html>",
        "",
    ])


def render_not_found(handle: str) -> str:
    """The t.me/<name> landing page for a name with no public preview (no such channel, or private)."""
    name = escape(_checked_handle(handle))
    return "\n".join([
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta charset="utf-8">',
        f"    <title>Telegram: Contact @{name}</title>",
        '    <meta name="viewport" content="width=device-width, initial-scale=1.0">',
        f'<meta property="og:title" content="Telegram: Contact @{name}">',
        '<meta property="og:image" content="https://telegram.org/img/t_logo.png">',
        '<meta property="og:site_name" content="Telegram">',
        '<meta property="og:description" content="">',
        f'<meta property="al:ios:url" content="tg://resolve?domain={name}">',
        f'<meta property="al:android:url" content="tg://resolve?domain={name}">',
        '<meta name="twitter:card" content="summary">',
        "  </head>",
        '  <body class="no_transition">',
        '    <div class="tgme_page_wrap">',
        '      <div class="tgme_head_wrap">',
        '        <div class="tgme_head">',
        '          <a href="//telegram.org/" class="tgme_head_brand"></a>',
        "        </div>",
        "      </div>",
        '      <div class="tgme_body_wrap">',
        '        <div class="tgme_page">',
        '<div class="tgme_page_action">',
        f'  <a class="tgme_action_button_new shine" href="tg://resolve?domain={name}">Send Message</a>',
        "</div>",
        '<div class="tgme_page_additional">',
        f'  If you have <strong>Telegram</strong>, you can contact <a class="tgme_username_link" '
        f'href="tg://resolve?domain={name}">@{name}</a> right away.',
        "</div>",
        "        </div>",
        "      </div>",
        "    </div>",
        "  </body>",
        "</html>",
        "",
    ])


def format_views(views: int) -> str:
    """Telegram's view counter: 746, 37.2K (one decimal, cut not rounded, "29.0K" kept), 1.2M."""
    if views < 1_000:
        return str(views)
    if views < 1_000_000:
        tenths = views // 100
        return f"{tenths // 10}.{tenths % 10}K"
    tenths = views // 100_000
    return f"{tenths // 10}.{tenths % 10}M"


def format_counter(count: int) -> str:
    """Channel-info counters keep three significant digits: 1, 19.6K, 109K, 1.2M."""
    for unit, size in (("M", 1_000_000), ("K", 1_000)):
        if count >= size:
            value = count / size
            if value >= 100:
                return f"{int(value)}{unit}"
            text = f"{int(value * 10) / 10:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return str(count)


def text_html(text: str) -> str:
    """Post text as Telegram writes it: escaped, URLs, @mentions and #hashtags as links, <br/> lines."""
    out: list[str] = []
    position = 0
    for match in _ENTITY.finditer(text):
        start, end = match.span()
        if url := match.group("url"):
            while url and url[-1] in _URL_TRAILING_PUNCTUATION:
                url = url[:-1]
            end = start + len(url)
            if end <= position:
                continue
        out.append(_escaped_lines(text[position:start]))
        if url:
            out.append(f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(url)}</a>')
        elif mention := match.group("mention"):
            out.append(f'<a href="{TELEGRAM_URL}/{mention}" target="_blank">@{escape(mention)}</a>')
        else:
            tag = match.group("tag")
            out.append(f'<a href="?q={quote("#" + tag)}">#{escape(tag)}</a>')
        position = end
    out.append(_escaped_lines(text[position:]))
    return "".join(out)


def _escaped_lines(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _header(outlet: Outlet, handle: str, channel_link: str) -> str:
    title = escape(outlet.title)
    initials = escape(outlet.title[:2] or handle[:2])
    counters = ""
    header_counter = ""
    if outlet.subscribers is not None:
        noun = "subscriber" if outlet.subscribers == 1 else "subscribers"
        value = format_counter(outlet.subscribers)
        counters = (f'<div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter">'
                    f'<span class="counter_value">{value}</span> <span class="counter_type">{noun}</span>'
                    f'</div></div>')
        header_counter = f'<div class="tgme_header_counter">{value} {noun}</div>'
    return "\n".join([
        '<header class="tgme_header search_collapsed">',
        '  <div class="tgme_container">',
        '    <div class="tgme_header_search">',
        f'      <form class="tgme_header_search_form" action="/s/{handle}">',
        '        <input class="tgme_header_search_form_input js-header_search" placeholder="Search" name="q" '
        'autocomplete="off" value="" />',
        f'        <a href="/s/{handle}" class="tgme_header_search_form_clear"></a>',
        "      </form>",
        "    </div>",
        '    <div class="tgme_header_right_column">',
        '      <section class="tgme_right_column">',
        '        <div class="tgme_channel_info">',
        '          <div class="tgme_channel_info_header">',
        f'            <i class="tgme_page_photo_image bgcolor4" data-content="{initials}"></i>',
        '            <div class="tgme_channel_info_header_title_wrap">',
        f'              <div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>',
        '              <div class="tgme_channel_info_header_labels"></div>',
        "            </div>",
        f'            <div class="tgme_channel_info_header_username"><a href="{escape(channel_link)}">@{handle}</a>'
        "</div>",
        "          </div>",
        f"          {counters}",
        f'          <div class="tgme_channel_info_description">{text_html(outlet.description)}</div>',
        "        </div>",
        "      </section>",
        "    </div>",
        '    <div class="tgme_header_info">',
        f'      <a class="tgme_header_link" href="{escape(channel_link)}">',
        f'        <i class="tgme_page_photo_image bgcolor4" data-content="{initials}"></i>',
        '        <div class="tgme_header_title_wrap">',
        f'          <div class="tgme_header_title"><span dir="auto">{title}</span></div>',
        '          <div class="tgme_header_labels"></div>',
        "        </div>",
        f"        {header_counter}",
        "      </a>",
        "    </div>",
        "  </div>",
        "</header>",
    ])


def _message(outlet: Outlet, handle: str, post: Post, by_id: dict[int, Post], as_of: datetime | None,
             channel_link: str) -> str:
    edited = _is_edited(post, as_of)
    shown_text = (post.edited_text if edited else post.text) or ""
    for link in post.links:
        if link not in shown_text:          # a link the text does not show: Telegram shows it as a line
            shown_text = f"{shown_text}\n{link}" if shown_text else link
    media = list(post.media)
    album = [kind for kind in media if kind in _ALBUM_KINDS]
    if len(album) < 2:
        album = []
    post_url = f"{TELEGRAM_URL}/{handle}/{post.post_id}"

    parts = [_author(outlet, channel_link)]
    if post.forwarded_from:
        parts.append(_forwarded(post.forwarded_from))
    if post.reply_to is not None:
        parts.append(_reply(outlet, handle, post.reply_to, by_id.get(post.reply_to), as_of))
    if album:
        parts.append(_album(handle, post.post_id, album))
    for kind in media:
        if kind in album:
            continue
        parts.append(_media(kind, post_url, post.post_id))
    voters = None
    if post.poll is not None:
        voters = _voters_by(post.poll, post.published_at, as_of)
        parts.append(_poll(post.poll, post_url, voters))
    if shown_text:
        parts.append('<div class="tgme_widget_message_text js-message_text" dir="auto">'
                     f"{text_html(shown_text)}</div>\n")
    parts.append(_footer(post_url, post.published_at, views=post.views, author=post.author, edited=edited,
                         voters=voters))
    view = _data_view(handle, post.post_id, grouped=bool(album), published_at=post.published_at)
    return _wrap(handle, post.post_id, view, channel_link, outlet, "".join(parts), service=False)


def _service_message(outlet: Outlet, handle: str, post_id: int, published_at: datetime, text: str,
                     channel_link: str) -> str:
    body = (_author(outlet, channel_link)
            + f'<div class="tgme_widget_message_text js-message_text" dir="auto">{escape(text)}</div>\n'
            + _footer(f"{TELEGRAM_URL}/{handle}/{post_id}", published_at, views=None, author=None, edited=False))
    view = _data_view(handle, post_id, grouped=False, published_at=published_at)
    return _wrap(handle, post_id, view, channel_link, outlet, body, service=True)


def _wrap(handle: str, post_id: int, view: str, channel_link: str, outlet: Outlet, body: str, *,
          service: bool) -> str:
    kind = " service_message" if service else ""
    initial = escape(outlet.title[:1] or handle[:1])
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap{kind} js-widget_message" '
        f'data-post="{handle}/{post_id}" data-view="{view}">\n'
        f'  <div class="tgme_widget_message_user"><a href="{escape(channel_link)}"><i class="tgme_widget_message_'
        f'user_photo bgcolor4" data-content="{initial}"></i></a></div>\n'
        '  <div class="tgme_widget_message_bubble">\n'
        '    <i class="tgme_widget_message_bubble_tail"></i>\n'
        f"{body}\n"
        "  </div>\n"
        "</div></div>"
    )


def _author(outlet: Outlet, channel_link: str) -> str:
    return (f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
            f'href="{escape(channel_link)}"><span dir="auto">{escape(outlet.title)}</span></a></div>\n')


def _forwarded(forwarded_from: str) -> str:
    name, _, url = forwarded_from.partition("|")
    if url.strip().startswith(("https://", "http://")):
        origin = (f'<a class="tgme_widget_message_forwarded_from_name" href="{escape(url.strip())}">'
                  f'<span dir="auto">{escape(name.strip())}</span></a>')
    else:     # the origin hides its link (a user, or a channel that forbids it)
        origin = (f'<span class="tgme_widget_message_forwarded_from_name"><span dir="auto">'
                  f'{escape(name.strip())}</span></span>')
    return f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;{origin}</div>\n'


def _reply(outlet: Outlet, handle: str, reply_to: int, parent: Post | None, as_of: datetime | None) -> str:
    quoted = ""
    if parent is not None:
        quoted = (parent.edited_text if _is_edited(parent, as_of) else parent.text) or ""
        quoted = " ".join(quoted.split())[:100]
    return (f'<a class="tgme_widget_message_reply" href="{TELEGRAM_URL}/{handle}/{reply_to}">'
            f'<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name" '
            f'dir="auto">{escape(outlet.title)}</span></div>'
            f'<div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">{escape(quoted)}</div>'
            "</a>\n")


def _album(handle: str, post_id: int, kinds: list[str]) -> str:
    items = []
    for offset, kind in enumerate(kinds):
        href = f"{TELEGRAM_URL}/{handle}/{post_id + offset}?single"
        if kind == "photo":
            items.append(
                f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
                f'style="background-image:url(\'{_TRANSPARENT_PIXEL}\')" data-ratio="1" href="{href}">'
                '<div class="grouped_media_helper"><div class="tgme_widget_message_photo grouped_media"></div>'
                "</div></a>")
        else:
            items.append(
                f'<a class="tgme_widget_message_video_player grouped_media_wrap blured js-message_video_player" '
                f'data-ratio="1.775" href="{href}"><i class="tgme_widget_message_video_thumb" '
                f'style="background-image:url(\'{_TRANSPARENT_PIXEL}\')"></i>'
                '<div class="tgme_widget_message_video_wrap grouped_media js-message_video_wrap"></div>'
                '<div class="message_video_play js-message_video_play"></div>'
                f'<time class="message_video_duration js-message_video_duration">{_duration(post_id + offset)}'
                "</time></a>")
    return ('<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" '
            'data-margin-h="2" style="width:453px;"><div class="tgme_widget_message_grouped js-message_grouped">'
            '<div class="tgme_widget_message_grouped_layer js-message_grouped_layer">'
            + "".join(items) + "</div></div></div>\n")


def _media(kind: str, post_url: str, post_id: int) -> str:
    pixel = f"background-image:url('{_TRANSPARENT_PIXEL}')"
    if kind == "photo":
        return (f'<a class="tgme_widget_message_photo_wrap" href="{post_url}" style="width:800px;{pixel}">'
                '<div class="tgme_widget_message_photo" style="padding-top:62.5%"></div></a>\n')
    if kind == "video":
        return (f'<a class="tgme_widget_message_video_player not_supported js-message_video_player" '
                f'href="{post_url}"><i class="tgme_widget_message_video_thumb" style="{pixel}"></i>'
                '<div class="tgme_widget_message_video_wrap" style="width:720px;padding-top:56.25%"></div>'
                '<div class="message_video_play js-message_video_play"></div>'
                f'<time class="message_video_duration js-message_video_duration">{_duration(post_id)}</time>'
                '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
                '<div class="message_media_not_supported_label">Media is too big</div>'
                '<span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span></div></div></a>\n')
    if kind == "round_video":
        return ('<div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player">'
                f'<div class="tgme_widget_message_roundvideo_wrap"><i class="tgme_widget_message_roundvideo_thumb" '
                f'style="{pixel}"></i></div>'
                f'<time class="tgme_widget_message_roundvideo_duration js-message_roundvideo_duration">'
                f"{_duration(post_id)}</time></div>\n")
    if kind == "voice":
        return (f'<a class="tgme_widget_message_voice_player js-message_voice_player" href="{post_url}">'
                '<div class="tgme_widget_message_voice_play accent_bghover"></div>'
                '<div class="tgme_widget_message_voice_wrap">'
                f'<time class="tgme_widget_message_voice_duration js-message_voice_duration">{_duration(post_id)}'
                "</time></div></a>\n")
    if kind == "document":
        return (f'<a class="tgme_widget_message_document_wrap" href="{post_url}">'
                '<div class="tgme_widget_message_document_icon accent_bg"></div>'
                '<div class="tgme_widget_message_document">'
                f'<div class="tgme_widget_message_document_title accent_color" dir="auto">document_{post_id}.pdf</div>'
                '<div class="tgme_widget_message_document_extra" dir="auto">1.2 MB</div></div></a>\n')
    if kind == "sticker":
        return ('<div class="tgme_widget_message_sticker_wrap media_supported_cont">'
                f'<i class="tgme_widget_message_sticker js-sticker_image" style="width:256px;{pixel}"></i></div>\n')
    if kind == "poll":
        raise ValueError(f"post {post_url}: a poll is given as the post's `poll`, not as a media kind")
    if kind == "location":
        return (f'<a class="tgme_widget_message_location_wrap" href="{post_url}">'
                f'<div class="tgme_widget_message_location" style="{pixel}"></div></a>\n')
    raise ValueError(f"post {post_url}: media kind {kind!r} has no Telegram rendering")


def _poll(poll: ScenarioPoll, post_url: str, voters: int) -> str:
    """A poll in the markup of real captures: type line, one option per row with its percentage and bar."""
    kind = f"{'Anonymous' if poll.anonymous else 'Public'} {'Quiz' if poll.quiz else 'Poll'}"
    multiple = " multiple" if poll.multiple_choice else ""
    top = max((percent for _, percent in poll.options), default=0) or 1
    options = []
    for text, percent in poll.options:
        shown = percent if voters else 0
        bar = round(100 * shown / top, 4) if voters else 0
        options.append(
            '<div class="tgme_widget_message_poll_option">'
            f'<div class="tgme_widget_message_poll_option_percent">{shown}%</div>'
            '<div class="tgme_widget_message_poll_option_value">'
            f'<div class="tgme_widget_message_poll_option_text">{escape(text)}</div>'
            f'<div class="tgme_widget_message_poll_option_bar accent_bg" style="width:{bar:g}%"></div>'
            "</div></div>")
    return (f'<div class="tgme_widget_message_poll js-poll{multiple}">'
            f'<div class="tgme_widget_message_poll_question">{escape(poll.question)}</div>'
            f'<div class="tgme_widget_message_poll_type">{kind}</div>'
            f'<a class="tgme_widget_message_poll_options" href="{post_url}">{"".join(options)}</a></div>\n')


def _voters_by(poll: ScenarioPoll, published_at: datetime, as_of: datetime | None) -> int:
    if as_of is None:
        return poll.voters
    hours = (as_of - published_at).total_seconds() / 3600
    return round(poll.voters * min(1.0, max(0.0, hours / POLL_VOTING_HOURS)))


def _footer(post_url: str, published_at: datetime, *, views: int | None, author: str | None,
            edited: bool, voters: int | None = None) -> str:
    moment = published_at.astimezone(timezone.utc)
    view_html = ""
    if voters is not None:
        noun = "voter" if voters == 1 else "voters"
        view_html = (f'<span class="tgme_widget_message_voters">{format_views(voters)}</span>'
                     f'<span class="copyonly"> {noun}</span>')
    if views is not None:
        noun = "view" if views == 1 else "views"
        view_html += (f'<span class="tgme_widget_message_views">{format_views(views)}</span>'
                      f'<span class="copyonly"> {noun}</span>')
    meta = ""
    if author:
        meta += f'<span class="tgme_widget_message_from_author" dir="auto">{escape(author)}</span>,&nbsp;'
    if edited:
        meta += "edited &nbsp;"
    return (
        '<div class="tgme_widget_message_footer compact js-message_footer">\n'
        '  <div class="tgme_widget_message_info short js-message_info">\n'
        f'    {view_html}<span class="tgme_widget_message_meta">{meta}<a class="tgme_widget_message_date" '
        f'href="{post_url}"><time datetime="{moment.isoformat(timespec="seconds")}" class="time">'
        f'{moment:%H:%M}</time></a></span>\n'
        "  </div>\n"
        "</div>"
    )


def _data_view(handle: str, post_id: int, *, grouped: bool, published_at: datetime) -> str:
    # Telegram's view-counter token: base64url JSON naming channel, post ("<id>g" for albums), time, hash.
    payload = {
        "c": -(zlib.crc32(handle.lower().encode()) % 2_000_000_000 + 1_000_000_000),
        "p": f"{post_id}g" if grouped else post_id,
        "t": int(published_at.timestamp()),
        "h": hashlib.sha1(f"{handle}/{post_id}".encode()).hexdigest()[:18],
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_edited(post: Post, as_of: datetime | None) -> bool:
    return (as_of is not None and post.edited_at is not None and post.edited_text is not None
            and post.edited_at <= as_of)


def _duration(seed: int) -> str:
    seconds = 7 + seed % 173
    return f"{seconds // 60}:{seconds % 60:02d}"


def _shows_channel_created(outlet: Outlet, posts: list[Post], as_of: datetime | None) -> bool:
    if outlet.created_at is None or (posts and posts[0].post_id <= 1):
        return False
    return as_of is None or outlet.created_at <= as_of


def _checked_handle(handle: str) -> str:
    if not _HANDLE.match(handle):
        raise ValueError(f"not a Telegram channel name: {handle!r}")
    return handle


def _checked_utc(moment: datetime | None, what: str) -> datetime:
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{what}: {moment!r} is not a timezone-aware datetime")
    return moment
