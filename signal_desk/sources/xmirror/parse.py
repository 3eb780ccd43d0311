"""Nitter-style `/<account>/rss` documents -> `Item`s. Pure: bytes in, items out, no network.

Decisions:
- Identity is the original X status: url `https://x.com/<user>/status/<id>` (the instance host
  and Nitter's "#m" dropped), item_id the status id. The same post read through two instances
  is the same item.
- A retweet ("RT by @account: ...", or any item whose status belongs to another user) keeps the
  original author's status URL and id; forwarded_from_name is "@<original author>" and
  forwarded_from_url the original status URL. author is always the writer's "@handle" (dc:creator).
- A reply ("R to @x: ...") gets reply_to_url `https://x.com/<x>`: Nitter's RSS names the
  replied-to account, never the replied-to status.
- Text is the description HTML in plain text (the title, minus Nitter's prefixes, only when there
  is no description). Links Nitter shows shortened ("golang.org/g/golang-a…") are written out as
  their full href, instance links turned back into x.com links; @mentions and #hashtags stay.
- media_kinds has one entry per attached photo, and "video" for a video or GIF, of the tweet
  itself (media of a quoted tweet are not counted).
- lang is None: Nitter labels every channel "en-us".

`parse_fetch` is the source contract's parse (the feed adapter RSS uses, with this reader).
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
import lxml.html
from lxml import etree

from signal_desk.items import Item
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.parsing import SourceParse
from signal_desk.sources.rss.parse import (
    repair_utf8,
    Reject,
    describe_non_feed,
    entry_fields_json,
    feed_time,
    html_fragment,
    html_to_text,
    parse_feed_fetch,
    raw_entry_snippets,
    struct_time_to_utc,
)
from signal_desk.sources.xmirror.constants import (
    ACCOUNT_HANDLE,
    ENTITY_PREFIXES,
    ERROR_PANEL,
    MEDIA_ONLY_TITLES,
    PINNED_TITLE,
    REFUSAL_TITLE_WORDS,
    REPLY_TITLE,
    RETWEET_TITLE,
    STATUS_ID,
    STATUS_PATH,
    URL_LIKE_TEXT,
    X_BASE_URL,
    instance_rss_url,
    status_url,
)
from signal_desk.sources.xmirror.exceptions import MirrorUnavailable

if TYPE_CHECKING:
    from signal_desk.config import Source


def parse_nitter_rss(content: bytes, *, source_id: str, account: str,
                     instance_url: str) -> tuple[list[Item], list[Reject]]:
    """Parse one instance's RSS for one account. Raises MirrorUnavailable when the instance
    answered with anything but that account's feed."""
    feed_url = instance_rss_url(instance_url, account)
    handle = account.strip().removeprefix("@")
    parsed = feedparser.parse(repair_utf8(bytes(content)))
    _check_is_account_feed(content, parsed, handle=handle, source_id=source_id, feed_url=feed_url)

    instance = _Instance(instance_url)
    raw_snippets: list[str] | None = None
    items: list[Item] = []
    rejects: list[Reject] = []
    seen_ids: set[str] = set()
    for index, entry in enumerate(parsed.entries):
        status = _status_of(entry)
        published_at = struct_time_to_utc(feed_time(entry))
        problem = None
        if status is None:
            problem = f"no x status in link {entry.get('link')!r} or guid {entry.get('id')!r}"
        elif published_at is None:
            shown = dict.get(entry, "published")
            problem = f"unparseable pubDate {shown!r}" if shown else "entry has no pubDate"
        elif status[1] in seen_ids:
            problem = f"duplicate status {status[1]} within the feed"
        if problem:
            if raw_snippets is None:
                raw_snippets = raw_entry_snippets(content, len(parsed.entries))
            raw = raw_snippets[index] if raw_snippets else entry_fields_json(entry)
            rejects.append(Reject(locator=f"{feed_url} entry[{index}]", reason=problem, raw=raw))
            continue
        seen_ids.add(status[1])
        items.append(_entry_to_item(entry, status=status, published_at=published_at, handle=handle,
                                    source_id=source_id, instance=instance))
    return items, rejects


def parse_fetch(fetch: SourceFetch, src: Source) -> SourceParse:
    """The feed of the instance that answered -> the account's posts as items; the rest quarantined."""
    return parse_feed_fetch(fetch, src, lambda body, url: parse_nitter_rss(
        body, source_id=src.id, account=src.handle or "", instance_url=url))


class _Instance:
    """Recognises the instance's own links and maps them back to x.com."""

    def __init__(self, instance_url: str):
        self.base = instance_url.strip().rstrip("/") + "/"
        parts = urlsplit(self.base)
        self.netloc = parts.netloc.lower()
        self.path_prefix = parts.path.rstrip("/")

    def absolute(self, href: str) -> str:
        return urljoin(self.base, href.strip())

    def is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc.lower() == self.netloc and parts.path.startswith(self.path_prefix + "/")

    def local_path(self, url: str) -> str:
        return urlsplit(url).path[len(self.path_prefix):] or "/"

    def canonical(self, href: str) -> str:
        """An href as the reader would want it: instance links back on x.com / pbs.twimg.com."""
        url = self.absolute(href)
        if not self.is_own(url):
            return url
        parts = urlsplit(url)
        path = self.local_path(url)
        status = STATUS_PATH.search(path)
        if status:
            return status_url(status['user'], status['id'])
        if path.startswith("/pic/"):
            return _twimg_url(path.removeprefix("/pic/"))
        query = f"?{parts.query}" if parts.query else ""
        return f"{X_BASE_URL}{path}{query}"


def _check_is_account_feed(content: bytes, parsed: Any, *, handle: str, source_id: str,
                           feed_url: str) -> None:
    if not parsed.get("version"):
        reason = describe_non_feed(content, parsed)
        panel = ERROR_PANEL.search(content[:65536] if content else b"")
        if panel:
            message = " ".join(html_to_text(panel.group(1).decode("utf-8", "replace")).split())
            reason = f"{reason}: {message[:160]!r}"
        raise MirrorUnavailable(f"instance answered without RSS ({reason})",
                                source=source_id, locator=feed_url)
    # xcancel answers unknown readers with a valid feed whose only item, without a status link,
    # is titled "RSS reader not yet whitelisted!".
    titles = [(parsed.feed.get("title") or "").strip()]
    titles += [(e.get("title") or "").strip() for e in parsed.entries if _status_of(e) is None]
    refusal = next((t for t in titles if any(w in t.lower() for w in REFUSAL_TITLE_WORDS)), None)
    if refusal:
        raise MirrorUnavailable(f"instance refuses RSS readers: {refusal!r}",
                                source=source_id, locator=feed_url)
    channel_link = (parsed.feed.get("link") or "").strip()
    feed_handle = urlsplit(channel_link).path.rstrip("/").rsplit("/", 1)[-1] if channel_link else ""
    if ACCOUNT_HANDLE.fullmatch(feed_handle or "-") and feed_handle.lower() != handle.lower():
        raise MirrorUnavailable(f"instance served the feed of @{feed_handle}, not @{handle}",
                                source=source_id, locator=feed_url)


def _status_of(entry: Any) -> tuple[str, str] | None:
    """(user, status id) from the item link, else from the guid."""
    for key in ("link", "id"):
        value = (entry.get(key) or "").strip()
        match = STATUS_PATH.search(urlsplit(value).path) if value else None
        if match:
            return match["user"], match["id"]
    guid = (entry.get("id") or "").strip()
    creator = (entry.get("author") or "").strip().removeprefix("@")
    if STATUS_ID.fullmatch(guid) and ACCOUNT_HANDLE.fullmatch(creator):
        return creator, guid
    return None


def _entry_to_item(entry: Any, *, status: tuple[str, str], published_at: datetime, handle: str,
                   source_id: str, instance: _Instance) -> Item:
    user, status_id = status
    url = status_url(user, status_id)
    title = (entry.get("title") or "").strip()
    retweet = RETWEET_TITLE.match(title)
    reply = REPLY_TITLE.match(title)
    is_retweet = bool(retweet) or user.lower() != handle.lower()
    creator = (entry.get("author") or "").strip().removeprefix("@") or user

    description = _description_html(entry)
    if description is not None:
        text, media_kinds, outlinks = _read_description(description, instance)
    else:
        text, media_kinds, outlinks = _title_text(title), [], []
    return Item(
        source_id=source_id,
        item_id=status_id,
        url=url,
        published_at=published_at,
        text=text,
        author=f"@{creator}",
        forwarded_from_name=f"@{user}" if is_retweet else None,
        forwarded_from_url=url if is_retweet else None,
        reply_to_url=f"{X_BASE_URL}/{reply['to']}" if reply else None,
        media_kinds=media_kinds,
        outlinks=outlinks,
    )


def _description_html(entry: Any) -> str | None:
    detail = entry.get("summary_detail")
    if detail and (detail.get("value") or "").strip():
        return detail["value"]
    return None


def _title_text(title: str) -> str:
    for pattern in (RETWEET_TITLE, REPLY_TITLE):
        title = pattern.sub("", title, count=1)
    title = title.removeprefix(PINNED_TITLE).strip()
    return "" if title in MEDIA_ONLY_TITLES else title


def _read_description(markup: str, instance: _Instance) -> tuple[str, list[str], list[str]]:
    def anchor_text(anchor: lxml.html.HtmlElement) -> str | None:
        shown = anchor.text_content().strip()
        href = anchor.get("href")
        if href and _is_shortened_link(shown):
            return instance.canonical(href)
        return None

    text = html_to_text(markup, keep_newlines=True, anchor_text=anchor_text, skip=_is_media_anchor)
    try:
        root = html_fragment(markup)
    except (etree.ParserError, ValueError):
        return text, [], []
    return text, _media_kinds(root), _outlinks(root, instance)


def _is_shortened_link(shown: str) -> bool:
    """Anchor text that is a URL (full or cut short), as opposed to an @mention, #tag or words."""
    if not shown or shown.startswith(ENTITY_PREFIXES):
        return False
    return bool(URL_LIKE_TEXT.fullmatch(shown))


def _is_media_anchor(element: lxml.html.HtmlElement) -> bool:
    """Nitter wraps a video's thumbnail in a link to the status: <a><br>Video<br><img></a>."""
    return element.tag == "a" and element.find(".//img") is not None


def _media_kinds(root: lxml.html.HtmlElement) -> list[str]:
    kinds: list[str] = []
    for element in root.iter("img", "video"):
        if any(ancestor.tag == "blockquote" for ancestor in element.iterancestors()):
            continue
        in_video_link = any(_is_media_anchor(a) for a in element.iterancestors("a"))
        kinds.append("video" if element.tag == "video" or in_video_link else "photo")
    return kinds


def _outlinks(root: lxml.html.HtmlElement, instance: _Instance) -> list[str]:
    links: list[str] = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        shown = anchor.text_content().strip()
        if not href or _is_media_anchor(anchor) or shown.startswith(ENTITY_PREFIXES):
            continue
        absolute = instance.absolute(href)
        if instance.is_own(absolute) and not STATUS_PATH.search(instance.local_path(absolute)):
            continue  # the instance's own pages (profiles, searches) are not outlinks
        link = instance.canonical(href)
        if link not in links:
            links.append(link)
    return links


def _twimg_url(encoded: str) -> str:
    """Nitter's /pic/ paths: "media%2FAbc.jpg", "pbs.twimg.com%2F...", or "enc/<base64>"."""
    if encoded.startswith("enc/"):
        try:
            encoded = base64.urlsafe_b64decode(encoded.removeprefix("enc/") + "==").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return f"{X_BASE_URL}/pic/{encoded}"
    path = unquote(encoded).removeprefix("https://").removeprefix("pbs.twimg.com/")
    return f"https://pbs.twimg.com/{path}"
