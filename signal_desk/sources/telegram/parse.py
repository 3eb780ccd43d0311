"""Parse t.me/s/<channel> web-preview pages (or single message blocks cut from them) into posts.

Pure: HTML in, posts out. `scan` is a regex pre-pass for paging decisions; `parse` builds a tree with
lxml. Both count a message only when its footer `<time datetime=...>` is there, so a page cut short
(truncated transfer) gives the posts that are complete and drops the one that was cut.

libxml2 silently stops building a tree nested too deep, which would drop a post and every post after
it; so the tree is built with `huge_tree` (2048 levels, not 256), built again with surplus formatting
tags flattened (`signal_desk.sources.nesting`) if even that was cut, and `parse_page` checks the posts it read
against those `scan` sees on the page: a post missing from the tree is read again from its own block,
and one that still cannot be read is named.

`parse_fetch` is the source contract's parse: every page of one fetch to the items that land.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml import etree

from signal_desk.items import Item, PayloadError, Poll, PollOption, QuarantineRow
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.nesting import flatten_deep_nesting
from signal_desk.sources.parsing import SourceParse
from signal_desk.sources.telegram import constants as c
from signal_desk.sources.telegram.exceptions import ChannelNotFound, LayoutChanged
from signal_desk.sources.telegram.types import PageScan, ParsedPage, TelegramPost, UnreadablePost

if TYPE_CHECKING:
    from signal_desk.config import Source

_MESSAGE_BLOCKS = etree.XPath("//*[@data-post]")
_PREV_HREF = etree.XPath("//link[@rel='prev']/@href")
_MORE_BEFORE = etree.XPath("//*[@data-before]/@data-before")
_PAGE_CHANNEL_HINTS = etree.XPath(
    "//main/@data-url | //meta[@property='al:ios:url']/@content | //meta[@property='al:android:url']/@content")
_POST_PAGE_HINTS = etree.XPath(
    "//meta[@property='al:ios:url']/@content | //meta[@property='al:android:url']/@content"
    " | //link[@rel='canonical']/@href | //*[@data-telegram-post]/@data-telegram-post")
_META_CONTENT = etree.XPath("//meta[@property=$name or @name=$name]/@content")

_WANTED = frozenset({
    c.TEXT, c.REPLY, c.FORWARDED_NAME, c.FROM_AUTHOR, c.VIEWS, c.DATE, c.META, c.LINK_PREVIEW,
    c.LINK_PREVIEW_TITLE, c.ALBUM, *c.MEDIA_KINDS, c.POLL_QUESTION, c.POLL_TYPE, c.POLL_OPTION,
    c.POLL_OPTION_PERCENT, c.POLL_OPTION_TEXT, c.VOTERS,
})
_WANTED_BY_CLASS: dict[str, tuple[str, ...]] = {}
_BLOCK_TAGS = frozenset({"div", "p", "blockquote", "pre", "li", "ul", "ol", "table", "tr", "h1", "h2", "h3", "h4"})
_COLLAPSIBLE_SPACE = re.compile(r"[ \t\r\n\f]+")
_BEFORE_PARAM = re.compile(r"[?&]before=(\d+)")
_ALBUM_MEMBER = re.compile(r"/(\d+)\?single\b")
_EDITED = re.compile(r"\bedited\b")
_COUNT = re.compile(r"^([0-9][0-9.,\s\u00a0\u202f]*)([KMB]?)$", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_DOMAIN = re.compile(r"domain=([A-Za-z0-9_]+)|^/([A-Za-z0-9_]+)$")
# tg://resolve?domain=<channel>&post=<id>, https://t.me/<channel>/<id>, data-telegram-post="<channel>/<id>"
_POST_REFERENCE = re.compile(r"domain=([A-Za-z0-9_]+)&(?:amp;)?post=(\d+)|(?:^|t\.me/)([A-Za-z0-9_]+)/(\d+)(?:[?#]|$)")
_PERCENT = re.compile(r"^(\d{1,3})\s*%$")

# scan(): the same decisions on raw text. Patterns start with literals so the regex engine can skip ahead.
_SCAN_PATTERNS = {
    "post": r'data-post="([^"/]+)/(\d+)"',
    "dated": r'tgme_widget_message_date\b[^"]*"[^>]*>\s*<time\s[^>]*datetime="[^"]+"[^>]*>',
    "prev": r'<link\s[^>]*rel="prev"[^>]*>',
    "before": r'[?&]before=(\d+)',
    "more_before": r'data-before="(\d+)"',
    "header": r'(?:tgme_channel_info|tgme_channel_history)["\s]',
}
_SCAN_STR = {name: re.compile(pattern) for name, pattern in _SCAN_PATTERNS.items()}
_SCAN_BYTES = {name: re.compile(pattern.encode()) for name, pattern in _SCAN_PATTERNS.items()}


def parse(html: str | bytes, channel: str | None = None) -> tuple[int | None, list[TelegramPost]]:
    """(cursor for the next older page or None, posts in page order). Raises ChannelNotFound for a t.me
    landing page, LayoutChanged for HTML that shows neither the channel header nor any readable post.
    Posts that could not be read at all are left out; `parse_page` names them."""
    page = parse_page(html, channel)
    return page.cursor, page.posts


def parse_page(html: str | bytes, channel: str | None = None) -> ParsedPage:
    """`parse`, plus the complete posts the page shows (per `scan`) that could not be read."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    root = _tree(data, channel)
    blocks = _MESSAGE_BLOCKS(root)
    posts = [post for block in blocks if (post := _parse_block(block, channel)) is not None]
    page = scan(data)
    read = {p.post_id for p in posts}
    unreadable: list[UnreadablePost] = []
    if missing := [post_id for post_id in page.post_ids if post_id not in read]:
        # The tree lost these (nesting beyond what libxml2 builds, or markup it gave up on): read each
        # from its own block, so one hostile post cannot take its neighbours with it.
        for post_id in missing:
            block = _block_markup(data, post_id)
            recovered = _parse_single_block(block, post_id, channel) if block else None
            if recovered is not None:
                posts.append(recovered)
            else:
                unreadable.append(UnreadablePost(
                    post_id, "its markup could not be read (nested too deep or malformed)",
                    (block or b"").decode("utf-8", "replace")))
        order = {post_id: i for i, post_id in enumerate(page.post_ids)}
        posts.sort(key=lambda p: order.get(p.post_id, -1))
    name = channel or (posts[0].channel if posts else _page_channel(root))
    if not blocks and not page.post_ids and _has_class(root, c.SINGLE_POST_PAGE):
        return ParsedPage(None, [_single_post(root, channel)], [])
    if not blocks and not page.post_ids:
        if _has_class(root, c.LANDING_PAGE) and not _has_class(root, c.CHANNEL_HEADER):
            raise ChannelNotFound("t.me served its landing page, not a public /s/ preview "
                                  "(no preview for this name, or no such channel)", channel=name)
        if not _has_class(root, c.CHANNEL_HEADER):
            raise LayoutChanged("probable layout change: neither the channel header nor any message "
                                "block found", channel=name)
    elif not posts and not unreadable:
        raise LayoutChanged(f"probable layout change: {len(blocks)} message block(s) but none with a "
                            "dated footer", channel=name)
    cursor = _older_cursor(root, posts)
    if cursor is None and missing:
        cursor = page.before           # the tree may have lost the "older posts" link with the posts
    if not posts and not unreadable and cursor is not None:
        raise LayoutChanged(f"probable layout change: the page links to older posts (before={cursor}) "
                            "but shows none", channel=name)
    return ParsedPage(cursor, posts, unreadable)


def scan(html: str | bytes) -> PageScan:
    """Fast regex pre-parse for paging; agrees with `parse` on post ids and cursor."""
    patterns = _SCAN_BYTES if isinstance(html, bytes) else _SCAN_STR
    post_ids: list[int] = []
    matches = list(patterns["post"].finditer(html))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(html)
        if patterns["dated"].search(html, match.end(), end):     # its footer made it into the page
            post_ids.append(int(match.group(2)))
    before: int | None = None
    if prev := patterns["prev"].search(html):
        found = patterns["before"].search(prev.group(0))
        before = int(found.group(1)) if found else (min(post_ids) if post_ids else None)
    elif more := patterns["more_before"].search(html):
        before = int(more.group(1))
    is_preview_page = bool(matches) or bool(patterns["header"].search(html))
    return PageScan(post_ids=post_ids, before=before, is_preview_page=is_preview_page)


def parse_count(text: str) -> int:
    """Telegram's abbreviated counts: "746" -> 746, "37.2K" -> 37200, "1.2M" -> 1200000."""
    match = _COUNT.match(text.strip())
    if not match:
        raise ValueError(f"not a count: {text!r}")
    digits = re.sub(r"[\s\u00a0\u202f]", "", match.group(1))
    suffix = match.group(2).upper()
    if suffix:
        digits = digits.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+", digits):
        digits = digits.replace(",", "")
    try:
        return int(Decimal(digits) * _MULTIPLIER[suffix])
    except InvalidOperation:
        raise ValueError(f"not a count: {text!r}") from None


def parse_fetch(fetch: SourceFetch, src: Source) -> SourceParse:
    """A channel's fetched pages -> its posts as items, and what could not be read, quarantined. A post
    that could not be read is added to the fetch's gaps (the one thing this changes besides its result),
    so the landing step keeps that id for later runs."""
    result = SourceParse(fetch.source_id, c.KIND)
    seen: dict[int, Item] = {}
    unreadable: dict[int, tuple[str, str, str]] = {}     # post id -> (page url, reason, the post's markup)
    for page in fetch.ok_pages:
        try:
            parsed = parse_page(page.body, src.handle)
        except ChannelNotFound as e:
            result.status, result.error = "error", f"no public preview: {e}"
            return result
        except LayoutChanged as e:
            result.status, result.error = "error", f"probable layout change at {page.url}: {e}"
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_layout", str(e), fetch.source_id,
                                                page.url, None))
            return result
        except PayloadError as e:
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_page", str(e), fetch.source_id,
                                                page.url, None))
            continue
        for post in parsed.posts:
            if post.published_at is None:
                # A single-post page that shows no message widget: landing it would need a guessed date.
                result.rejects.append(QuarantineRow(
                    "items", "telegram_post_time", f"post {post.post_id}: the single-post page carries no "
                    "time (text from og:description only); not landed rather than dated by guess",
                    fetch.source_id, post.url, post.text))
                continue
            item = post.to_item(fetch.source_id)
            item.lang = item.lang or src.language
            seen[post.post_id] = item
        for bad in parsed.unreadable:
            unreadable.setdefault(bad.post_id, (page.url, bad.reason, bad.raw))
    unreadable = {post_id: why for post_id, why in unreadable.items() if post_id not in seen}
    if unreadable:
        # The posts around it land and move the cursor past it: keep its id as a gap, so every run
        # tries it again (and says so) until it lands.
        for post_id, (url, reason, raw) in sorted(unreadable.items()):
            fetch.gaps_opened.append((post_id + 1, post_id - 1))
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_post", f"post {post_id}: {reason}",
                                                fetch.source_id, f"{url}#{post_id}", raw))
        which = "; ".join(f"post {post_id} on {url}" for post_id, (url, _, _) in sorted(unreadable.items()))
        result.status = "error"
        result.error = (f"{len(unreadable)} post(s) could not be read and did not land (quarantined, kept as "
                        f"gaps for the next run): {which}")
    result.items = list(seen.values())
    return result


def _block_markup(data: bytes, post_id: int) -> bytes | None:
    """The page's markup from the element carrying data-post=".../<post_id>" to the next message block."""
    matches = list(_SCAN_BYTES["post"].finditer(data))
    for i, match in enumerate(matches):
        if int(match.group(2)) == post_id:
            start = data.rfind(b"<", 0, match.start())
            end = data.rfind(b"<", 0, matches[i + 1].start()) if i + 1 < len(matches) else len(data)
            return data[max(start, 0):end]
    return None


def _parse_single_block(block: bytes, post_id: int, channel: str | None) -> TelegramPost | None:
    try:
        root = _tree(block, channel)
        for element in _MESSAGE_BLOCKS(root):
            post = _parse_block(element, channel)
            if post is not None and post.post_id == post_id:
                return post
    except LayoutChanged:
        return None
    return None


def _tree(html: str | bytes, channel: str | None) -> etree._Element:
    # t.me always serves UTF-8; fragments carry no <meta charset>, so never let lxml guess.
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    if not data or data.isspace():
        raise LayoutChanged("empty page", channel=channel)
    root, too_deep = _build(data)
    if too_deep:
        # Deeper than even huge_tree builds: drop the surplus formatting tags (text kept) and build again.
        root, _ = _build(flatten_deep_nesting(data))
    if root is None:
        raise LayoutChanged("empty page", channel=channel)
    return root


def _build(data: bytes) -> tuple[etree._Element | None, bool]:
    """(tree, whether libxml2 stopped at its depth limit and dropped the rest). huge_tree raises the
    limit from 256 levels to 2048, beyond anything a real page nests."""
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, collect_ids=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None, False
    return root, any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)


def _parse_block(block: etree._Element, channel_hint: str | None) -> TelegramPost | None:
    data_post = block.get("data-post") or ""
    channel, _, raw_id = data_post.rpartition("/")
    if not channel or not raw_id.isdigit():
        raise LayoutChanged(f"message block with unreadable data-post {data_post!r}",
                            channel=channel_hint, locator=data_post)
    post_id = int(raw_id)

    found: dict[str, list[etree._Element]] = {}
    media: list[tuple[etree._Element, str]] = []      # document order, one per attachment
    for el in block.iter(etree.Element):
        cls = el.get("class")
        if not cls:
            continue
        tokens = _WANTED_BY_CLASS.get(cls)
        if tokens is None:
            tokens = _wanted_tokens(cls)
        for token in tokens:
            found.setdefault(token, []).append(el)
            if kind := c.MEDIA_KINDS.get(token):
                media.append((el, kind))
    foreign = [el for token in c.FOREIGN_PARTS for el in found.get(token, [])]

    def own(token: str) -> list[etree._Element]:
        elements = found.get(token, [])
        if not foreign:
            return elements
        return [el for el in elements if not _inside(el, foreign, block)]

    published_at = _published_at(own(c.DATE), data_post, channel)
    if published_at is None:
        return None          # cut off before its footer: incomplete

    text_elements = [el for el in own(c.TEXT) if c.REPLY_TEXT not in el.get("class", "").split()]
    text_roots = [el for el in text_elements if not _inside(el, text_elements, block)]
    text = "\n".join(t for t in (_plain_text(el) for el in text_roots) if t)
    base = f"{c.PREVIEW_URL}{channel}"
    outlinks: list[str] = []
    for root in text_roots:
        for link in root.iter("a"):
            href = (link.get("href") or "").strip()
            if not href or href.startswith("?q="):      # hashtag/cashtag searches within the channel
                continue
            href = urljoin(base, href)
            if not href.lower().startswith(("http://", "https://")):
                continue        # javascript:, data:, mailto: ... are not outlinks
            if href not in outlinks:
                outlinks.append(href)

    views = None
    if view_elements := own(c.VIEWS):
        raw_views = _plain_text(view_elements[0])
        try:
            views = parse_count(raw_views)
        except ValueError:
            raise LayoutChanged(f"views {raw_views!r} is not a count", channel=channel,
                                locator=data_post) from None

    forwarded_name = forwarded_url = None
    if forwarded := own(c.FORWARDED_NAME):
        forwarded_name = _plain_text(forwarded[0]) or None
        href = forwarded[0].get("href")
        forwarded_url = urljoin(c.TELEGRAM_URL, href) if href else None

    reply_to_url = None
    if reply := found.get(c.REPLY):
        href = reply[0].get("href")
        reply_to_url = urljoin(c.TELEGRAM_URL, href) if href else None

    link_preview_url = link_preview_title = None
    if preview := found.get(c.LINK_PREVIEW):
        href = preview[0].get("href")
        link_preview_url = urljoin(c.TELEGRAM_URL, href) if href else None
        titles = [el for el in found.get(c.LINK_PREVIEW_TITLE, []) if _inside(el, preview[:1], block)]
        link_preview_title = (_plain_text(titles[0]) or None) if titles else None

    if foreign:
        media = [(el, kind) for el, kind in media if not _inside(el, foreign, block)]
    media_kinds = [kind for _, kind in media]

    album_id = None
    album_post_ids: list[int] = []
    if own(c.ALBUM):
        album_id = str(post_id)
        for el, _ in media:
            if member := _ALBUM_MEMBER.search(el.get("href") or ""):
                album_post_ids.append(int(member.group(1)))
        album_post_ids = album_post_ids or [post_id]

    author_elements = own(c.FROM_AUTHOR)
    author = (_plain_text(author_elements[0]) or None) if author_elements else None

    poll = None
    if polls := [el for el, kind in media if kind == "poll"]:
        poll = _poll(polls[0], own, channel, data_post)

    return TelegramPost(
        channel=channel,
        post_id=post_id,
        url=c.post_url(channel, post_id),
        published_at=published_at,
        text=text,
        views=views,
        author=author,
        forwarded_from_name=forwarded_name,
        forwarded_from_url=forwarded_url,
        reply_to_url=reply_to_url,
        media_kinds=media_kinds,
        outlinks=outlinks,
        link_preview_url=link_preview_url,
        link_preview_title=link_preview_title,
        edited=any(_is_edited_marker(el) for el in own(c.META)),
        is_service=c.SERVICE_MESSAGE in (block.get("class") or "").split(),
        album_id=album_id,
        album_post_ids=album_post_ids,
        poll=poll,
    )


def _poll(element: etree._Element, own, channel: str, data_post: str) -> Poll:
    """The poll of a message: question, options with their percentages, type line, voter count."""
    def inside(token: str) -> list[etree._Element]:
        return [el for el in own(token) if _inside(el, [element], None)]

    questions = inside(c.POLL_QUESTION)
    question = _plain_text(questions[0]) if questions else ""
    types = inside(c.POLL_TYPE)
    type_line = _plain_text(types[0]).lower() if types else ""
    options: list[PollOption] = []
    for option in inside(c.POLL_OPTION):
        texts = [el for el in own(c.POLL_OPTION_TEXT) if _inside(el, [option], None)]
        percents = [el for el in own(c.POLL_OPTION_PERCENT) if _inside(el, [option], None)]
        percent = None
        if percents:
            raw = _plain_text(percents[0])
            if not (found := _PERCENT.match(raw)) or int(found.group(1)) > 100:
                raise LayoutChanged(f"poll option percentage {raw!r} is not a percentage", channel=channel,
                                    locator=data_post)
            percent = int(found.group(1))
        options.append(PollOption(_plain_text(texts[0]) if texts else "", percent))
    if not question and not options:
        raise LayoutChanged("poll with neither a question nor options", channel=channel, locator=data_post)
    voters = None
    if voter_elements := own(c.VOTERS):
        raw = _plain_text(voter_elements[0])
        try:
            voters = parse_count(raw)
        except ValueError:
            raise LayoutChanged(f"poll voters {raw!r} is not a count", channel=channel, locator=data_post) from None
    return Poll(question=question, options=options, anonymous="anonymous" in type_line, quiz="quiz" in type_line,
                multiple_choice=c.POLL_MULTIPLE in (element.get("class") or "").split(), voters=voters)


def _single_post(root: etree._Element, channel_hint: str | None) -> TelegramPost:
    """A t.me/<channel>/<id> page showing no message widget of its own: the post's text is the page's
    og:description. Time and views live only in the widget, so they are left unknown (None)."""
    reference = None
    for hint in _POST_PAGE_HINTS(root):
        if found := _POST_REFERENCE.search(hint.strip()):
            reference = (found.group(1) or found.group(3), int(found.group(2) or found.group(4)))
            break
    if reference is None:
        raise LayoutChanged("single-post page naming no post (no tg://resolve?domain=..&post=.. link)",
                            channel=channel_hint or _page_channel(root))
    channel, post_id = reference
    text = ""
    for name in c.POST_PAGE_TEXT_META:
        if values := _META_CONTENT(root, name=name):
            text = values[0].strip()
            break
    return TelegramPost(channel=channel, post_id=post_id, url=c.post_url(channel, post_id),
                        published_at=None, text=text)


def _wanted_tokens(cls: str) -> tuple[str, ...]:
    # Class strings repeat across messages and pages; caching their split is most of the parse's speed.
    tokens = tuple(token for token in cls.split() if token in _WANTED)
    if len(_WANTED_BY_CLASS) > 4096:
        _WANTED_BY_CLASS.clear()
    _WANTED_BY_CLASS[cls] = tokens
    return tokens


def _published_at(date_links: list[etree._Element], data_post: str, channel: str) -> datetime | None:
    for link in date_links:
        for time_el in link.iter("time"):
            raw = time_el.get("datetime")
            if not raw:
                continue
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                raise LayoutChanged(f"unreadable datetime {raw!r}", channel=channel, locator=data_post) from None
            if value.tzinfo is None:
                raise LayoutChanged(f"datetime {raw!r} has no UTC offset", channel=channel, locator=data_post)
            return value.astimezone(timezone.utc)
    return None


def _is_edited_marker(meta: etree._Element) -> bool:
    # Only the meta span's own words: a signed author may well be called "edited".
    own_words = [meta.text or ""] + [child.tail or "" for child in meta]
    return bool(_EDITED.search(" ".join(own_words)))


def _inside(el: etree._Element, containers: list[etree._Element], stop: etree._Element | None) -> bool:
    parent = el.getparent()
    while parent is not None and parent is not stop:
        if parent in containers:
            return True
        parent = parent.getparent()
    return False


def _plain_text(el: etree._Element) -> str:
    """Text as a reader sees it: <br> and block ends are line breaks, emoji images give their alt,
    links their text, source indentation collapses to single spaces."""
    parts: list[str] = []
    _collect_text(el, parts)
    text = "".join(parts)
    if "\n" in text:
        text = "\n".join(line.strip(" ") for line in text.split("\n"))
    return text.strip()


def _collapse(text: str) -> str:
    if "\n" in text or "  " in text or "\t" in text or "\r" in text or "\f" in text:
        return _COLLAPSIBLE_SPACE.sub(" ", text)
    return text


def _collect_text(el: etree._Element, parts: list[str]) -> None:
    # A walk, not recursion: a post may nest a couple of thousand levels deep (see parse_page).
    walk = etree.iterwalk(el, events=("start", "end"))
    for event, node in walk:
        tag = node.tag
        if node is el:
            if event == "start" and el.text:
                parts.append(_collapse(el.text))
            continue
        if event == "start":
            if not isinstance(tag, str):
                pass
            elif tag == "br":
                parts.append("\n")
                walk.skip_subtree()
            elif tag == "img":
                parts.append(node.get("alt") or "")
                walk.skip_subtree()
            elif tag in ("script", "style", "template"):
                walk.skip_subtree()     # never readable text; hostile markup that slipped into a post stays out
            else:
                if tag in _BLOCK_TAGS:
                    _line_break(parts)
                if node.text:
                    parts.append(_collapse(node.text))
            continue
        if isinstance(tag, str) and tag in _BLOCK_TAGS:
            _line_break(parts)
        if node.tail:
            parts.append(_collapse(node.tail))


def _line_break(parts: list[str]) -> None:
    for part in reversed(parts):
        if part == "\n":
            return              # the line is already ended
        if part.strip(" "):
            parts.append("\n")
            return


def _older_cursor(root: etree._Element, posts: list[TelegramPost]) -> int | None:
    if prev := _PREV_HREF(root):
        found = _BEFORE_PARAM.search(prev[0])
        return int(found.group(1)) if found else (min(p.post_id for p in posts) if posts else None)
    for value in _MORE_BEFORE(root):
        if value.isdigit():
            return int(value)
    return None


def _has_class(root: etree._Element, tokens: tuple[str, ...]) -> bool:
    for token in tokens:
        for cls in root.xpath("//*[contains(@class, $token)]/@class", token=token):
            if token in cls.split():
                return True
    return False


def _page_channel(root: etree._Element) -> str | None:
    for hint in _PAGE_CHANNEL_HINTS(root):
        if found := _DOMAIN.search(hint):
            return found.group(1) or found.group(2)
    return None
