"""What a run shows in Prefect's UI: its summary and one row per source."""
from __future__ import annotations

from datetime import datetime

from signal_desk.backfill import Coverage


def source_table(rows: list[dict], summary: dict) -> list[dict]:
    """One row per source for the run's table artifact. Quarantined counts the rows parsing rejected and
    those validation set aside."""
    by_validation = (summary.get("validation") or {}).get("quarantined_by_source", {})
    return [{"source": r["source_id"], "kind": r["kind"], "status": r["status"], "pages": r["pages_fetched"],
             "new items": r["items_new"], "edits": r["items_updated"],
             "quarantined": r["rejects"] + by_validation.get(r["source_id"], 0), "error": r.get("error") or ""}
            for r in rows]


def hourly_markdown(run_id: str, rows: list[dict], summary: dict) -> str:
    lines = [f"# Hourly run `{run_id}`", "",
             f"as of **{summary.get('as_of') or 'now'}**, {summary['seconds']:.1f} s, status **{summary['status']}**", "",
             "| source | kind | pages | parsed | new | updated | rejects | status |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        status = r["status"] + (f": {r['error']}" if r.get("error") else "")
        lines.append(f"| {r['source_id']} | {r['kind']} | {r['pages_fetched']} | {r['items_parsed']} | "
                     f"{r['items_new']} | {r['items_updated']} | {r['rejects']} | {status.replace('|', '/')} |")
    if m := summary.get("markets"):
        lines += ["", f"**markets**: {m['markets']} markets, {m['new_odds']} new odds points, "
                      f"{m['rejected']} rejected elements, {m['new_candidates']} new candidates"
                      + (f"; errors: {'; '.join(m['errors'].values())}" if m.get("errors") else "")]
    if v := summary.get("validation"):
        rows = ", ".join(f"{t} {n}" for t, n in v["rows"].items())
        lines += ["", f"**validation**: rows checked: {rows}; quarantined: {v['quarantined']}; "
                      f"critical: {len(v['critical'])}"]
        lines += [f"- drift: {a}" for a in v.get("drift_alerts", [])]
    if sig := summary.get("signals"):
        lines += ["", "**signals**: " + ", ".join(f"{k} {val}" for k, val in sig.items() if not isinstance(val, (dict, list)))]
    if alerts := summary.get("alerts"):
        lines += ["", f"**alerts**: {len(alerts['lines'])}"]
        lines += [f"- {a['status']}: {a['channel']} to {a['recipient']}: {a['subject'] or a['signal']}"
                  + (f" ({a['note']})" if a["note"] else "") for a in alerts["lines"]]
    return "\n".join(lines)


def backfill_markdown(run_id: str, start: datetime, end: datetime, rows: list[dict], coverage: list[Coverage],
                     notes: list[str]) -> str:
    by_id = {c.source_id: c for c in coverage}
    lines = [f"# Backfill `{run_id}`", "",
             f"range **{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC**", "",
             "| source | kind | pages | oldest post seen | reached start | new | updated | status |",
             "|---|---|---:|---|---|---:|---:|---|"]
    for r in rows:
        c = by_id.get(r["source_id"])
        oldest = f"{c.oldest_seen:%Y-%m-%d %H:%M}" if c and c.oldest_seen else "–"
        reached = "yes" if c and c.reached_start else "**no**"
        status = r["status"] + (f": {r['error']}" if r.get("error") else "")
        lines.append(f"| {r['source_id']} | {r['kind']} | {r['pages_fetched']} | {oldest} | {reached} | "
                     f"{r['items_new']} | {r['items_updated']} | {status.replace('|', '/')} |")
    if notes:
        lines += ["", "**Not complete:**", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)
