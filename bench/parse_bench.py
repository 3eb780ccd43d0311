"""Parsing speed on the real t.me/s pages: this project's parser, minet's and snscrape's on the same
bytes, the lxml tree build alone as the floor, and a check that every parser found the same posts.

Rivals are called at their page-parsing functions, not their scrapers, so no network is involved:
minet `minet.telegram.scraper.scrape_channel_messages(html)` and snscrape
`TelegramChannelScraper._soup_to_items(BeautifulSoup(html, "lxml"), url)` (what its `get_items` runs
per page). Each is given what its own scraper has in hand: minet and snscrape the decoded text, this
parser the raw bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from lxml import etree

from bench.measure import (INFO, MET, MISSED, UNAVAILABLE, Row, interleaved_calls, judged, load_average,
                           median)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "telegram"
# The full preview pages among the captured samples (the rest are single-message fragments and
# landing pages, which the rivals do not read).
REAL_PAGES = ("tme_s_topwar_official_ru_12posts_any2feed.html", "tme_s_feedjam_en_7posts_service.html")
REFERENCE_PAGE = REAL_PAGES[0]     # the 12-post page the targets were first measured on
SPEEDUP_TARGET = 5.0
OURS, MINET, SNSCRAPE, LXML = "signal-desk", "minet", "snscrape", "lxml tree only"


@dataclass(frozen=True, slots=True)
class FoundPost:
    post_id: int
    published_at: datetime
    text: str                       # whitespace removed: parsers differ in line breaks, not in words
    is_service: bool


@dataclass(slots=True)
class Page:
    name: str
    channel: str
    data: bytes

    @property
    def html(self) -> str:
        return self.data.decode("utf-8")

    @property
    def url(self) -> str:
        return f"https://t.me/s/{self.channel}"


def load_pages(folder: Path = FIXTURES) -> list[Page]:
    from signal_desk.sources.telegram.parse import parse
    pages = []
    for name in REAL_PAGES:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: real Telegram page missing (the parse benchmark reads it)")
        data = path.read_bytes()
        _, posts = parse(data)
        if not posts:
            raise ValueError(f"{path}: no posts found; not a t.me/s page")
        pages.append(Page(name, posts[0].channel, data))
    return pages


def _squeeze(text: str | None) -> str:
    return "".join((text or "").split())


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


# ---- the parsers, each: page -> posts found ----------------------------------------------------------

def ours(page: Page) -> list[FoundPost]:
    from signal_desk.sources.telegram.parse import parse
    _, posts = parse(page.data)
    return [FoundPost(p.post_id, p.published_at, _squeeze(p.text), p.is_service) for p in posts]


def minet_parser() -> Callable[[Page], list[FoundPost]]:
    from minet.telegram.scraper import scrape_channel_messages

    def run(page: Page) -> list[FoundPost]:
        _, messages = scrape_channel_messages(page.html)
        return [FoundPost(int(m.link_to_message.rstrip("/").rsplit("/", 1)[1]),
                          _utc(datetime.fromisoformat(m.datetime)), _squeeze(m.text), False)
                for m in messages]
    return run


def snscrape_parser() -> Callable[[Page], list[FoundPost]]:
    import bs4
    from snscrape.modules.telegram import TelegramChannelScraper

    def run(page: Page) -> list[FoundPost]:
        scraper = TelegramChannelScraper(page.channel)
        soup = bs4.BeautifulSoup(page.html, "lxml")
        return [FoundPost(int(p.url.rsplit("/", 1)[1]), _utc(p.date), _squeeze(p.content), False)
                for p in scraper._soup_to_items(soup, page.url)]
    return run


def lxml_tree(page: Page) -> object:
    # The same tree build the project's parser starts with.
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, collect_ids=False)
    return etree.fromstring(page.data, parser)


def rivals() -> tuple[dict[str, Callable[[Page], list[FoundPost]]], dict[str, str]]:
    """The comparison parsers that import, and why the others do not."""
    found, missing = {}, {}
    for name, factory in ((MINET, minet_parser), (SNSCRAPE, snscrape_parser)):
        try:
            found[name] = factory()
        except Exception as e:      # an import error or an API that moved: report it, keep benchmarking
            missing[name] = f"{type(e).__name__}: {e}"
    return found, missing


# ---- agreement -------------------------------------------------------------------------------------------

def agreement(pages: list[Page], parsers: dict[str, Callable[[Page], list[FoundPost]]]) -> dict:
    """Per page and parser: the posts found; and whether all parsers found the same posts (ids and
    dates of every non-service post) and the same words in them."""
    report: dict = {"pages": {}, "same_posts": True, "same_text_posts": 0, "compared_posts": 0, "differences": [],
                    "text_differs": []}
    for page in pages:
        found = {name: fn(page) for name, fn in parsers.items()}
        mine = {p.post_id: p for p in found[OURS] if not p.is_service}
        services = sorted(p.post_id for p in found[OURS] if p.is_service)
        report["pages"][page.name] = {
            name: {"posts": len(posts), "ids": [p.post_id for p in posts]} for name, posts in found.items()}
        report["compared_posts"] += len(mine)
        same_text = set(mine)
        for name, posts in found.items():
            if name == OURS:
                continue
            theirs = {p.post_id: p for p in posts if p.post_id not in services}
            extra_services = sorted(set(p.post_id for p in posts) & set(services))
            if extra_services:
                report["differences"].append(f"{page.name}: {name} also returns the service message(s) "
                                             f"{extra_services} (this parser flags them is_service)")
            elif services:
                report["differences"].append(f"{page.name}: {name} skips the service message(s) {services}")
            if set(theirs) != set(mine):
                report["same_posts"] = False
                report["differences"].append(
                    f"{page.name}: {name} found ids {sorted(set(theirs) - set(mine))} that this parser did not, "
                    f"and missed {sorted(set(mine) - set(theirs))}")
            for pid in set(theirs) & set(mine):
                if theirs[pid].published_at != mine[pid].published_at:
                    report["same_posts"] = False
                    report["differences"].append(f"{page.name}: post {pid}: {name} reads the date as "
                                                 f"{theirs[pid].published_at.isoformat()}")
                if theirs[pid].text != mine[pid].text:
                    same_text.discard(pid)
                    report["text_differs"].append(f"{name} on {page.channel}/{pid}")
            same_text &= set(theirs)
        report["same_text_posts"] += len(same_text)
    return report


# ---- the benchmark ----------------------------------------------------------------------------------------

def run(*, quick: bool, command: str) -> tuple[list[Row], dict]:
    pages = load_pages()
    found_rivals, missing = rivals()
    parsers: dict[str, Callable[[Page], object]] = {OURS: ours, **found_rivals}
    check = agreement(pages, {OURS: ours, **found_rivals})
    timed = {**parsers, LXML: lxml_tree}
    calls = {(name, page.name): (lambda fn=fn, page=page: fn(page)) for name, fn in timed.items() for page in pages}
    load_before = load_average()
    measured = interleaved_calls(calls, min_seconds=(0.2 if quick else 2.0) * len(calls))
    load_after = load_average()
    cpu = {name: {page.name: median(measured[(name, page.name)].cpu_s) for page in pages} for name in timed}
    wall = {name: {page.name: median(measured[(name, page.name)].wall_s) for page in pages} for name in timed}
    rounds = len(next(iter(measured.values())).cpu_s)
    load_note = f"load average {load_before} before, {load_after} after"

    content_posts = check["compared_posts"]
    rows: list[Row] = []

    def row(name: str, value: float | None, unit: str, **kw) -> None:
        rows.append(Row("parse", name, value, unit, command=command, **kw))

    rates = {}
    for name in (*parsers, LXML):
        seconds = sum(cpu[name].values())
        rates[name] = content_posts / seconds
        per_page = cpu[name][REFERENCE_PAGE] * 1000
        wall_note = f"wall {wall[name][REFERENCE_PAGE] * 1000:.2f} ms"
        if name == LXML:
            row("lxml alone, tree of the 12-post page, CPU (the floor)", per_page, "ms",
                note=f"{wall_note}; {len(pages) / seconds:,.0f} pages/s of CPU over the real pages")
            continue
        row(f"{name}: real pages per CPU-second", len(pages) / seconds, "pages/s")
        row(f"{name}: posts per CPU-second", rates[name], "posts/s",
            note=f"{content_posts} non-service posts on {len(pages)} real pages")
        row(f"{name}: CPU ms for the 12-post page", per_page, "ms", note=wall_note)
    for name, why in missing.items():
        row(f"{name}: posts per CPU-second", None, "posts/s", status=UNAVAILABLE, note=why)

    if found_rivals:
        fastest = max(found_rivals, key=lambda n: rates[n])
        speedup = rates[OURS] / rates[fastest]
        wall_speedup = sum(wall[fastest].values()) / sum(wall[OURS].values())
        row(f"signal-desk ÷ {fastest} (the faster rival), CPU time", speedup, "×",
            target=f"≥ {SPEEDUP_TARGET:g}×", status=judged(speedup >= SPEEDUP_TARGET),
            note=f"interleaved call by call over {rounds} rounds; {load_note}")
        row(f"signal-desk ÷ {fastest}, wall time (follows the load; not judged)", wall_speedup, "×",
            note=load_note)
        row("same posts found by every parser", content_posts if check["same_posts"] else None, "posts",
            target="all equal", status=MET if check["same_posts"] else MISSED,
            note="; ".join(check["differences"]) or "identical ids and dates")
        row("same words in every parser's text", check["same_text_posts"], "posts",
            note=f"of {content_posts}, whitespace ignored; differs: "
                 f"{', '.join(sorted(check['text_differs'])) or 'none'}")
    else:
        row("signal-desk ÷ the faster rival, CPU time", None, "×", target=f"≥ {SPEEDUP_TARGET:g}×",
            status=UNAVAILABLE, note="neither minet nor snscrape could be imported")
    lxml_share = cpu[LXML][REFERENCE_PAGE] / cpu[OURS][REFERENCE_PAGE]
    row("share of this parser's CPU time that is lxml's tree build", 100 * lxml_share, "%", status=INFO)

    details = {"pages": [p.name for p in pages], "cpu_seconds_per_page": cpu, "wall_seconds_per_page": wall,
               "agreement": check, "rivals_missing": missing, "rounds": rounds,
               "load_average_before_after": [load_before, load_after],
               "timing": "interleaved: every parser and page once a round, in rotating order; "
                         "medians of per-call thread CPU time and wall time"}
    return rows, details
