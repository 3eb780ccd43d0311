"""What a post source's parse step returns for one `SourceFetch`: items to land, rows to quarantine, a status."""
from __future__ import annotations

from dataclasses import dataclass, field

from signal_desk.items import Item, QuarantineRow


@dataclass(slots=True)
class SourceParse:
    source_id: str
    kind: str
    items: list[Item] = field(default_factory=list)
    rejects: list[QuarantineRow] = field(default_factory=list)
    status: str = "ok"            # ok | empty | error
    error: str | None = None
