from signal_desk.items import PayloadError


class MirrorUnavailable(PayloadError):
    """The instance answered, but not with the account's RSS (error page, rate limit, refusal):
    the fetch layer should fail over to the next instance."""
