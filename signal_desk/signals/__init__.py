"""Story-level signal tables: annotation, story grouping, and the SQL models over them."""
from signal_desk.signals.run import compute_signals, recompute

__all__ = ["compute_signals", "recompute"]
