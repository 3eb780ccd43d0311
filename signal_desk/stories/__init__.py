"""Story grouping: posts in any language into the few stories that matter, hour by hour."""
from __future__ import annotations

from typing import Any

__all__ = ["GroupingParams", "StoryGrouper", "StoryItem", "story_item_from"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m signal_desk.stories.grouping` does not load the module twice.
    if name in __all__:
        from signal_desk.stories import grouping

        return getattr(grouping, name)
    raise AttributeError(f"module 'signal_desk.stories' has no attribute {name!r}")
