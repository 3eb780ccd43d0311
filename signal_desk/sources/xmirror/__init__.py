"""X (Twitter) accounts read through Nitter-style mirrors' RSS (`/<account>/rss`)."""
from signal_desk.sources.xmirror.exceptions import MirrorUnavailable
from signal_desk.sources.xmirror.parse import instance_rss_url, parse_nitter_rss

__all__ = ["MirrorUnavailable", "instance_rss_url", "parse_nitter_rss"]
