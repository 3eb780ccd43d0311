"""What a source's fetch step returns: every payload it got (or the error it met), for landing and parsing."""
from __future__ import annotations

from dataclasses import dataclass, field

from signal_desk.items import FetchRecord


@dataclass(slots=True)
class SourceFetch:
    source_id: str
    kind: str
    pages: list[FetchRecord] = field(default_factory=list)
    error: str | None = None                 # why the source stopped early, if it did
    gaps_opened: list[tuple[int, int]] = field(default_factory=list)   # (before_id, until_id) left for later
    gaps_closed: list[int] = field(default_factory=list)               # before_ids of gaps now filled
    notes: list[str] = field(default_factory=list)

    @property
    def ok_pages(self) -> list[FetchRecord]:
        return [p for p in self.pages
                if p.body is not None and p.error is None and p.status_code is not None and p.status_code < 400]
