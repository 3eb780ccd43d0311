"""RSS 2.0 / RSS 1.0 / Atom feed documents -> `Item`s. Pure: bytes in, items out, no network.

Decisions (the rest of the pipeline relies on them):
- Identity is the entry's guid (Atom id); without one, its link. item_id is that string, or its
  sha1 hex when longer than MAX_ITEM_ID_LEN characters.
- Item.text is "<title>\\n\\n<body>" in plain text. The body is content:encoded (Atom content)
  when present, else the description/summary; HTML is flattened with paragraph and line breaks
  kept. When the body already starts with the title (or the title is its opening cut short
  with "…"), the title is not repeated.
- published_at is pubDate / published, else updated / dc:date, converted to UTC.
- An entry without identity or without a usable date becomes a `Reject` (locator "<feed url>
  entry[<index>]", the reason, the entry's XML); the others still parse.
- media_kinds lists the distinct kinds seen (enclosures, media:content/thumbnail, <img>/<video>
  in the body), in order of first appearance.

`parse_fetch` is the source contract's parse; `parse_feed_fetch` does it for any one-document feed
(the X mirrors' too).
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
from html.parser import HTMLParser
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import feedparser
import lxml.html
from lxml import etree

from signal_desk.items import Item, PayloadError, QuarantineRow
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.markets_common import Reject  # the shared (locator, reason, raw) reject
from signal_desk.sources.parsing import SourceParse
from signal_desk.sources.rss.constants import (
    BLOCK_TAGS,
    MAX_ITEM_ID_LEN,
    MEDIA_KIND_BY_MIME_PREFIX,
    SKIPPED_TAGS,
    TITLE_BODY_SEPARATOR,
)
from signal_desk.sources.nesting import flatten_deep_nesting
from signal_desk.sources.rss.exceptions import MarkupTooDeep, NotAFeed

if TYPE_CHECKING:
    from signal_desk.config import Source

# How a complete feed document ends; one that ends otherwise was cut off in transfer.
_DOCUMENT_ENDS = (b"</rss>", b"</feed>", b"</rdf:RDF>")

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PARAGRAPH_BREAK = "\n\n"
_BR_THEN_NEWLINE = re.compile(r"(<br\s*/?>)[ \t]*\r?\n", re.IGNORECASE)
_ANY_WHITESPACE = re.compile(r"\s+")
_INLINE_WHITESPACE = re.compile(r"[^\S\n]+")
_SPACES_AROUND_NEWLINE = re.compile(r"[^\S\n]*\n[^\S\n]*")
_EXTRA_NEWLINES = re.compile(r"\n{3,}")
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


def repair_utf8(content: bytes) -> bytes:
    """A UTF-8 feed with one invalid byte sequence would make feedparser re-read the whole document
    as windows-1252 (every non-ASCII post turned to mojibake); replace just the bad sequence instead."""
    m = _DECLARED_ENCODING.match(content[:200])
    declared = (m.group(1).decode().lower().replace("_", "-") if m else "utf-8")
    if declared not in ("utf-8", "utf8"):
        return content
    try:
        content.decode("utf-8")
        return content
    except UnicodeDecodeError:
        return content.decode("utf-8", errors="replace").encode("utf-8")


def parse_feed(content: bytes, *, source_id: str, feed_url: str) -> tuple[list[Item], list[Reject]]:
    """Parse one fetched feed document. Raises NotAFeed when it is not RSS/Atom at all."""
    parsed = feedparser.parse(repair_utf8(bytes(content)))  # bytes, so feedparser never treats it as a URL or path
    if not parsed.get("version"):
        raise NotAFeed(f"not an RSS/Atom feed: {describe_non_feed(content, parsed)}",
                       source=source_id, locator=feed_url)
    language = (parsed.feed.get("language") or "").strip() or None
    raw_snippets: list[str] | None = None
    items: list[Item] = []
    rejects: list[Reject] = []
    seen_ids: set[str] = set()

    for index, entry in enumerate(parsed.entries):
        problem = _entry_problem(entry)
        item_id = None if problem else _item_id(_identity(entry))
        if item_id is not None and item_id in seen_ids:
            problem = f"duplicate guid {item_id!r} within the feed"
        if problem:
            if raw_snippets is None:
                raw_snippets = raw_entry_snippets(content, len(parsed.entries))
            raw = raw_snippets[index] if raw_snippets else entry_fields_json(entry)
            rejects.append(Reject(locator=f"{feed_url} entry[{index}]", reason=problem, raw=raw))
            continue
        seen_ids.add(item_id)
        items.append(_entry_to_item(entry, item_id=item_id, source_id=source_id,
                                    feed_url=feed_url, language=language))
    return items, rejects


def parse_fetch(fetch: SourceFetch, src: Source) -> SourceParse:
    """A fetched feed -> its entries as items; entries that do not fit are quarantined."""
    return parse_feed_fetch(fetch, src, lambda body, url: parse_feed(body, source_id=src.id, feed_url=url))


def parse_feed_fetch(fetch: SourceFetch, src: Source,
                     read: Callable[[bytes, str], tuple[list[Item], list[Reject]]]) -> SourceParse:
    """The last document a feed fetch got, read with `read(body, url)`: items (in the source's language
    unless the feed names one), rejects quarantined, and an error for a document that ends early."""
    result = SourceParse(fetch.source_id, fetch.kind)
    for page in fetch.ok_pages[-1:]:
        try:
            items, rejects = read(page.body, page.url)
        except PayloadError as e:
            result.status, result.error = "error", str(e)
            result.rejects.append(QuarantineRow("raw_fetches", f"{fetch.kind}_payload", str(e), src.id, page.url))
            return result
        for it in items:
            it.lang = it.lang or src.language
        result.items = items
        if not page.body.rstrip().endswith(_DOCUMENT_ENDS):
            # Feeds have no cursor, so the entries that did parse can land; the rest come next run.
            result.status, result.error = "error", f"{page.url}: truncated feed (the document ends early)"
        result.rejects = [QuarantineRow("items", f"{fetch.kind}_entry", r.reason, src.id, r.locator, r.raw)
                          for r in rejects]
    return result


def html_to_text(
    markup: str,
    *,
    keep_newlines: bool = False,
    anchor_text: Callable[[lxml.html.HtmlElement], str | None] | None = None,
    skip: Callable[[lxml.html.HtmlElement], bool] | None = None,
) -> str:
    """Flatten an HTML fragment to plain text: block elements end paragraphs, <br> ends a line.

    keep_newlines: raw newlines in text are line breaks (Nitter writes tweets that way); a newline
    right after <br> is the same break, not a second one.
    anchor_text: may return the text to show for an <a> instead of its content (None keeps it).
    skip: elements for which it returns True are left out with their content.
    """
    if not markup or not markup.strip():
        return ""
    if keep_newlines:
        markup = _BR_THEN_NEWLINE.sub(r"\1", markup)
    squeeze = _INLINE_WHITESPACE if keep_newlines else _ANY_WHITESPACE
    try:
        root = html_fragment(markup)
    except MarkupTooDeep:
        return _text_without_tree(markup, squeeze)
    except (etree.ParserError, ValueError):
        return _tidy(_ANY_WHITESPACE.sub(" ", markup))
    parts: list[str] = []
    _flatten(root, parts, squeeze, anchor_text, skip)
    return _tidy("".join(parts))


def html_fragment(markup: str) -> lxml.html.HtmlElement:
    """An HTML fragment as a tree under one <div>. lxml stops at 256 levels and silently drops the rest:
    built with huge_tree (2048 levels), then, if that was cut too, again with surplus formatting tags
    flattened; a tree still cut short raises MarkupTooDeep."""
    root, cut = _fragment(markup)
    if cut and (flattened := flatten_deep_nesting(markup)) is not markup:
        root, cut = _fragment(flattened)
    if cut:
        raise MarkupTooDeep("markup nested too deep to build a tree")
    return root


def _fragment(markup: str) -> tuple[lxml.html.HtmlElement, bool]:
    """(tree, whether libxml2 stopped at its depth limit and dropped the rest)"""
    parser = lxml.html.HTMLParser(huge_tree=True)
    root = lxml.html.fragment_fromstring(markup, create_parent="div", parser=parser)
    return root, any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)


class _TextOnly(HTMLParser):
    """Text of markup too deep for a tree: the standard library's tokenizer keeps no stack."""

    def __init__(self, squeeze: re.Pattern) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._squeeze = squeeze
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in BLOCK_TAGS:
            self.parts.append(_PARAGRAPH_BREAK)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append(_PARAGRAPH_BREAK)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(self._squeeze.sub(" ", data))


def _text_without_tree(markup: str, squeeze: re.Pattern) -> str:
    reader = _TextOnly(squeeze)
    reader.feed(markup)
    reader.close()
    return _tidy("".join(reader.parts))


def describe_non_feed(content: bytes, parsed: Any | None = None) -> str:
    """A short human description of a document that did not parse as a feed."""
    if not content or not content.strip():
        return "empty document"
    head = content[:65536]
    title = _HTML_TITLE.search(head)
    if title:
        text = _ANY_WHITESPACE.sub(" ", title.group(1).decode("utf-8", "replace")).strip()
        return f"HTML page titled {text[:120]!r}"
    if b"<html" in head.lower():
        return "HTML page"
    snippet = _ANY_WHITESPACE.sub(" ", head[:200].decode("utf-8", "replace")).strip()[:80]
    exc = parsed.get("bozo_exception") if parsed is not None else None
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return f"no rss/feed root element{why}; starts with {snippet!r}"


def raw_entry_snippets(content: bytes, expected: int) -> list[str] | None:
    """The XML text of each <item>/<entry>, in document order, or None if they can't be matched up."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError:
        return None
    if root is None:
        return None
    nodes = [el for el in root.iter()
             if isinstance(el.tag, str) and etree.QName(el).localname in ("item", "entry")]
    if len(nodes) != expected:
        return None
    return [etree.tostring(node, encoding="unicode", with_tail=False) for node in nodes]


def struct_time_to_utc(value: Any) -> datetime | None:
    """feedparser's *_parsed values are UTC struct_times."""
    if not value:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)


def _entry_problem(entry: Any) -> str | None:
    if _identity(entry) is None:
        return "entry has neither guid/id nor link"
    if _published_at(entry) is None:
        shown = dict.get(entry, "published") or dict.get(entry, "updated")
        return f"unparseable date {shown!r}" if shown else "entry has no pubDate/published/updated date"
    return None


def _entry_to_item(entry: Any, *, item_id: str, source_id: str, feed_url: str,
                   language: str | None) -> Item:
    identity = _identity(entry)
    # feedparser copies an Atom id into `link` when there is none; only a web address is a link.
    link = _web_address(entry.get("link")) or _web_address(identity)
    url = link or feed_url
    body_detail = _body_detail(entry)
    return Item(
        source_id=source_id,
        item_id=item_id,
        url=url,
        published_at=_published_at(entry),
        text=_join_title_body(_title(entry), _detail_text(body_detail)),
        author=_author(entry),
        media_kinds=_media_kinds(entry, body_detail),
        outlinks=[link] if link else [],
        lang=language,
    )


def _web_address(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value.startswith(("http://", "https://")) else None


def _identity(entry: Any) -> str | None:
    for key in ("id", "link"):
        value = (entry.get(key) or "").strip()
        if value:
            return value
    return None


def _item_id(identity: str) -> str:
    if len(identity) <= MAX_ITEM_ID_LEN:
        return identity
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()


def _published_at(entry: Any) -> datetime | None:
    return struct_time_to_utc(feed_time(entry))


def feed_time(entry: Any) -> Any:
    """published, else updated, as feedparser parsed it (read without feedparser's deprecated
    updated->published key fallback)."""
    return dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")


def _title(entry: Any) -> str:
    detail = entry.get("title_detail")
    text = _detail_text(detail) if detail else (entry.get("title") or "")
    return _ANY_WHITESPACE.sub(" ", text).strip()


def _body_detail(entry: Any) -> dict | None:
    contents = [c for c in entry.get("content") or [] if (c.get("value") or "").strip()]
    for content in contents:
        if content.get("type") in _HTML_TYPES:
            return content
    if contents:
        return contents[0]
    summary = entry.get("summary_detail")
    return summary if summary and (summary.get("value") or "").strip() else None


def _detail_text(detail: dict | None) -> str:
    if not detail:
        return ""
    value = detail.get("value") or ""
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(value)
    return _tidy(value.replace("\r\n", "\n"))


def _join_title_body(title: str, body: str) -> str:
    if not body:
        return title
    if not title or body.startswith(title) or _is_cut_from(title, body):
        return body
    return f"{title}{TITLE_BODY_SEPARATOR}{body}"


def _is_cut_from(title: str, body: str) -> bool:
    """A title that is the body's opening cut short ("Iran will not attend the…")."""
    for ellipsis in ("…", "..."):
        if title.endswith(ellipsis):
            stem = title[: -len(ellipsis)].rstrip()
            return bool(stem) and body.startswith(stem)
    return False


def _author(entry: Any) -> str | None:
    detail = entry.get("author_detail") or {}
    name = (detail.get("name") or entry.get("author") or "").strip()
    return name or None


def _media_kinds(entry: Any, body_detail: dict | None) -> list[str]:
    kinds: list[str] = []

    def add(kind: str | None) -> None:
        if kind and kind not in kinds:
            kinds.append(kind)

    for enclosure in entry.get("enclosures") or []:
        add(_kind_from_mime(enclosure.get("type")))
    for media in entry.get("media_content") or []:
        add(_kind_from_mime(media.get("type")) or {"image": "photo", "video": "video",
                                                    "audio": "audio"}.get(media.get("medium", "")))
    if entry.get("media_thumbnail"):
        add("photo")
    if body_detail and body_detail.get("type") in _HTML_TYPES:
        body = body_detail.get("value") or ""
        if re.search(r"<img\b", body, re.IGNORECASE):
            add("photo")
        if re.search(r"<video\b", body, re.IGNORECASE):
            add("video")
    return kinds


def _kind_from_mime(mime: str | None) -> str | None:
    for prefix, kind in MEDIA_KIND_BY_MIME_PREFIX.items():
        if (mime or "").lower().startswith(prefix):
            return kind
    return None


def entry_fields_json(entry: Any) -> str:
    """The identifying fields of an entry, for quarantine when its XML cannot be cut out."""
    fields = {key: dict.get(entry, key) for key in ("id", "link", "title", "published", "updated")}
    return json.dumps(fields, ensure_ascii=False)


def _flatten(root: Any, parts: list[str], squeeze: re.Pattern,
             anchor_text: Callable | None, skip: Callable | None) -> None:
    # A walk, not recursion: an entry's markup may nest a couple of thousand levels deep.
    walk = etree.iterwalk(root, events=("start", "end"))
    left_out = False                     # the element just started is left out: its end adds only its tail
    for event, element in walk:
        tag = element.tag if isinstance(element.tag, str) else None
        if event == "start":
            if tag is None or tag in SKIPPED_TAGS or (skip is not None and skip(element)):
                left_out = True
                walk.skip_subtree()
            elif tag == "br":
                parts.append("\n")
                left_out = True
                walk.skip_subtree()
            else:
                if tag in BLOCK_TAGS:
                    parts.append(_PARAGRAPH_BREAK)
                replacement = anchor_text(element) if anchor_text is not None and tag == "a" else None
                if replacement is not None:
                    parts.append(replacement)
                    walk.skip_subtree()
                elif element.text:
                    parts.append(squeeze.sub(" ", element.text))
            continue
        if left_out:
            left_out = False             # skip_subtree: this end event belongs to the element left out
        elif tag in BLOCK_TAGS:
            parts.append(_PARAGRAPH_BREAK)
        if element.tail and element is not root:
            parts.append(squeeze.sub(" ", element.tail))


def _tidy(text: str) -> str:
    text = _SPACES_AROUND_NEWLINE.sub("\n", text)
    text = _EXTRA_NEWLINES.sub("\n\n", text)
    return text.strip()
