"""Canonical keys for post URLs, so a link to a post through any mirror finds the post itself.

x.com, twitter.com and Nitter-style mirrors all carry `/<user>/status/<id>`; tweet ids are unique, so
the key is the id. Telegram posts are `t.me/<channel>/<id>` (or `t.me/s/...` in the web preview).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_STATUS = re.compile(r"/status(?:es)?/(\d{5,25})(?:[/?#]|$)")
_TELEGRAM = re.compile(r"^(?:www\.)?(?:t\.me|telegram\.me)$")
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|ref|s|t)$")


def url_key(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    m = _STATUS.search(url)
    if m:
        return f"tweet:{m.group(1)}"
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    path = parts.path.rstrip("/")
    if _TELEGRAM.match(host):
        segs = [s for s in path.split("/") if s]
        if segs and segs[0] == "s":
            segs = segs[1:]
        if len(segs) >= 2 and segs[1].isdigit():
            return f"tg:{segs[0].lower()}/{segs[1]}"
        return f"tg:{segs[0].lower()}" if segs else None
    host = host.removeprefix("www.")
    query = "&".join(q for q in parts.query.split("&") if q and not _TRACKING.match(q.split("=", 1)[0]))
    return f"url:{host}{path}" + (f"?{query}" if query else "")


_STATUS_ACCOUNT = re.compile(r"/([A-Za-z0-9_]{1,30})/status(?:es)?/\d{5,25}(?:[/?#]|$)")


def post_account(url: str | None) -> str | None:
    """The account a post URL belongs to (lowercase): the X user of a status URL on any mirror, or
    the Telegram channel of a t.me post."""
    if not url:
        return None
    m = _STATUS_ACCOUNT.search(url)
    if m:
        return m.group(1).lower()
    key = url_key(url)
    if key and key.startswith("tg:") and "/" in key:
        return key[3:].split("/", 1)[0]
    return None
