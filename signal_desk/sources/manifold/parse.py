"""Manifold API v0 payloads -> Market / OddsPoint.

Decisions, read off real payloads:
- Times are unix milliseconds.
- BINARY markets: outcomes ["Yes", "No"] (Manifold's YES/NO); the point is `probability` for "Yes",
  stamped with `lastBetTime` (a cpmm probability moves only with bets), or `createdTime` when nobody
  has bet yet. `resolutionProbability` is the market price at resolution, not the outcome: the winner
  is `resolution` (YES/NO); MKT and CANCEL settle without a single winner (resolution None).
- MULTIPLE_CHOICE: read from the full market (`answers` with `probability`); outcomes are the answer
  texts, and they sum to one only when the market says `shouldAnswersSumToOne`; when it says so and
  they do not, the market carries `outcome_sum_issue`. The lite objects of GET /markets carry no
  answers and are rejected with that reason, as are POLL, DATE, MULTI_NUMERIC, STONK and other types
  that have no outcome probabilities.
- Resolution: the winner when `resolution` names an outcome (YES/NO, or an answer id among the
  answers); CANCEL is "cancelled", MKT "split"; anything else (an answer id that is not among the
  answers) is "unknown", never mistaken for a cancellation. `resolution_raw` keeps the venue's value.
- Status: `isResolved` -> "resolved"; else "closed" once `closeTime` has passed at `observed_at`;
  else "open".
- Bets: `probAfter` at `createdTime`, for bets that traded. An unfilled limit order (limitProb with no
  fills), a cancelled order with no fills and a share redemption are not prices and are skipped.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from signal_desk.items import Market, OddsPoint, PayloadError
from signal_desk.sources.manifold.constants import (BETS_READER, BINARY_OUTCOMES, MARKET_READER,
                                                   NON_WINNER_RESOLUTIONS, VENUE, market_page_url)
from signal_desk.sources.markets_common import (
    ElementError,
    ParseResult,
    PayloadReader,
    Reject,
    require_utc,
    collect,
    element_locator,
    envelope_reason,
    end_date_issue,
    identifier,
    load_json,
    optional_number,
    optional_text,
    outcome_sum_issue,
    probability,
    raw_text,
    require,
    require_text,
    unix_millis,
)


def parse_market(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /market/{id}: one full market object."""
    source = f"{VENUE} /market/{{id}}"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if not _is_market_shaped(body):
        raise PayloadError(envelope_reason(body, "a market object"), source=source)
    return collect([(element_locator(source, 0, body, "id"), body)], lambda m: _parse_market(m, observed_at))


def parse_markets(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /markets: a list of lite market objects."""
    source = f"{VENUE} /markets"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if not isinstance(body, list):
        raise PayloadError(envelope_reason(body, "a list of markets"), source=source)
    if body and not any(_is_market_shaped(m) for m in body):
        raise PayloadError("no element has a market's 'id', 'question' and 'outcomeType'", source=source)
    return collect(((element_locator(source, i, m, "id"), m) for i, m in enumerate(body)),
                   lambda m: _parse_market(m, observed_at))


def answer_labels(payload: bytes | str) -> dict[str, str]:
    """Answer id -> answer text of a full multiple-choice market, to name the outcome of its bets."""
    source = f"{VENUE} /market/{{id}}"
    body = load_json(payload, source=source)
    if not _is_market_shaped(body):
        raise PayloadError(envelope_reason(body, "a market object"), source=source)
    answers = body.get("answers") or []
    return {str(a["id"]): a["text"].strip() for a in answers
            if isinstance(a, dict) and a.get("id") is not None and isinstance(a.get("text"), str)}


def parse_bets(payload: bytes | str, *, answer_labels: Mapping[str, str] | None = None) -> ParseResult:
    """GET /bets?contractId=: bets newest first.

    Bets on a multiple-choice answer carry `answerId`; pass `answer_labels` (answer id -> text, from the
    parsed market) to name their outcome. Two bets in the same millisecond keep the first listed, which
    is the later one since the venue lists newest first.
    """
    source = f"{VENUE} /bets"
    body = load_json(payload, source=source)
    if not isinstance(body, list):
        raise PayloadError(envelope_reason(body, "a list of bets"), source=source)
    if body and not any(isinstance(b, dict) and "contractId" in b and "createdTime" in b for b in body):
        raise PayloadError("no element has a bet's 'contractId' and 'createdTime'", source=source)
    result = ParseResult()
    seen: set[tuple[str, str, datetime]] = set()
    for index, bet in enumerate(body):
        try:
            point = _bet_point(bet, answer_labels or {})
        except ElementError as exc:
            result.rejects.append(Reject(locator=element_locator(source, index, bet, "id"), reason=str(exc),
                                         raw=raw_text(bet)))
            continue
        if point is None:
            continue
        key = (point.market_id, point.outcome, point.venue_ts)
        if key not in seen:
            seen.add(key)
            result.odds.append(point)
    return result


def parse_market_file(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """Stored market objects, as the backfill imports them: one full market, or a list of them."""
    body_is_list = payload.lstrip()[:1] in (b"[", "[")
    return (parse_markets if body_is_list else parse_market)(payload, observed_at)


# The source contract's parse: each payload the fetch step tags, read by its reader.
READERS: dict[str, PayloadReader] = {
    MARKET_READER: lambda body, context, observed_at: parse_market(body, observed_at),
    BETS_READER: lambda body, context, observed_at: parse_bets(
        body, answer_labels=answer_labels(context["market_body"])),
}


def _bet_point(bet: Any, answer_labels: Mapping[str, str]) -> OddsPoint | None:
    if not isinstance(bet, dict):
        raise ElementError(f"expected an object, got {type(bet).__name__}")
    contract_id = identifier(bet, "contractId")
    created = unix_millis(require(bet, "createdTime"), what="'createdTime'")
    fills = bet.get("fills")
    if fills is not None and not isinstance(fills, list):
        raise ElementError(f"'fills' is not a list: {fills!r}")
    has_fills = bool(fills)
    if bet.get("limitProb") is not None and not has_fills and bet.get("isFilled") is not True:
        return None     # a resting limit order has not moved the price
    if bet.get("isCancelled") is True and not has_fills:
        return None
    if bet.get("isRedemption") is True:
        return None
    prob_after = probability(require(bet, "probAfter"), what="'probAfter'")
    answer_id = bet.get("answerId")
    if answer_id:
        if answer_id not in answer_labels:
            raise ElementError(f"bet on answer {answer_id!r}, whose text is not known")
        outcome = answer_labels[answer_id]
    else:
        outcome = BINARY_OUTCOMES[0]
    return OddsPoint(venue=VENUE, market_id=contract_id, outcome=outcome, price_prob=prob_after, venue_ts=created)


def _parse_market(m: dict, observed_at: datetime) -> ParseResult:
    market_id = identifier(m, "id")
    question = require_text(m, "question")
    outcome_type = require_text(m, "outcomeType")
    if outcome_type == "BINARY":
        outcomes = list(BINARY_OUTCOMES)
        prices = [probability(require(m, "probability"), what="'probability'")]
        winners = {"YES": "Yes", "NO": "No"}
        sums_to_one = True
    elif outcome_type == "MULTIPLE_CHOICE":
        outcomes, prices, winners = _answers(m)
        sums_to_one = m.get("shouldAnswersSumToOne") is True
    else:
        raise ElementError(f"outcomeType {outcome_type} has no outcome probabilities to read")

    end_date = unix_millis(m["closeTime"], what="'closeTime'") if m.get("closeTime") is not None else None
    is_resolved = m.get("isResolved") is True
    if is_resolved:
        status = "resolved"
    elif end_date is not None and end_date <= observed_at:
        status = "closed"
    else:
        status = "open"
    resolved_at = None
    if is_resolved and m.get("resolutionTime") is not None:
        resolved_at = unix_millis(m["resolutionTime"], what="'resolutionTime'")
    raw_resolution = m.get("resolution")
    resolution, resolution_kind = _resolution(raw_resolution, winners) if is_resolved else (None, None)
    created = unix_millis(m["createdTime"], what="'createdTime'") if m.get("createdTime") is not None else None

    market = Market(
        venue=VENUE,
        market_id=market_id,
        question=question,
        outcomes=outcomes,
        slug=optional_text(m, "slug"),
        url=_page_url(m),
        end_date=end_date,
        status=status,
        resolution=resolution,
        resolved_at=resolved_at,
        outcomes_sum_to_one=sums_to_one,
        resolution_kind=resolution_kind,
        resolution_raw=str(raw_resolution) if is_resolved and raw_resolution is not None else None,
        end_date_issue=end_date_issue(end_date, question, created, settled=is_resolved),
        # A binary market states one price; its complement is not a second reading to check.
        outcome_sum_issue=outcome_sum_issue(prices, promised=sums_to_one and len(prices) > 1),
    )
    stamp_key = "lastBetTime" if m.get("lastBetTime") is not None else "createdTime"
    price_ts = unix_millis(require(m, stamp_key), what=repr(stamp_key))
    volume = optional_number(m, "volume")
    liquidity = optional_number(m, "totalLiquidity")
    odds = [OddsPoint(venue=VENUE, market_id=market_id, outcome=o, price_prob=p, venue_ts=price_ts,
                      volume=volume, liquidity=liquidity)
            for o, p in zip(outcomes, prices)]
    return ParseResult(markets=[market], odds=odds)


def _resolution(raw: Any, winners: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(winning outcome, resolution_kind) of a resolved market."""
    if raw is None or raw == "":
        return None, "unknown"
    if str(raw) in winners:
        return winners[str(raw)], "outcome"
    return None, NON_WINNER_RESOLUTIONS.get(str(raw), "unknown")


def _answers(m: dict) -> tuple[list[str], list[float], dict[str, str]]:
    answers = m.get("answers")
    if not isinstance(answers, list) or not answers:
        raise ElementError("MULTIPLE_CHOICE without 'answers' (a lite object: fetch /market/{id})")
    texts: list[str] = []
    prices: list[float] = []
    ids: dict[str, str] = {}
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict):
            raise ElementError(f"answers[{index}] is not an object")
        try:
            text = require_text(answer, "text")
            prices.append(probability(require(answer, "probability"), what="'probability'"))
        except ElementError as exc:
            raise ElementError(f"answers[{index}]: {exc}") from None
        texts.append(text)
        if answer.get("id") is not None:
            ids[str(answer["id"])] = text
    if len(set(texts)) != len(texts):
        raise ElementError("two answers have the same text")
    return texts, prices, ids


def _page_url(m: dict) -> str | None:
    if isinstance(m.get("url"), str) and m["url"]:
        return m["url"]
    if m.get("creatorUsername") and m.get("slug"):
        return market_page_url(m["creatorUsername"], m["slug"])
    return None


def _is_market_shaped(element: Any) -> bool:
    return isinstance(element, dict) and {"id", "question", "outcomeType"} <= element.keys()
