"""X (Twitter) accounts read through Nitter-style mirrors' RSS (`/<account>/rss`).

`constants` builds the URLs, `parse` reads an instance's feed (pure), `fetch` fails over between the
configured instances.
"""
from signal_desk.sources.xmirror.constants import instance_rss_url
from signal_desk.sources.xmirror.exceptions import MirrorUnavailable
from signal_desk.sources.xmirror.parse import parse_nitter_rss

__all__ = ["MirrorUnavailable", "instance_rss_url", "parse_nitter_rss"]
