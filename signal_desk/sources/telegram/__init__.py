"""Telegram channels through their public web preview (t.me/s/<channel>).

`constants` builds the URLs, `parse.parse` turns a page into posts (pure), `parse.scan` is the fast
pre-pass paging uses, and `fetch` pages a channel back to its cursor (hourly) or to a date (backfill).
"""
from signal_desk.sources.telegram.exceptions import ChannelNotFound, LayoutChanged, TelegramError
from signal_desk.sources.telegram.types import PageScan, TelegramPost

__all__ = ["ChannelNotFound", "LayoutChanged", "PageScan", "TelegramError", "TelegramPost"]
