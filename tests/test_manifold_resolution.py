"""A Manifold multiple-choice market resolved to an answer id that is not among its answers is recorded as
an unknown resolution with the raw value, not as a cancellation; answers that promise to sum to one and
sum to 0.031 are flagged. Fixture built from the documented v0 market format (see PROVENANCE.md)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from signal_desk import db, landing
from signal_desk.sources.manifold import parse_market, parse_markets
from tests.pipeline_helpers import query

FIXTURES = Path(__file__).parent / "fixtures" / "manifold"
UNKNOWN = FIXTURES / "manifold_v0_market_multiple_choice_unknown_resolution_from_docs.json"
OBSERVED = datetime(2026, 2, 5, tzinfo=timezone.utc)


def test_an_answer_id_not_among_the_answers_is_an_unknown_resolution_with_its_raw_value(tmp_path):
    result = parse_market(UNKNOWN.read_bytes(), OBSERVED)
    [market] = result.markets
    assert (market.status, market.resolution, market.resolution_kind, market.resolution_raw) == \
        ("resolved", None, "unknown", "a7Rk2Zq9Vn")
    assert market.outcome_sum_issue == "outcome prices sum to 0.031, not 1"
    path = str(tmp_path / "desk.duckdb")
    with db.writer(path) as con:
        landing.land_markets(con, "run-1", result.markets, result.odds, OBSERVED, ["snapshot"] * len(result.odds))
    assert query(path, "select resolution, resolution_kind, resolution_raw, outcome_sum_issue from markets") == [(None, "unknown", "a7Rk2Zq9Vn", "outcome prices sum to 0.031, not 1")]


def test_a_known_answer_id_resolves_to_its_text_and_cancel_stays_a_cancellation():
    body = json.loads(UNKNOWN.read_text())
    body["resolution"] = "c9Pk4Ty6Rd"
    [market] = parse_market(json.dumps(body), OBSERVED).markets
    assert (market.resolution, market.resolution_kind) == ("Qatar", "outcome")
    body["resolution"] = "CANCEL"
    [market] = parse_market(json.dumps(body), OBSERVED).markets
    assert (market.resolution, market.resolution_kind, market.resolution_raw) == (None, "cancelled", "CANCEL")


def test_real_resolved_markets_read_their_kinds():
    # 500 real lite markets: binary YES/NO winners, CANCEL and MKT among them; none is "unknown"
    result = parse_markets((FIXTURES / "manifold_v0_markets_500_predictngin.json").read_bytes(), OBSERVED)
    kinds = {m.resolution_kind for m in result.markets if m.status == "resolved"}
    assert {"outcome", "cancelled", "split"} <= kinds and "unknown" not in kinds
    assert all(m.outcome_sum_issue is None for m in result.markets)
