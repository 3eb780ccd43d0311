"""Why a fetched t.me page yields no posts: the channel has no public preview, or the page changed shape."""
from __future__ import annotations

from signal_desk.items import PayloadError


class TelegramError(PayloadError):
    def __init__(self, reason: str, *, channel: str | None = None, locator: str = ""):
        self.channel = channel
        super().__init__(reason, source=f"telegram:{channel or '(unknown channel)'}", locator=locator)


class ChannelNotFound(TelegramError):
    """t.me served its landing page (or a not-found page) instead of the channel's /s/ preview."""


class LayoutChanged(TelegramError):
    """An HTML page from which neither the channel header nor any post could be read: probable layout change."""
