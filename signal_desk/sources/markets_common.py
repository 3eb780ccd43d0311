"""What the prediction-market parsers share: the result type and strict field readers.

Venues send numbers as strings, times as ISO text, unix seconds or unix milliseconds, and
arrays as JSON-encoded strings. The readers here accept exactly those shapes and raise
`ElementError` for anything else, so one bad market becomes a `Reject` and the rest go on.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from signal_desk.items import Market, MarketTrade, OddsPoint, PayloadError


@dataclass(slots=True)
class Reject:
    """One element (market, price point, candle, bet) that did not fit, kept with the reason."""

    locator: str        # where it was: "<venue> <endpoint>[index] id=<id>"
    reason: str
    raw: str            # the element's own JSON text


@dataclass(slots=True)
class ParseResult:
    markets: list[Market] = field(default_factory=list)
    odds: list[OddsPoint] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    next_cursor: str | None = None      # the venue's paging cursor, when it sends one
    trades: list[MarketTrade] = field(default_factory=list)

    def extend(self, other: "ParseResult") -> None:
        self.markets.extend(other.markets)
        self.odds.extend(other.odds)
        self.rejects.extend(other.rejects)
        self.trades.extend(other.trades)


# How a venue reads one fetched payload: (body, the payload's fetch context, observed_at) -> what it holds.
PayloadReader = Callable[[bytes, dict, datetime], ParseResult]


class ElementError(ValueError):
    """A single element does not fit; the caller turns it into a Reject."""


def load_json(payload: bytes | str, *, source: str) -> Any:
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"body is not UTF-8: {exc}", source=source) from None
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc}", source=source) from None


def raw_text(element: Any) -> str:
    return json.dumps(element, ensure_ascii=False)


def envelope_reason(body: Any, expected: str) -> str:
    """Why a body is not the expected envelope, quoting the venue's own error text when it sent one."""
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "errors"):
            if body.get(key):
                value = body[key]
                if isinstance(value, dict):
                    value = value.get("message") or value.get("code") or value
                return f"venue returned an error: {value}"
        return f"expected {expected}; got an object with keys {sorted(body)[:12]}"
    return f"expected {expected}; got {type(body).__name__}"


def require_utc(moment: datetime, *, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")
    return moment.astimezone(timezone.utc)


def require(obj: dict, key: str) -> Any:
    if key not in obj or obj[key] is None:
        raise ElementError(f"missing {key!r}")
    return obj[key]


def require_text(obj: dict, key: str) -> str:
    value = require(obj, key)
    if not isinstance(value, str) or not value.strip():
        raise ElementError(f"{key!r} is not a non-empty string: {value!r}")
    return value.strip()


def optional_text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ElementError(f"{key!r} is not a string: {value!r}")
    return value.strip() or None


def identifier(obj: dict, key: str) -> str:
    """Ids arrive as strings ("572469") or, in some captures, as integers."""
    value = require(obj, key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ElementError(f"{key!r} is not an id: {value!r}")
    return str(value).strip()


def number(value: Any, *, what: str) -> float:
    """A finite number given as a JSON number or a numeric string ("494516.53254")."""
    if isinstance(value, bool):
        raise ElementError(f"{what} is a boolean, not a number")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ElementError(f"{what} is not a number: {value!r}") from None
    else:
        raise ElementError(f"{what} is not a number: {value!r}")
    if not math.isfinite(result):
        raise ElementError(f"{what} is not finite: {value!r}")
    return result


def optional_number(obj: dict, key: str) -> float | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return number(value, what=repr(key))


def probability(value: Any, *, what: str) -> float:
    result = number(value, what=what)
    if not 0.0 <= result <= 1.0:
        raise ElementError(f"{what} is outside [0, 1]: {value!r}")
    return result


def iso_datetime(value: Any, *, what: str) -> datetime:
    """ISO 8601 text with an offset: "2026-03-21T07:58:17.582157Z" and "2026-01-01 07:30:39+00"."""
    if not isinstance(value, str):
        raise ElementError(f"{what} is not a date string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ElementError(f"{what} is not an ISO date: {value!r}") from None
    if parsed.tzinfo is None:
        raise ElementError(f"{what} has no UTC offset: {value!r}")
    return parsed.astimezone(timezone.utc)


def optional_iso_datetime(obj: dict, key: str) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return iso_datetime(value, what=repr(key))


def _epoch(value: Any, *, what: str, divisor: int) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ElementError(f"{what} is not a unix timestamp: {value!r}")
    try:
        return datetime.fromtimestamp(value / divisor, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ElementError(f"{what} is out of range: {value!r}") from None


def unix_seconds(value: Any, *, what: str) -> datetime:
    return _epoch(value, what=what, divisor=1)


def unix_millis(value: Any, *, what: str) -> datetime:
    return _epoch(value, what=what, divisor=1000)


def json_string_list(obj: dict, key: str) -> list[str] | None:
    """Gamma's arrays are JSON text inside a string: "[\\"Yes\\", \\"No\\"]". None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ElementError(f"{key!r} is not a JSON-encoded array: {obj[key]!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ElementError(f"{key!r} is not a list of strings: {obj[key]!r}")
    return value


def collect(
    elements: Iterable[tuple[str, Any]],
    parse_one: Callable[[Any], ParseResult],
) -> ParseResult:
    """Parse each (locator, element); an ElementError rejects that element only."""
    result = ParseResult()
    for locator, element in elements:
        try:
            if not isinstance(element, dict):
                raise ElementError(f"expected an object, got {type(element).__name__}")
            result.extend(parse_one(element))
        except ElementError as exc:
            result.rejects.append(Reject(locator=locator, reason=str(exc), raw=raw_text(element)))
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            # A shape no reader anticipated still costs only this element.
            result.rejects.append(Reject(locator=locator, reason=f"unexpected shape: {type(exc).__name__}: {exc}",
                                         raw=raw_text(element)))
    return result


def element_locator(prefix: str, index: int, element: Any, id_key: str) -> str:
    ident = element.get(id_key) if isinstance(element, dict) else None
    return f"{prefix}[{index}] {id_key}={ident}" if ident is not None else f"{prefix}[{index}]"


_MONTHS = {name: i + 1 for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"])}
_MONTH_WORD = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY_DATE = re.compile(_MONTH_WORD + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE)
_MONTH_DATE = re.compile(_MONTH_WORD + r"\.?\s+(\d{4})\b", re.IGNORECASE)
# A question's date is a calendar date wherever the reader is; a day's slack keeps time zones from flagging.
_DATE_SLACK = timedelta(days=1)


def _month_number(word: str) -> int:
    word = word.lower()
    return next(n for name, n in _MONTHS.items() if name.startswith(word[:3]))


def question_date(question: str) -> datetime | None:
    """The latest calendar date a question names with its year ("after the July 2026 meeting" -> 1 July 2026,
    "before Aug 1, 2026" -> 1 August 2026); None when it names none. Dates without a year are left alone:
    which year they mean is a guess."""
    found: list[datetime] = []
    for match in _DAY_DATE.finditer(question):
        try:
            found.append(datetime(int(match.group(3)), _month_number(match.group(1)), int(match.group(2)),
                                  tzinfo=timezone.utc))
        except ValueError:
            continue
    for match in _MONTH_DATE.finditer(question):
        found.append(datetime(int(match.group(2)), _month_number(match.group(1)), 1, tzinfo=timezone.utc))
    return max(found) if found else None


def end_date_issue(end_date: datetime | None, question: str, created_at: datetime | None, *,
                   settled: bool = False) -> str | None:
    """Why a venue's end date cannot be this market's own, or None: venues copy an event's end date onto
    markets about later dates (a later meeting), and an end before the market existed is no end. A settled
    market's end date is when it stopped trading, which may rightly come before the date it asked about."""
    if end_date is None:
        return None
    asked = None if settled else question_date(question)
    if asked is not None and end_date < asked - _DATE_SLACK:
        return f"end date {end_date:%Y-%m-%d} precedes the question's date {asked:%Y-%m-%d}"
    if created_at is not None and end_date < created_at:
        return f"end date {end_date:%Y-%m-%d %H:%M} precedes the market's creation {created_at:%Y-%m-%d %H:%M}"
    return None


def outcome_sum_issue(prices: list[float], *, promised: bool, tolerance: float = 0.02) -> str | None:
    """The outcomes' prices of a market that promises they sum to one, when they do not (within tolerance)."""
    if not promised or not prices:
        return None
    total = sum(prices)
    if abs(total - 1.0) > tolerance:
        return f"outcome prices sum to {round(total, 6):g}, not 1"
    return None
