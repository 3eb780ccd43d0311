"""What a mirror scenario is made of: the outlets, the posts they publish and when, and the markets.

The mirror server renders these into each source's real wire format (t.me/s pages, Nitter RSS,
RSS 2.0 feeds, Polymarket/Kalshi/Manifold JSON), showing only what exists at its "as of" clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Outlet:
    kind: str                       # telegram | x | rss
    handle: str                     # Telegram channel, X account, or feed slug (mirror path /rss/<handle>.xml)
    title: str                      # display name ("Al-Alam Arabic", "Reuters")
    language: str                   # ar, fa, en ...
    register: str                   # state-aligned, western-wire, osint, official, partisan, regional-media ...
    description: str = ""
    subscribers: int | None = None
    created_at: datetime | None = None   # before this, the outlet has nothing (Telegram "Channel created")


@dataclass(slots=True)
class ScenarioPoll:
    """A Telegram poll. Its voters arrive over the first hours after posting (see mirror.telegram_page);
    the percentages are the final ones throughout."""
    question: str
    options: list[tuple[str, int]]  # (text, percent)
    voters: int
    anonymous: bool = True
    multiple_choice: bool = False
    quiz: bool = False


@dataclass(slots=True)
class Post:
    outlet: str                     # Outlet.handle
    kind: str                       # telegram | x | rss
    post_id: int                    # per-outlet, rising with time (Telegram message id, tweet id, feed item number)
    published_at: datetime          # UTC
    text: str
    author: str | None = None       # Telegram signed author / X display name / RSS dc:creator
    views: int | None = None
    title: str | None = None        # RSS items only
    forwarded_from: str | None = None       # Telegram: "Name|https://t.me/<ch>/<id>"
    reply_to: int | None = None             # post_id in the same outlet
    media: list[str] = field(default_factory=list)   # photo, video, voice, document ...
    links: list[str] = field(default_factory=list)
    edited_at: datetime | None = None       # post shows edited_text from this time on
    edited_text: str | None = None
    seed_fact: str | None = None            # which DEMO-FACTS row it carries, for tests; None for background traffic
    poll: ScenarioPoll | None = None        # Telegram only: the post is this poll (it has no text of its own)


@dataclass(slots=True)
class PricePoint:
    t: datetime
    p: float                        # probability of the first outcome ("Yes")


@dataclass(slots=True)
class ScenarioMarket:
    venue: str                      # polymarket | kalshi | manifold
    market_id: str                  # Gamma id / Kalshi ticker / Manifold id
    question: str
    slug: str
    outcomes: list[str]
    end_date: datetime
    created_at: datetime
    history: list[PricePoint]       # the price path; the mirror serves the points up to its clock
    event_id: str | None = None
    volume: float = 0.0
    liquidity: float = 0.0
    resolved: str | None = None     # winning outcome if resolved
    token_ids: list[str] = field(default_factory=list)
    archived: bool = False          # Polymarket: an archived duplicate, rendered with "archived": true


@dataclass(slots=True)
class Scenario:
    name: str
    start: datetime
    end: datetime
    run_times: list[datetime]       # the "as of" instants at which the demo runs the hourly flow
    outlets: list[Outlet]
    posts: list[Post]
    markets: list[ScenarioMarket]

    def outlet(self, handle: str) -> Outlet:
        for o in self.outlets:
            if o.handle == handle:
                return o
        raise KeyError(handle)

    def posts_of(self, handle: str, as_of: datetime) -> list[Post]:
        """Posts of one outlet published at or before `as_of`, oldest first."""
        return sorted((p for p in self.posts if p.outlet == handle and p.published_at <= as_of),
                      key=lambda p: p.post_id)
