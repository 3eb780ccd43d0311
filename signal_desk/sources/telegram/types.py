"""What the parser returns: one `TelegramPost` per message, and a `PageScan` for paging decisions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from signal_desk.items import Item, Poll


@dataclass(slots=True)
class TelegramPost:
    channel: str                        # as the page spells it in data-post
    post_id: int
    url: str                            # https://t.me/<channel>/<id>
    published_at: datetime | None       # UTC, from <time datetime=...>; None only from a single-post page without one
    text: str = ""
    views: int | None = None
    author: str | None = None           # signed author of a channel post
    forwarded_from_name: str | None = None
    forwarded_from_url: str | None = None   # None when the origin hides its link
    reply_to_url: str | None = None
    media_kinds: list[str] = field(default_factory=list)    # one entry per attachment, page order
    outlinks: list[str] = field(default_factory=list)       # absolute hrefs of links in the text
    link_preview_url: str | None = None
    link_preview_title: str | None = None
    edited: bool = False
    is_service: bool = False
    album_id: str | None = None         # the album's first message id; set on grouped media only
    album_post_ids: list[int] = field(default_factory=list)   # ids an album consumes (never posts themselves)
    poll: Poll | None = None

    def to_item(self, source_id: str) -> Item:
        """The post as landing takes it. A poll has no text of its own: its question and options are
        what a reader reads, so they are the item's text (annotation and grouping see them)."""
        if self.published_at is None:
            raise ValueError(f"post {self.url} has no time and cannot land")
        return Item(
            source_id=source_id,
            item_id=str(self.post_id),
            url=self.url,
            published_at=self.published_at,
            text="\n".join(t for t in (self.text, self.poll.text if self.poll else "") if t),
            author=self.author,
            views=self.views,
            forwarded_from_name=self.forwarded_from_name,
            forwarded_from_url=self.forwarded_from_url,
            reply_to_url=self.reply_to_url,
            media_kinds=list(self.media_kinds),
            outlinks=list(self.outlinks),
            link_preview_url=self.link_preview_url,
            link_preview_title=self.link_preview_title,
            edited=self.edited,
            is_service=self.is_service,
            album_id=self.album_id,
            poll=self.poll,
        )


@dataclass(slots=True)
class PageScan:
    post_ids: list[int]                 # complete posts on the page, page order (oldest first)
    before: int | None                  # cursor for the next older page; None at the channel's first post
    is_preview_page: bool               # a t.me/s page (or message fragment), not a t.me landing page


@dataclass(slots=True)
class UnreadablePost:
    """A complete post the page shows (its block has a dated footer) that the parser could not read."""
    post_id: int
    reason: str
    raw: str                            # the post's block as served


@dataclass(slots=True)
class ParsedPage:
    cursor: int | None                  # for the next older page; None at the channel's first post
    posts: list[TelegramPost]           # page order
    unreadable: list[UnreadablePost] = field(default_factory=list)
