"""Prefect tasks, one module per stage of a run. Each is a thin wrapper over `signal_desk`: it opens
the write connection it needs, calls the library, logs counts and returns what the next stage takes.
The flows in `flows/` compose them.

Every task has a time bound. Each is several times what the step takes on a loaded machine with a
thousand channels, so that it only ever ends a run that hangs (a stuck mount, a wedged lock holder, a
parser in a pathological loop) instead of leaving it open for good.
"""
