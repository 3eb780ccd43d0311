"""Telegram channels through their public web preview (t.me/s/<channel>): page parsing and paging scan."""
from tasks.sources.telegram.exceptions import ChannelNotFound, LayoutChanged, TelegramError
from tasks.sources.telegram.parse import parse, parse_count, scan
from tasks.sources.telegram.types import PageScan, TelegramPost

__all__ = ["ChannelNotFound", "LayoutChanged", "PageScan", "TelegramError", "TelegramPost",
           "parse", "parse_count", "scan"]
