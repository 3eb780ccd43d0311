"""The backfill's import path takes a stored Kalshi market with or without its {"market": ...} envelope;
the live parser still rejects the bare object, since the API always wraps it. Real captured market."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flows.cli import main as cli
from signal_desk.items import PayloadError
from signal_desk.sources.kalshi import parse_market
from tests.pipeline_helpers import query

FIXTURES = Path(__file__).parent / "fixtures" / "kalshi"
WRAPPED = FIXTURES / "kalshi_market_single_ucl_football.json"
UNWRAPPED = FIXTURES / "kalshi_market_unwrapped_ucl_football.json"
TICKER = "KXUCLGAME-26MAR10PSGCFC-PSG"


def run_cli(*args: str) -> int:
    try:
        cli(list(args))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_the_unwrapped_object_is_the_envelope_s_market():
    assert json.loads(UNWRAPPED.read_text()) == json.loads(WRAPPED.read_text())["market"]


def test_the_live_parser_still_rejects_the_unwrapped_object():
    with pytest.raises(PayloadError, match=r"kalshi /markets/\{ticker\}: expected an object with a 'market' object"):
        parse_market(UNWRAPPED.read_bytes(), datetime(2026, 3, 9, tzinfo=timezone.utc))


@pytest.mark.parametrize("fixture", [UNWRAPPED, WRAPPED], ids=["unwrapped", "wrapped"])
def test_backfill_imports_the_market_file_once(fixture, tmp_path, capsys):
    path = str(tmp_path / "desk.duckdb")
    assert run_cli("backfill", "--market-file", f"kalshi:{fixture}", "--db", path) == 0
    assert "1 markets, 1 new odds points" in capsys.readouterr().out
    assert query(path, "select market_id, status, question from markets") == \
        [(TICKER, "open", "PSG vs Chelsea Winner?")]
    assert query(path, "select price_prob, best_bid_prob, best_ask_prob, point_kind from odds_snapshots") == \
        [(0.72, 0.70, 0.72, "snapshot")]
    assert run_cli("backfill", "--market-file", f"kalshi:{fixture}", "--db", path) == 0
    assert "0 new odds points" in capsys.readouterr().out
    assert query(path, "select count(*) from odds_snapshots") == [(1,)]


def test_a_file_that_is_no_market_fails_in_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "trades.json"
    bad.write_text('{"trades": [], "cursor": ""}')
    assert run_cli("backfill", "--market-file", f"kalshi:{bad}", "--db", str(tmp_path / "desk.duckdb")) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "kalshi market file" in err
