"""The embedded demo: the product run against the mirror. Replay 28 June - 1 July 2026 (Iran skips technical talks with the US) through the
local mirror, running the hourly pipeline at each of the scenario's clock times, then the report. The
hourly runs' signal alerts and the report go to a real SMTP server on 127.0.0.1, which saves them as .eml.

    ./run demo [--db var/demo.duckdb]
    DESK_LAKE_DATA_PATH=/shared/desk-demo/ ./run demo --db "ducklake:postgres:dbname=desk_demo host=..."
"""
from __future__ import annotations

import argparse
import io
import time
from datetime import datetime
from pathlib import Path

from flows.hourly import hourly
from flows.report import report
from mirror.scenario import load_scenario
from mirror.server import MirrorServer
from mirror.smtp import LocalSmtpServer
from signal_desk import db
from signal_desk.config import WatchlistsFile, load_model
from signal_desk.progress import Steps
from signal_desk.report.mail import parse, save_message

DEMO_CONFIG = "config/demo"
EXAMPLE_QUERY = """\
-- What did Araqchi say about the memorandum, when, through whom, and who reported it first?
select strftime(published_minute, '%d %b %H:%M') as utc, outlet_name, register, speech_act, quotes,
       case when is_first_report then 'first report'
            when relay_of_source_id is not null
                 then 'relay of ' || relay_of_source_id || ', ' || relay_lag_minutes || ' min later'
            else '' end as provenance,
       url
from mart_story_timeline
where watchlist_id = 'us-iran-talks' and speaker_id = 'araqchi'
order by published_at"""


def run_demo(db_path: Path | str, alerts_inbox: Path, *, quiet: bool = False) -> dict:
    """Replay the scenario into a DuckDB file (recreated) or a DuckLake (which should be empty). The signal
    alerts the runs send are saved in alerts_inbox (emptied first) and returned as `alerts`."""
    scenario = load_scenario("iran_talks")
    if not db.is_lake(db_path):
        for p in (Path(db_path), Path(db.snapshot_path(db_path))):
            p.unlink(missing_ok=True)
            Path(str(p) + ".wal").unlink(missing_ok=True)
    for old in Path(alerts_inbox).glob("*.eml"):
        old.unlink()
    summaries = []
    # quiet: the lines go to a buffer nobody reads
    with MirrorServer(scenario) as mirror, mirror.as_source_url(), LocalSmtpServer(alerts_inbox) as smtp, smtp.as_desk_mail(), \
            Steps(len(scenario.run_times), "demo run", stream=io.StringIO() if quiet else None) as steps:
        for as_of in scenario.run_times:
            steps.start(f"{as_of:%d %b %H:%M} UTC")
            mirror.set_clock(as_of)
            t0 = time.perf_counter()
            s = hourly(config_dir=DEMO_CONFIG, db_path=str(db_path), as_of=as_of, politeness="mirror")
            summaries.append(s)
            steps.done(_run_line(as_of, s, time.perf_counter() - t0))
        alerts = smtp.received
    return {"runs": summaries, "run_times": scenario.run_times, "as_of": max(scenario.run_times), "alerts": alerts}


def _run_line(as_of: datetime, s: dict, seconds: float) -> str:
    """One hourly run of the demo in a line: what landed, what validation set aside, what it found."""
    new = sum(r["items_new"] for r in s["sources"])
    upd = sum(r["items_updated"] for r in s["sources"])
    errs = [r["source_id"] for r in s["sources"] if r["status"] == "error"]
    v, sig = s.get("validation", {}), s.get("signals", {})
    interest = sig.get("stories_of_interest", 0)
    interest = sum(interest.values()) if isinstance(interest, dict) else interest
    sent = sum(1 for a in (s.get("alerts") or {}).get("lines", []) if a.get("status") == "sent")
    return (f"{as_of:%d %b %H:%M} UTC  {new:4d} new  {upd:2d} edited  "
            f"validated {sum(v.get('rows', {}).values()):4d} rows, {v.get('quarantined', 0)} quarantined  "
            f"stories of interest {interest:2d}  alerts sent {sent}  {seconds:5.1f} s"
            + (f"  errors: {', '.join(errs)}" if errs else ""))


def alert_lines(run_times: list[datetime], summaries: list[dict]) -> list[str]:
    """One line per alert the runs sent: the run's hour, the recipient, the subject."""
    return [f"  {as_of:%d %b %H:%M} UTC run  to {a['recipient']}  {a['subject']}"
            for as_of, s in zip(run_times, summaries)
            for a in (s.get("alerts") or {}).get("lines", []) if a["status"] == "sent"]


def demo_report(db_path: str | Path, as_of: datetime, out_dir: str | Path) -> Path:
    """Send the demo's reports to a real SMTP server on 127.0.0.1 and save what it received
    (<watchlist>.eml, <watchlist>.html and its chart files) in out_dir. Returns the first watch list's HTML."""
    out_dir = Path(out_dir)
    config_dir = Path(__file__).resolve().parent.parent / DEMO_CONFIG
    wls = load_model(config_dir / "watchlists.yaml", WatchlistsFile).watchlists
    with LocalSmtpServer(out_dir / "inbox") as smtp, smtp.as_desk_mail():
        for wl in wls:
            report(wl.id, config_dir=str(config_dir), db_path=str(db_path), as_of=as_of,
                   archive_dir=str(out_dir / "archive"))
        received = smtp.received
    pages = {}
    for msg in received:
        watchlist_id = parse(msg.data)["X-Desk-Watchlist"]
        pages[watchlist_id] = save_message(msg.data, out_dir, watchlist_id)
    if wls[0].id not in pages:
        raise RuntimeError(f"the local SMTP server received no report for {wls[0].id}")
    return pages[wls[0].id]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Replay the demo scenario through the local mirror.")
    ap.add_argument("--db", default="var/demo.duckdb",
                    help="DuckDB file to (re)create, or an empty DuckLake: ducklake:postgres:<connection string>")
    args = ap.parse_args(argv)
    db_path = args.db if db.is_lake(args.db) else Path(args.db)
    print(f"demo: replaying scenario 'iran_talks' through the local mirror into {db_path}")
    inbox = Path("var/demo-alerts")
    result = run_demo(db_path, inbox)
    print(f"\nsignal alerts, as the local SMTP server received them ({len(result['alerts'])}, saved in {inbox}/):")
    print("\n".join(alert_lines(result["run_times"], result["runs"])) or "  none")
    html = demo_report(db_path, result["as_of"], Path("var/demo-report"))
    print(f"\nthe report, as the local SMTP server received it: {html}")
    snap = db.snapshot_path(db_path)
    con = db.connect(snap, read_only=True)
    try:
        total = con.execute("select count(*) from items").fetchone()[0]
        if db.is_lake(db_path):
            print(f"\n{total} items landed. Analysts attach the lake read-only:\n"
                  f"  ATTACH '{snap}' AS desk (READ_ONLY); USE desk;\n")
        else:
            print(f"\n{total} items landed. Analysts open the read-only snapshot in an SQL shell:\n  ./run sql {snap}\n")
        print("Example query:\n" + EXAMPLE_QUERY + "\n")
        for row in con.execute(EXAMPLE_QUERY).fetchall():
            print("  " + "  ".join(str(v) for v in row))
    finally:
        con.close()


if __name__ == "__main__":
    main()
