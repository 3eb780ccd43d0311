"""RSS 2.0 / Atom feeds: parse a fetched feed document into `Item`s."""
from tasks.sources.rss.exceptions import NotAFeed
from tasks.sources.rss.parse import Reject, html_to_text, parse_feed

__all__ = ["NotAFeed", "Reject", "html_to_text", "parse_feed"]
