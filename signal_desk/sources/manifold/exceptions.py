"""What reading a Manifold payload raises: the errors every venue shares. `PayloadError` is a payload that
cannot be read at all (quarantined whole); `ElementError` one element that does not fit (it becomes a
`Reject` and the rest are read on)."""
from signal_desk.items import PayloadError
from signal_desk.sources.markets_common import ElementError

__all__ = ["ElementError", "PayloadError"]
