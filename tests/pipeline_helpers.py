"""Small scenarios and configs for whole-flow tests against the real mirror."""
from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from mirror.scenario_types import Outlet, Post, PricePoint, Scenario, ScenarioMarket

T0 = datetime(2026, 6, 28, 12, 0, tzinfo=timezone.utc)


def telegram_posts(handle: str, n: int, *, start: datetime = T0, first_id: int = 1000, step_min: int = 2,
                   lang_text: str = "خبر رقم") -> list[Post]:
    return [Post(outlet=handle, kind="telegram", post_id=first_id + i,
                 published_at=start + timedelta(minutes=step_min * i), text=f"{lang_text} {first_id + i}",
                 views=1000 + i) for i in range(n)]


def small_scenario(*, channel_posts: int = 45, with_x: bool = True, with_rss: bool = True,
                   with_market: bool = True) -> Scenario:
    outlets = [Outlet("telegram", "alpha_news", "Alpha News", "ar", "state-aligned"),
               Outlet("telegram", "beta_news", "Beta News", "en", "independent")]
    posts = telegram_posts("alpha_news", channel_posts) + telegram_posts("beta_news", 10, first_id=500,
                                                                          lang_text="beta item")
    if with_x:
        outlets.append(Outlet("x", "wirebird", "Wire Bird", "en", "western-wire"))
        posts += [Post("wirebird", "x", 2_000_000_000_000_000_000 + i, T0 + timedelta(minutes=7 * i),
                       f"wire line {i}") for i in range(5)]
    if with_rss:
        outlets.append(Outlet("rss", "worldfeed", "World Feed", "en", "western-wire"))
        posts += [Post("worldfeed", "rss", i + 1, T0 + timedelta(minutes=11 * i), f"feed body {i}",
                       title=f"Feed title {i}", links=[f"https://news.example.org/a/{i + 1}"]) for i in range(4)]
    markets = []
    if with_market:
        markets.append(ScenarioMarket(
            venue="polymarket", market_id="604417", question="US announces new blockade of Iran by July 31?",
            slug="blockade-test", outcomes=["Yes", "No"], end_date=T0 + timedelta(days=30),
            created_at=T0 - timedelta(days=10), token_ids=["111", "222"],
            history=[PricePoint(T0 - timedelta(hours=h), 0.1 + h / 1000) for h in range(48, -1, -1)]))
    return Scenario("small", T0 - timedelta(days=1), T0 + timedelta(days=2), [], outlets, posts, markets)


def write_config(folder: Path, base_url: str, *, x_instances: tuple[str, ...] = ("nitter-a", "nitter-b"),
                 extra_sources: str = "", with_market: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    mirrors = ", ".join(f'"{base_url}/{i}"' for i in x_instances)
    (folder / "sources.yaml").write_text(textwrap.dedent(f"""\
        endpoints:
          telegram: {base_url}/telegram
          x_mirrors: [{mirrors}]
          polymarket_gamma: {base_url}/polymarket-gamma
          polymarket_clob: {base_url}/polymarket-clob
          kalshi: {base_url}/kalshi/trade-api/v2
          manifold: {base_url}/manifold/v0
        sources:
          - {{id: alpha, kind: telegram, handle: alpha_news, name: Alpha News, register: state-aligned, language: ar}}
          - {{id: beta, kind: telegram, handle: beta_news, name: Beta News, register: independent, language: en}}
          - {{id: wirebird, kind: x, handle: wirebird, name: Wire Bird, register: western-wire, language: en}}
          - {{id: worldfeed, kind: rss, url: "{base_url}/rss/worldfeed.xml", name: World Feed, register: western-wire, language: en}}
        """) + extra_sources, encoding="utf-8")
    markets = "    markets:\n      - {venue: polymarket, slug: blockade-test}\n" if with_market else ""
    (folder / "watchlists.yaml").write_text(textwrap.dedent("""\
        watchlists:
          - id: test-list
            title: Test list
            keywords: {en: [blockade]}
        """) + markets + "    report:\n      recipients: [desk@example.org]\n", encoding="utf-8")
    return folder


def query(db: str | Path, sql: str, *params) -> list[tuple]:
    """Rows of a read-only query on a DuckDB file, the connection closed again (a writer may follow)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()
