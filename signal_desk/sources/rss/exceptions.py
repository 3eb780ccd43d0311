"""Why a fetched document yields no feed entries, or an entry's markup no text."""
from signal_desk.items import PayloadError


class NotAFeed(PayloadError):
    """The fetched document is not an RSS/Atom feed (an HTML page, an error page, garbage)."""


class MarkupTooDeep(ValueError):
    """lxml gave up building the tree part way (nesting beyond 2048 levels): the tree lacks text."""
