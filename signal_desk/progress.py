"""Progress of long work: a bar when the stream is a terminal, one plain line per step otherwise (a log,
a pipe, a test), so logs stay readable and carry no cursor codes.

    with Steps(len(run_times), "demo run") as steps:
        for as_of in run_times:
            steps.start(f"{as_of:%d %b %H:%M} UTC")    # the bar names the step under way
            ...
            steps.done("412 new, 3 edited")              # line: "demo run 1/9: 412 new, 3 edited"
"""
from __future__ import annotations

import sys
from typing import TextIO


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):       # no isatty, or already closed
        return False


class Steps:
    """`total` steps of `what`, reported on `stream` (standard error by default)."""

    def __init__(self, total: int, what: str, *, stream: TextIO | None = None):
        self.total, self.what = total, what
        self.stream = sys.stderr if stream is None else stream
        self.count = 0
        self._bar = None
        self._task = None

    def __enter__(self) -> "Steps":
        if is_terminal(self.stream):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=self.stream))
            self._task = self._bar.add_task(self.what, total=self.total)
            self._bar.start()
        return self

    def start(self, label: str) -> None:
        """Name the step under way: shown on the bar; a log gets its line when the step is done."""
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self.what}: {label}")

    def done(self, message: str = "") -> None:
        """One step finished: its line (above the bar on a terminal), and the bar moves on."""
        self.count += 1
        line = f"{self.what} {self.count}/{self.total}" + (f": {message}" if message else "")
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
            self._bar.update(self._task, advance=1, description=self.what)
        else:
            # written, not print()ed: inside a Prefect flow with log_prints, print would become an INFO
            # log record, which `./run` does not show
            self.stream.write(line + "\n")
            self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
