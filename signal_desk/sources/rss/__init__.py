"""RSS 2.0 / Atom feeds: `parse` reads a fetched feed document into `Item`s (pure); `fetch` gets it."""
from signal_desk.sources.rss.exceptions import NotAFeed
from signal_desk.sources.rss.parse import Reject, html_to_text, parse_feed

__all__ = ["NotAFeed", "Reject", "html_to_text", "parse_feed"]
