"""End dates the venues send that cannot be the market's own are flagged: one before the date the question
names (a later meeting's market carrying its event's end date) or before the market's creation."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from signal_desk import db, landing
from signal_desk.sources.markets_common import question_date
from signal_desk.sources.polymarket import parse_gamma_markets
from tests.pipeline_helpers import query

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
OBSERVED = datetime(2026, 7, 1, tzinfo=timezone.utc)


def test_a_later_meeting_market_with_the_event_s_end_date_is_flagged(tmp_path):
    result = parse_gamma_markets((FIXTURES / "gamma_market_later_meeting_event_end_date_derived.json").read_bytes(),
                                 OBSERVED)
    [market] = result.markets
    assert market.end_date_issue == "end date 2026-07-29 precedes the question's date 2026-09-01"
    path = str(tmp_path / "desk.duckdb")
    with db.writer(path) as con:
        landing.land_markets(con, "run-1", result.markets, result.odds, OBSERVED, ["snapshot"] * len(result.odds))
    assert query(path, "select end_date_issue from markets") == [(market.end_date_issue,)]


def test_the_real_july_meeting_market_is_not_flagged():
    markets = parse_gamma_markets((FIXTURES / "gamma_markets_list_3_pmvlab.json").read_bytes(), OBSERVED).markets
    july = next(m for m in markets if "July 2026 meeting" in m.question)
    assert july.end_date_issue is None


def test_an_end_date_before_creation_is_flagged():
    [body] = json.loads((FIXTURES / "gamma_markets_list_3_pmvlab.json").read_text())[:1]
    body["endDate"] = "2026-04-01T00:00:00Z"          # the market was created on 23 April
    [market] = parse_gamma_markets(json.dumps([body]), OBSERVED).markets
    assert market.end_date_issue == "end date 2026-04-01 00:00 precedes the market's creation 2026-04-23 22:32"


def test_question_dates_need_their_year():
    assert question_date("Will there be no change after the September 2026 meeting?") == \
        datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert question_date("Will the US and Iran hold technical talks before Aug 1, 2026?") == \
        datetime(2026, 8, 1, tzinfo=timezone.utc)
    assert question_date("US announces new blockade of Iran by July 31?") is None
