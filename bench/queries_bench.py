"""The analysts' example queries (docs/tables.md) on the largest history database, read-only as
analysts open the published snapshot: median and worst of several runs after one warm-up run. A run
is the query executed and its whole result fetched (as Arrow, so Python object conversion of large
results is not what is timed)."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench.measure import FAILED, INFO, UNAVAILABLE, Row, judged, load_average, median

DOC = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
TARGET_MS = 200.0
TARGET_ITEMS = 10**7
_FENCE = re.compile(r"^```sql\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class ExampleQuery:
    title: str
    sql: str


def example_queries(doc: Path = DOC) -> list[ExampleQuery]:
    """Every ```sql block of the doc's query section (the first `## ` heading that mentions queries;
    the whole doc when there is none), titled by the first line of the paragraph before it."""
    text = doc.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    chosen = next((s for s in sections[1:] if "quer" in s.split("\n", 1)[0].lower()), text)
    queries = []
    for match in _FENCE.finditer(chosen):
        paragraphs = [par.strip() for par in re.split(r"\n\s*\n", chosen[:match.start()]) if par.strip()]
        title = paragraphs[-1].splitlines()[0].strip() if paragraphs else f"query {len(queries) + 1}"
        queries.append(ExampleQuery(title.rstrip(":"), match.group(1).strip()))
    return queries


def run(*, quick: bool, command: str, db_path: Path | None, items: int) -> tuple[list[Row], dict]:
    from signal_desk import db

    rows: list[Row] = []
    details: dict = {"database_items": items, "queries": []}

    def row(name: str, value: float | None, unit: str, **kw) -> None:
        rows.append(Row("queries", name, value, unit, command=command, **kw))

    if not DOC.is_file():
        row("example queries", None, "ms", status=UNAVAILABLE,
            note=f"{DOC.name} not found: the example queries live there")
        return rows, details
    queries = example_queries()
    if not queries:
        row("example queries", None, "ms", status=UNAVAILABLE, note=f"no ```sql blocks in {DOC.name}")
        return rows, details
    if db_path is None or not db_path.exists():
        row("example queries", None, "ms", status=UNAVAILABLE, note="no history database was built")
        return rows, details
    repeats = 2 if quick else 7
    judged_size = items >= TARGET_ITEMS
    con = db.connect(db_path, read_only=True)
    try:
        for q in queries:
            times: list[float] = []
            cpu: list[float] = []
            returned = None
            error = None
            try:
                con.execute(q.sql).fetch_arrow_table()
                for _ in range(repeats):
                    t0, c0 = time.perf_counter(), time.process_time()
                    returned = con.execute(q.sql).fetch_arrow_table().num_rows
                    cpu.append((time.process_time() - c0) * 1000)     # DuckDB's threads included
                    times.append((time.perf_counter() - t0) * 1000)
            except Exception as e:      # a query the schema no longer answers: say which
                error = f"{type(e).__name__}: {e}"
            details["queries"].append({"title": q.title, "sql": q.sql, "ms": times, "cpu_ms": cpu,
                                       "rows": returned, "error": error, "load_average": load_average()})
            short = q.title if len(q.title) <= 60 else q.title[:57] + "..."
            if error:
                row(short, None, "ms", status=UNAVAILABLE, note=error[:300])
                continue
            if not returned:
                # A query that finds nothing in the history measures an empty scan, not the question.
                row(short, median(times), "ms", status=FAILED,
                    note=f"returned no rows on {items:,} items: the history lacks what it asks about")
                continue
            row(short, median(times), "ms", target=f"< {TARGET_MS:g} ms" if judged_size else "",
                status=judged(median(times) < TARGET_MS) if judged_size else INFO,
                note=f"worst {max(times):.0f} ms of {repeats}; CPU {median(cpu):.0f} ms (all threads); "
                     f"{returned:,} rows; {items:,} items; load {load_average()}")
        slowest = max((q for q in details["queries"] if q["ms"]), key=lambda q: median(q["ms"]), default=None)
        if slowest:
            # Where the slowest query's time goes, operator by operator (bench/README explains it).
            plan = con.execute("explain analyze " + slowest["sql"]).fetchall()
            details["slowest_plan"] = {"title": slowest["title"], "plan": "\n".join(str(r[-1]) for r in plan)}
    finally:
        con.close()
    return rows, details
