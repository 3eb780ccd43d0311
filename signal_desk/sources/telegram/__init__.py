"""Telegram channels through their public web preview (t.me/s/<channel>).

`parse.parse` turns a page into posts, `parse.scan` is the fast pre-pass the fetch layer pages with.
"""
from signal_desk.sources.telegram.exceptions import ChannelNotFound, LayoutChanged, TelegramError
from signal_desk.sources.telegram.types import PageScan, TelegramPost

__all__ = ["ChannelNotFound", "LayoutChanged", "PageScan", "TelegramError", "TelegramPost"]
