from signal_desk.items import PayloadError


class NotAFeed(PayloadError):
    """The fetched document is not an RSS/Atom feed (an HTML page, an error page, garbage)."""
