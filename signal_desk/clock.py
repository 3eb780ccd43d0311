"""The one clock: now in UTC, and any instant as UTC. It imports nothing heavy, so that source
packages and the CLI can use it without DuckDB or pandas."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """An instant in UTC; a naive one (from the command line, a form, a naive column) is taken as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_utc(value: Any) -> datetime | None:
    """A datetime, or an ISO string ('Z' allowed), as UTC; None for anything else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return as_utc(value) if isinstance(value, datetime) else None
