"""Synthetic load for the benchmarks, deterministic for a given size.

- `synthetic_scenario(channels)`: a mirror Scenario with N Telegram channels posting ~20 posts an hour
  (texts drawn from the demo scenario's real-language posts), plus the demo's markets; served by
  `python -m bench.synthetic serve --channels N`, with `write_config` writing the matching config folder.
- `HistoryBuilder`: 10^4..10^7 items of history straight into DuckDB with bulk SQL (`range()`, DuckDB's
  generate_series), for the growth and query benchmarks. The most recent watch-list window is real
  pipeline output (the signals stage runs over it once); older history repeats that window back in
  time, epoch by epoch, together with every per-item and per-story table the signals stage keeps
  across runs, so that the database looks as if years of hourly runs had processed it.
"""
from __future__ import annotations

import argparse
import bisect
import random
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from mirror.scenario_types import Outlet, Post, Scenario
from signal_desk.items import Item

MEASURED_CLOCK = datetime(2026, 6, 29, 12, 0, tzinfo=timezone.utc)   # the measured hourly run's "now"
HOUR = timedelta(hours=1)
POSTS_PER_HOUR = (18, 22)
LANGUAGES = ("en", "fa", "ar")
REGISTERS = ("state-aligned", "western-wire", "western-media", "osint", "official", "partisan",
             "regional-media", "independent")
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo"
PHOTO_SHARE, VIDEO_SHARE, MEDIA_ONLY_SHARE, TWO_TEXT_SHARE = 0.10, 0.03, 0.03, 0.5


@lru_cache(maxsize=1)
def text_pool() -> dict[str, list[str]]:
    """Post texts by language, from the demo scenario (its story and its background traffic)."""
    from mirror.scenario import load_scenario
    demo = load_scenario("iran_talks")
    pool: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    for post in demo.posts:
        lang = demo.outlet(post.outlet).language
        if post.text and lang in pool:
            pool[lang].append(post.text)
    for lang, texts in pool.items():
        if not texts:
            raise ValueError(f"demo scenario has no {lang} post texts to draw from")
    return pool


@lru_cache(maxsize=1)
def demo_markets() -> list:
    from mirror.scenario import load_scenario
    return load_scenario("iran_talks").markets


def channel_handle(index: int) -> str:
    return f"bench_ch{index:05d}"


# ---- the mirror scenario --------------------------------------------------------------------------------

class SyntheticScenario(Scenario):
    """A Scenario whose `posts_of` is indexed: the mirror asks it once per page, for 1,000 channels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        by_outlet: dict[str, list[Post]] = {}
        for post in self.posts:
            by_outlet.setdefault(post.outlet, []).append(post)
        self._posts = {h: sorted(ps, key=lambda p: p.post_id) for h, ps in by_outlet.items()}
        self._times = {h: [p.published_at for p in ps] for h, ps in self._posts.items()}

    def posts_of(self, handle: str, as_of: datetime) -> list[Post]:
        posts = self._posts.get(handle, [])
        return posts[:bisect.bisect_right(self._times[handle], as_of)] if posts else []


def synthetic_scenario(channels: int, *, hours: int = 2, end: datetime = MEASURED_CLOCK,
                       seed: str = "bench") -> SyntheticScenario:
    """`channels` Telegram channels, each posting 18-22 posts in each of the `hours` hours up to `end`
    (ids rising with time, with the gaps albums and deletions leave). Same arguments, same scenario."""
    if channels < 1 or hours < 1:
        raise ValueError(f"need at least one channel and one hour, got {channels} channels, {hours} hours")
    pool = text_pool()
    outlets = synthetic_outlets(channels)
    posts = []
    for outlet in outlets:
        rng = random.Random(f"{seed}|{outlet.handle}")
        post_id = rng.randrange(1_000, 90_000)
        for hour in range(hours):
            hour_start = end - (hours - hour) * HOUR
            count = rng.randint(*POSTS_PER_HOUR)
            for second in sorted(rng.sample(range(1, 3601), count)):
                post_id += 1 + (rng.choice((1, 2, 3)) if rng.random() < 0.05 else 0)
                posts.append(_post(outlet, post_id, hour_start + timedelta(seconds=second), pool[outlet.language],
                                   rng))
    posts.sort(key=lambda p: (p.published_at, p.outlet, p.post_id))
    return SyntheticScenario(name=f"bench-{channels}-channels", start=end - hours * HOUR, end=end,
                             run_times=[end - HOUR, end], outlets=outlets, posts=posts, markets=demo_markets())


def _post(outlet: Outlet, post_id: int, at: datetime, texts: list[str], rng: random.Random) -> Post:
    text = rng.choice(texts)
    if rng.random() < TWO_TEXT_SHARE:
        text = f"{text}\n\n{rng.choice(texts)}"
    media: list[str] = []
    roll = rng.random()
    if roll < MEDIA_ONLY_SHARE:
        media, text = ["photo"], ""
    elif roll < MEDIA_ONLY_SHARE + PHOTO_SHARE:
        media = ["photo"]
    elif roll < MEDIA_ONLY_SHARE + PHOTO_SHARE + VIDEO_SHARE:
        media = ["video"]
    views = int((outlet.subscribers or 0) * rng.uniform(0.05, 0.3))
    return Post(outlet=outlet.handle, kind="telegram", post_id=post_id, published_at=at, text=text,
                views=views, media=media)


def write_config(directory: Path, outlets: list[Outlet], mirror_url: str = "${MIRROR_URL}") -> Path:
    """sources.yaml naming every outlet (endpoints under `mirror_url`) and the demo's watch lists."""
    directory.mkdir(parents=True, exist_ok=True)
    base = mirror_url.rstrip("/")
    lines = [
        "# Written by the benchmark: one Telegram source per synthetic channel.",
        "endpoints:",
        f"  telegram: {base}/telegram",
        f'  x_mirrors: ["{base}/nitter-a", "{base}/nitter-b"]',
        f"  polymarket_gamma: {base}/polymarket-gamma",
        f"  polymarket_clob: {base}/polymarket-clob",
        f"  kalshi: {base}/kalshi/trade-api/v2",
        f"  manifold: {base}/manifold/v0",
        "sources:",
    ]
    for o in outlets:
        lines.append(f"  - {{id: {o.handle.lower()}, kind: telegram, handle: {o.handle}, name: \"{o.title}\", "
                     f"register: {o.register}, language: {o.language}}}")
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(DEMO_CONFIG / "watchlists.yaml", directory / "watchlists.yaml")
    return directory


def synthetic_outlets(channels: int, names: dict[int, str] | None = None) -> list[Outlet]:
    """The channels of `synthetic_scenario(channels)` (and of the generated history): channel i writes
    in LANGUAGES[i % 3]; `names` gives some channels a name of their own instead of bench_chNNNNN."""
    names = names or {}
    return [Outlet(kind="telegram", handle=names.get(i, channel_handle(i)), title=f"Bench channel {i}",
                   language=LANGUAGES[i % len(LANGUAGES)], register=REGISTERS[i % len(REGISTERS)],
                   description="synthetic benchmark channel", subscribers=5_000 + (i * 7919) % 495_000)
            for i in range(1, channels + 1)]


# ---- history straight into DuckDB ------------------------------------------------------------------------

FIRST_ID = 50_000_000          # the window's ids; older epochs count down from here
_SKIPPED_TABLES = {"items", "signal_scope", "schema_migrations", "runs", "run_sources"}
# The history's first Persian and first English channel carry the names of two demo outlets, so that the
# documented queries naming them (a Sepah News poll, a Reuters post) find rows in the history as well.
HISTORY_NAMES = {1: "sepah_news", 3: "reuters"}
# Tables kept by time rather than by item or story: each epoch copies the window's rows, shifted in time,
# with these id columns suffixed "~<epoch>" (the first one also tells the window's own rows apart). A
# market's slug is suffixed as its id is: a venue's slug names one market, and copies sharing the
# watched slugs made each watch list follow every copy (556 markets for one slug at 10^7 items).
TIMED_TABLES = {"runs": ("run_id",), "markets": ("market_id", "slug"), "odds_snapshots": ("market_id", "run_id"),
                "market_trades": ("trade_id", "market_id", "run_id"), "quarantine": ("run_id",)}
# A desk's proportions, per hour of history: one hourly run; one price per outcome of each watched
# market; Kalshi trades; about one item in 200 set aside; one Sepah News poll a day, read for six hours.
TRADES_PER_HOUR, QUARANTINE_SHARE, POLL_HOURS = 6, 0.005, 6


def _rebuilt_every_run() -> set[str]:
    try:
        from signal_desk.signals.models import load_models
        return {m.name for m in load_models() if m.materialized == "table" and m.refresh == "full"}
    except Exception:       # no signals models (yet): copy every table
        return set()


@dataclass(slots=True)
class HistoryBuilder:
    """Items of history for `sources` channels at `per_hour` items an hour, ending at `end`.

    `add_window` writes the most recent `window_hours` of items (the signals stage then processes them
    for real); `grow_to` repeats that window further back until the database holds `total` items;
    `next_hour` makes the next hour's new items, for landing as an hourly run lands them.
    """

    con: duckdb.DuckDBPyConnection
    sources: int
    per_hour: int
    window_hours: int
    end: datetime
    names: dict[int, str] = field(default_factory=lambda: dict(HISTORY_NAMES))
    epochs: int = 0
    hours_added: int = 0
    seconds: dict[str, float] = field(default_factory=dict)     # copy time per table, all sizes so far

    @property
    def window_items(self) -> int:
        return self.per_hour * self.window_hours

    def handle(self, index: int) -> str:
        return self.names.get(index, channel_handle(index))

    def _source_id_sql(self, index: str) -> str:
        named = " ".join(f"when {i} then '{h.lower()}'" for i, h in self.names.items())
        fallback = f"'bench_ch' || lpad(cast({index} as varchar), 5, '0')"
        return f"case {index} {named} else {fallback} end" if named else fallback

    def _pool(self) -> dict[str, int]:
        """The text pool as a temp table; returns its size per language."""
        pool = text_pool()
        frame = pd.DataFrame([(lang, i, text) for lang in LANGUAGES for i, text in enumerate(pool[lang])],
                             columns=["lang", "idx", "text"])
        self.con.register("bench_pool_df", frame)
        self.con.execute("create or replace temp table bench_pool as select * from bench_pool_df")
        self.con.unregister("bench_pool_df")
        return {lang: len(texts) for lang, texts in pool.items()}

    def _insert_items(self, first: int, count: int, *, start: datetime, run_id: str) -> None:
        """Items first..first+count-1 of the synthetic stream, evenly spaced from `start`, one hour per
        `per_hour` items; item k goes to source k % sources (its language decides its texts)."""
        sizes = self._pool()
        langs = ", ".join(f"'{lang}'" for lang in LANGUAGES)
        pool_size = "case lang " + " ".join(f"when '{lang}' then {n}" for lang, n in sizes.items()) + " end"
        seen = "t + interval 10 minute"     # an hourly run sees a post within the hour
        self.con.execute(f"""
            insert into items by name
            with g as (
                select k, {self._source_id_sql("k % $sources + 1")} as source_id,
                       cast({FIRST_ID} + k // $sources as varchar) as item_id, hash(k) as h,
                       $start::timestamptz + to_microseconds(cast((k - $first) * (3600e6 / $per_hour) as bigint)) as t,
                       [{langs}][(k % $sources + 1) % {len(LANGUAGES)} + 1] as lang
                from range($first, $first + $count) r(k)
            ),
            drawn as (
                select *, cast(h % {pool_size} as bigint) as first_text,
                       cast((h >> 16) % {pool_size} as bigint) as second_text
                from g
            ),
            texted as (
                select d.*, case when (h >> 8) % 2 = 0 then a.text
                                 else a.text || chr(10) || chr(10) || b.text end as text
                from drawn d
                join bench_pool a on a.lang = d.lang and a.idx = d.first_text
                join bench_pool b on b.lang = d.lang and b.idx = d.second_text
            )
            select source_id, item_id, 'telegram' as kind, 'https://t.me/' || source_id || '/' || item_id as url,
                   t as published_at, text, cast(h % 50000 as bigint) as views,
                   case when (h >> 24) % 10 = 0 then ['photo'] else [] end as media_kinds, [] as outlinks,
                   false as edited, false as is_service, lang, sha256(text || chr(31) || chr(31)) as content_sha256,
                   {seen} as version_seen_at, {seen} as first_seen_at, {seen} as last_seen_at,
                   $run_id as first_run_id, $run_id as last_run_id
            from texted
        """, {"sources": self.sources, "first": first, "count": count, "start": start,
              "per_hour": self.per_hour, "run_id": run_id})

    def add_window(self) -> int:
        """The last `window_hours` of history (items 0..window_items-1), ending at `end`."""
        start = self.end - timedelta(hours=self.window_hours)
        self._insert_items(0, self.window_items, start=start, run_id="bench-history")
        self.con.execute("""
            create or replace table bench_window as
            select source_id, item_id from items where first_run_id = 'bench-history'
        """)
        self._add_desk_rows(start)
        return self.window_items

    def _add_desk_rows(self, start: datetime) -> None:
        """What an hourly desk keeps beside its items over the window: its runs, the watched markets with
        a price per outcome every hour and the Kalshi trades, quarantined rows, and a daily poll."""
        hours = [start + (h + 1) * HOUR for h in range(self.window_hours)]
        run_ids = {at: f"bench-run-{at:%Y%m%dT%H}" for at in hours}
        frames = {
            "runs": pd.DataFrame([{"run_id": run_ids[at], "flow": "hourly", "started_at": at + timedelta(minutes=1),
                                   "finished_at": at + timedelta(minutes=2), "status": "completed", "as_of": at}
                                  for at in hours]),
        }
        markets, odds, trades = [], [], []
        for m in demo_markets():
            markets.append({"venue": m.venue, "market_id": m.market_id, "question": m.question, "slug": m.slug,
                            "outcomes": m.outcomes, "end_date": m.end_date, "status": "open",
                            "outcomes_sum_to_one": True, "first_seen_at": start, "updated_at": hours[-1]})
            path = sorted(m.history, key=lambda point: point.t)
            times = [point.t for point in path]
            for at in hours:
                yes = path[max(bisect.bisect_right(times, at) - 1, 0)].p     # the last price by then, else the first
                for outcome, price in zip(m.outcomes, (yes, 1 - yes)):
                    odds.append({"venue": m.venue, "market_id": m.market_id, "outcome": outcome,
                                 "price_prob": round(price, 4), "venue_ts": at - timedelta(minutes=1),
                                 "volume": 1000.0 + 25 * len(odds), "observed_at": at, "run_id": run_ids[at]})
                if m.venue == "kalshi":
                    rng = random.Random(f"trades|{m.market_id}|{at.isoformat()}")
                    for n in range(TRADES_PER_HOUR):
                        price = min(0.99, max(0.01, round(yes + rng.uniform(-0.02, 0.02), 2)))
                        trades.append({"venue": "kalshi", "trade_id": f"{m.market_id}-{at:%Y%m%d%H}-{n}",
                                       "market_id": m.market_id, "traded_at": at - timedelta(minutes=59 - 10 * n),
                                       "yes_price_prob": price, "no_price_prob": round(1 - price, 2),
                                       "count_contracts": float(rng.randint(1, 50)),
                                       "taker_side": rng.choice(("yes", "no")), "observed_at": at,
                                       "run_id": run_ids[at]})
        frames |= {"markets": pd.DataFrame(markets), "odds_snapshots": pd.DataFrame(odds),
                   "market_trades": pd.DataFrame(trades)}
        for table, frame in frames.items():
            self.con.register("bench_rows_df", frame)
            self.con.execute(f"insert into {table} by name select * from bench_rows_df")
            self.con.unregister("bench_rows_df")
        self.con.execute(f"""
            insert into quarantine by name
            select i.last_seen_at as quarantined_at,
                   'bench-run-' || strftime(date_trunc('hour', i.last_seen_at) + interval 1 hour, '%Y%m%dT%H')
                       as run_id,
                   'parse' as stage, 'raw_fetches' as table_name, i.source_id, i.item_id as record_key,
                   'telegram_post_time' as check_name,
                   'post ' || i.item_id || ': no time on the page; not landed' as reason,
                   left(i.text, 200) as payload
            from items i
            where i.first_run_id = 'bench-history' and hash(i.source_id, i.item_id) % 1000 < {QUARANTINE_SHARE * 1000:g}
        """)
        self.con.execute("""
            create or replace temp table bench_polls as
            select source_id, item_id, published_at from (
                select source_id, item_id, published_at,
                       row_number() over (partition by date_trunc('day', published_at) order by published_at) as nth
                from items where first_run_id = 'bench-history' and source_id = $source)
            where nth = 1
        """, {"source": self.handle(1).lower()})
        self.con.execute("""
            insert into polls by name
            select source_id, item_id, 'آیا ایران در دور بعدی مذاکرات شرکت می‌کند؟' as question,
                   ['Yes', 'No', 'Undecided'] as options, 'anonymous' as kind, 900 + hash(item_id) % 400 as voters,
                   published_at as first_seen_at, published_at + to_hours($hours) as last_seen_at,
                   'bench-history' as first_run_id, 'bench-history' as last_run_id
            from bench_polls
        """, {"hours": POLL_HOURS})
        self.con.execute("""
            insert into poll_results by name
            select p.source_id, p.item_id, o.i as option_index, ['Yes', 'No', 'Undecided'][o.i + 1] as option_text,
                   [40 + h.h, 45 - h.h, 15][o.i + 1] as percent, 150 * (h.h + 1) as voters,
                   date_trunc('hour', p.published_at) + to_hours(h.h + 1) as observed_at,
                   'bench-run-' || strftime(date_trunc('hour', p.published_at) + to_hours(h.h + 1), '%Y%m%dT%H')
                       as run_id
            from bench_polls p cross join range($hours) h(h) cross join range(3) o(i)
            where date_trunc('hour', p.published_at) + to_hours(h.h + 1) <= $end
        """, {"hours": POLL_HOURS, "end": hours[-1]})

    def next_hour(self) -> tuple[datetime, list[tuple[str, Item]]]:
        """The next hour's new items, as an hourly run hands them to landing: (the hour's end, items)."""
        self.hours_added += 1
        hour_end = self.end + self.hours_added * HOUR
        first = self.window_items + (self.hours_added - 1) * self.per_hour
        pool = text_pool()
        items = []
        for k in range(first, first + self.per_hour):
            rng = random.Random(f"hour|{k}")
            index = k % self.sources + 1
            lang = LANGUAGES[index % len(LANGUAGES)]
            handle = self.handle(index)
            item_id = str(FIRST_ID + k // self.sources)
            text = rng.choice(pool[lang])
            if rng.random() < TWO_TEXT_SHARE:
                text = f"{text}\n\n{rng.choice(pool[lang])}"
            at = hour_end - HOUR + timedelta(seconds=(k - first) * 3600 / self.per_hour)
            items.append(("telegram", Item(source_id=handle.lower(), item_id=item_id, url=f"https://t.me/{handle}/{item_id}",
                                           published_at=at, text=text, views=rng.randrange(50_000),
                                           media_kinds=["photo"] if rng.random() < PHOTO_SHARE else [], lang=lang)))
        return hour_end, items

    def grow_to(self, total: int) -> dict[str, int]:
        """Repeat the window further back in time until `items` holds `total` rows; returns the rows
        added per table."""
        have = self.con.execute("select count(*) from items").fetchone()[0]
        missing = total - have
        added: dict[str, int] = {}
        if missing <= 0:
            return added
        per_epoch = self.window_items
        first_epoch = self.epochs + 1
        epochs = -(-missing // per_epoch)
        last_epoch = first_epoch + epochs - 1
        remainder = missing - (epochs - 1) * per_epoch     # rows of the last (oldest) epoch
        self.con.execute("""
            create or replace temp table bench_epoch_keys as
            select w.source_id, w.item_id, e.e,
                   cast(cast(w.item_id as bigint) - e.e * $ids_per_epoch as varchar) as new_item_id
            from (select *, row_number() over (order by source_id, item_id) - 1 as ordinal from bench_window) w
            cross join range($first_epoch, $last_epoch + 1) e(e)
            where e.e < $last_epoch or w.ordinal < $remainder
        """, {"ids_per_epoch": per_epoch // self.sources + 1, "first_epoch": first_epoch,
              "last_epoch": last_epoch, "remainder": remainder})
        shift = f"to_hours(k.e * {self.window_hours})"
        jobs = [("items", lambda: self._replicate("items", shift, url=True))]
        jobs += [(t, lambda t=t: self._replicate(t, shift)) for t in self._item_tables()]
        jobs += [(t, lambda t=t: self._replicate_stories(t, shift))
                 for t in self._story_tables() if t not in {name for name, _ in jobs}]
        jobs += [(t, lambda t=t: self._replicate_timed(t, shift, first_epoch, last_epoch)) for t in TIMED_TABLES]
        for table, job in jobs:
            started = time.perf_counter()
            rows = job()
            self.seconds[table] = self.seconds.get(table, 0.0) + time.perf_counter() - started
            if rows:
                added[table] = rows
        self.epochs = last_epoch
        return added

    def _columns(self, table: str) -> dict[str, str]:
        return dict(self.con.execute("""
            select column_name, data_type from information_schema.columns
            where table_name = ? and table_schema = 'main' order by ordinal_position""", [table]).fetchall())

    def _tables(self) -> list[str]:
        """Tables that keep rows across runs (those the signals stage rebuilds whole each run are not
        history)."""
        skipped = _SKIPPED_TABLES | _rebuilt_every_run()
        return [r[0] for r in self.con.execute("""
            select table_name from information_schema.tables
            where table_schema = 'main' and table_type = 'BASE TABLE' order by table_name""").fetchall()
                if r[0] not in skipped and not r[0].startswith("bench_")]

    def _item_tables(self) -> list[str]:
        return [t for t in self._tables() if {"source_id", "item_id"} <= set(self._columns(t))]

    def _story_tables(self) -> list[str]:
        return [t for t in self._tables() if "story_id" in self._columns(t)]

    def _moved(self, table: str, shift: str, *, url: bool = False, suffixed: tuple[str, ...] = ("run_id",)) -> str:
        """`select * replace (...)` moving a row of the window to epoch k.e."""
        parts = []
        for name, kind in self._columns(table).items():
            if name in suffixed:
                parts.append(f"t.{name} || '~' || cast(k.e as varchar) as {name}")
            elif name == "item_id":
                parts.append("k.new_item_id as item_id")
            elif name == "story_id":
                parts.append("t.story_id || '~' || cast(k.e as varchar) as story_id")
            elif name == "url" and url:
                parts.append("replace(t.url, '/' || t.item_id, '/' || k.new_item_id) as url")
            elif kind.startswith("TIMESTAMP"):
                parts.append(f"t.{name} - {shift} as {name}")
        return f"t.* replace ({', '.join(parts)})" if parts else "t.*"

    def _replicate(self, table: str, shift: str, *, url: bool = False) -> int:
        before = self.con.execute(f"select count(*) from {table}").fetchone()[0]
        self.con.execute(f"""
            insert into {table}
            select {self._moved(table, shift, url=url)}
            from {table} t join bench_epoch_keys k using (source_id, item_id)
        """)
        return self.con.execute(f"select count(*) from {table}").fetchone()[0] - before

    def _replicate_timed(self, table: str, shift: str, first_epoch: int, last_epoch: int) -> int:
        """The window's rows of a table kept by time (`TIMED_TABLES`), once per new epoch."""
        ids = TIMED_TABLES[table]
        before = self.con.execute(f"select count(*) from {table}").fetchone()[0]
        self.con.execute(f"""
            insert into {table}
            select {self._moved(table, shift, suffixed=ids)}
            from {table} t cross join range($first, $last + 1) k(e)
            where not contains(t.{ids[0]}, '~')
        """, {"first": first_epoch, "last": last_epoch})
        return self.con.execute(f"select count(*) from {table}").fetchone()[0] - before

    def _replicate_stories(self, table: str, shift: str) -> int:
        """Rows of a per-story table (a mart) for the window's stories, once per epoch."""
        before = self.con.execute(f"select count(*) from {table}").fetchone()[0]
        self.con.execute(f"""
            insert into {table}
            select {self._moved(table, shift)}
            from {table} t
            join (select distinct s.story_id, k.e from story_items s
                  join bench_epoch_keys k using (source_id, item_id)) k using (story_id)
        """)
        return self.con.execute(f"select count(*) from {table}").fetchone()[0] - before


# ---- the mirror as a process -----------------------------------------------------------------------------

def serve(argv: list[str] | None = None) -> None:
    from mirror.server import MirrorServer
    ap = argparse.ArgumentParser(description="Serve a synthetic scenario on a local mirror.")
    ap.add_argument("--channels", type=int, required=True)
    ap.add_argument("--hours", type=int, default=2)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    scenario = synthetic_scenario(args.channels, hours=args.hours)
    server = MirrorServer(scenario, port=args.port, as_of=scenario.run_times[0])
    print(server.base_url, flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] != ["serve"]:
        raise SystemExit("usage: python -m bench.synthetic serve --channels N [--hours H] [--port P]")
    serve(sys.argv[2:])
