"""Which alerts a run owes: the signals whose level rose since the last run, each recorded as one `alerts`
row per opted-in recipient and channel, in the transaction that moves `signal_levels` on. So a rerun of
the same hour, a retry or a crash finds the change already recorded and records nothing again.

Quiet period: after an alert about a signal goes out to a recipient, further changes of that signal
within the recipient's `quiet_minutes` are held; when the period ends, one alert carries them all (the
latest level, with the changes listed), or none if the signal fell back to the level last sent.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from signal_desk.config import SIGNAL_LEVELS, Config, Watchlist
from signal_desk.clock import as_utc, utcnow
from signal_desk.db import transaction
from signal_desk.signal_alerts.ledger import WENT_OUT
from signal_desk.signal_alerts.message import Change, SignalNow, read_signal, render, subject, webhook_body

RANK = {level: i for i, level in enumerate(SIGNAL_LEVELS)}


@dataclass(frozen=True, slots=True)
class Target:
    """One recipient of a watch list's alerts on one channel, with the settings that apply to it."""
    channel: str              # email | webhook
    recipient: str            # the address, or where the webhook's URL is read from
    min_level: str
    quiet: timedelta


def targets(wl: Watchlist) -> list[Target]:
    """Who hears about the watch list's signals: the opted-in recipients and the webhook, each with its
    own settings or the watch list's."""
    a = wl.alerts
    if a is None or not a.enabled:
        return []
    chosen = [("email", r.email, r) for r in a.recipients if r.enabled]
    if a.webhook is not None and a.webhook.enabled:
        chosen.append(("webhook", a.webhook.label, a.webhook))
    return [Target(channel, recipient, options.min_level or a.min_level,
                   timedelta(minutes=a.quiet_minutes if options.quiet_minutes is None else options.quiet_minutes))
            for channel, recipient, options in chosen]


def alert_id_for(watchlist_id: str, signal_id: str, to_level: str, changed_at: datetime, channel: str,
                 recipient: str) -> str:
    """Deterministic: the same change for the same recipient and channel is always the same alert."""
    key = "\x1f".join([watchlist_id, signal_id, to_level, f"{as_utc(changed_at):%Y%m%dT%H%M%SZ}", channel, recipient])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def note_changes(con: duckdb.DuckDBPyConnection, cfg: Config, run_id: str, as_of: datetime | None) -> list[dict]:
    """Record this run's changes and release the quiet periods that ended, in one transaction. Returns a
    line per alert recorded, released or cancelled, for the run's artifact."""
    as_of = as_utc(as_of) if as_of else utcnow()
    return transaction(con, lambda: _note(con, cfg, run_id, as_of), what="recording signal alerts")


def _note(con: duckdb.DuckDBPyConnection, cfg: Config, run_id: str, as_of: datetime) -> list[dict]:
    try:
        current = {(w, s): (level, since) for w, s, level, since in con.execute(
            "select watchlist_id, signal_id, level, level_since from mart_signal_status").fetchall()}
    except duckdb.CatalogException:          # no signals computed yet
        return []
    windows = {wl.id: timedelta(hours=wl.window_hours) for wl in cfg.watchlists}
    previous = dict(((w, s), level) for w, s, level in con.execute(
        "select watchlist_id, signal_id, level from signal_levels").fetchall())
    changes: dict[tuple[str, str], Change] = {}
    for key, (level, since) in current.items():
        before = previous.get(key)
        if before is None:
            # Never looked at before (a new signal, or the first run with alerts): a level reached within the
            # watch list's window is news; an older one is where this signal starts from.
            recent = since is not None and as_utc(since) >= as_of - windows.get(key[0], timedelta(0))
            before = "not seen" if recent else level
        if RANK[level] > RANK[before]:
            changes[key] = Change(before, level, as_of)
    con.execute("delete from signal_levels")
    if current:
        con.executemany("insert into signal_levels values (?, ?, ?, ?, ?, ?)",
                        [[w, s, level, since, as_of, run_id] for (w, s), (level, since) in sorted(current.items())])

    lines = _cancel_unconfigured(con, cfg)
    by_target = _open_alerts(con)
    signals: dict[tuple[str, str], SignalNow | None] = {}

    def signal_now(wl: Watchlist, signal_id: str) -> SignalNow | None:
        if (wl.id, signal_id) not in signals:
            signals[(wl.id, signal_id)] = read_signal(con, wl, signal_id, as_of)
        return signals[(wl.id, signal_id)]

    for wl in cfg.watchlists:
        for target in targets(wl):
            for (wl_id, signal_id), (level, _) in sorted(current.items()):
                if wl_id != wl.id:
                    continue
                change = changes.get((wl_id, signal_id))
                if change is not None and RANK[change.to_level] < RANK[target.min_level]:
                    change = None
                open_rows = by_target.get((wl_id, signal_id, target.channel, target.recipient), {})
                lines += _for_target(con, wl, signal_id, target, change, level, open_rows, run_id, as_of,
                                     lambda: signal_now(wl, signal_id))
    return lines


def _open_alerts(con: duckdb.DuckDBPyConnection) -> dict[tuple, dict]:
    """Per (watch list, signal, channel, recipient): the last alert that went out and the held ones."""
    out: dict[tuple, dict] = {}
    for row in con.execute(f"""
        with ranked as (
            select
                alert_id, watchlist_id, signal_id, channel, recipient, from_level, to_level, changed_at, status,
                row_number() over (partition by watchlist_id, signal_id, channel, recipient, status in {WENT_OUT}
                                   order by changed_at desc, recorded_at desc) as newest
            from alerts
            where status = 'held' or status in {WENT_OUT}
        )

        select * from ranked where status = 'held' or newest = 1 order by changed_at
    """).fetchall():
        alert_id, wl_id, signal_id, channel, recipient, from_level, to_level, changed_at, status, _ = row
        slot = out.setdefault((wl_id, signal_id, channel, recipient), {"held": [], "last": None})
        entry = dict(alert_id=alert_id, from_level=from_level, to_level=to_level, changed_at=as_utc(changed_at))
        if status == "held":
            slot["held"].append(entry)
        else:
            slot["last"] = entry
    return out


def _for_target(con, wl: Watchlist, signal_id: str, target: Target, change: Change | None, level: str,
                open_rows: dict, run_id: str, as_of: datetime, signal_now) -> list[dict]:
    held, last = open_rows.get("held", []), open_rows.get("last")
    quiet_until = last["changed_at"] + target.quiet if last else None
    inside_quiet = quiet_until is not None and as_of < quiet_until
    held_changes = [Change(h["from_level"], h["to_level"], h["changed_at"]) for h in held]
    if change is not None:
        now = signal_now()
        if now is None:
            return []
        status = "held" if inside_quiet else "pending"
        gathered = [change] if inside_quiet else held_changes + [change]
        alert_id = _insert(con, wl, signal_id, target, change, status, quiet_until if inside_quiet else None,
                           now, gathered, last, run_id, as_of)
        if not inside_quiet and held:
            _batch_into(con, [h["alert_id"] for h in held], alert_id)
        return [_line(wl, now, target, alert_id, status, quiet_until if inside_quiet else None, len(gathered))]
    if not held or inside_quiet:
        return []
    # the quiet period ended with changes held: one alert carries them, if there is still news
    heard = last["to_level"] if last else "not seen"
    now = signal_now()
    if now is None or RANK[level] <= RANK[heard] or RANK[level] < RANK[target.min_level]:
        con.execute("""
            update alerts set status = 'flapped', last_error = ?
            where alert_id in (select unnest(?::varchar[]))
            """, [f"the signal was back at {level} when the quiet period ended, and {heard} had been sent: "
                  f"nothing new to say", [h["alert_id"] for h in held]])
        return [dict(watchlist=wl.title, signal=now.title if now else signal_id, channel=target.channel,
                     recipient=target.recipient, status="flapped", subject="",
                     note=f"{len(held)} held change(s) settled back at {level}: no alert")]
    carrier = next((h for h in reversed(held) if h["to_level"] == level), held[-1])
    mail_subject, text, html = render(now, held_changes, quiet_since=last["changed_at"] if last else None)
    con.execute("""
        update alerts set status = 'pending', send_after = null, subject = ?, text_body = ?, html = ?, payload = ?
        where alert_id = ?
        """, [mail_subject, text, html, webhook_body(text) if target.channel == "webhook" else None,
              carrier["alert_id"]])
    _batch_into(con, [h["alert_id"] for h in held if h is not carrier], carrier["alert_id"])
    return [_line(wl, now, target, carrier["alert_id"], "pending", None, len(held))]


def _insert(con, wl: Watchlist, signal_id: str, target: Target, change: Change, status: str,
            send_after: datetime | None, now: SignalNow, gathered: list[Change], last: dict | None, run_id: str,
            as_of: datetime) -> str:
    alert_id = alert_id_for(wl.id, signal_id, change.to_level, change.changed_at, target.channel, target.recipient)
    quiet_since = last["changed_at"] if last and len(gathered) > 1 else None
    mail_subject, text, html = render(now, gathered, quiet_since=quiet_since)
    con.execute("""
        insert into alerts (alert_id, watchlist_id, signal_id, from_level, to_level, changed_at, run_id, channel,
                            recipient, status, send_after, subject, text_body, html, payload, attempts, recorded_at)
        select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?
        where not exists (select 1 from alerts where alert_id = ?)
        """, [alert_id, wl.id, signal_id, change.from_level, change.to_level, change.changed_at, run_id,
              target.channel, target.recipient, status, send_after, mail_subject, text, html,
              webhook_body(text) if target.channel == "webhook" else None, as_of, alert_id])
    return alert_id


def _batch_into(con, alert_ids: list[str], carrier_id: str) -> None:
    if alert_ids:
        con.execute("""
            update alerts set status = 'batched', batched_into = ?, send_after = null
            where alert_id in (select unnest(?::varchar[]))
            """, [carrier_id, alert_ids])


def _cancel_unconfigured(con, cfg: Config) -> list[dict]:
    """Alerts not yet sent to someone no longer opted in (or a webhook since removed) are not sent."""
    wanted = {(wl.id, t.channel, t.recipient) for wl in cfg.watchlists for t in targets(wl)}
    rows = con.execute("""
        select alert_id, watchlist_id, channel, recipient, subject from alerts where status in ('held', 'pending')
    """).fetchall()
    gone = [r for r in rows if (r[1], r[2], r[3]) not in wanted]
    if gone:
        con.execute("""
            update alerts set status = 'cancelled', last_error = ?
            where alert_id in (select unnest(?::varchar[]))
            """, ["the recipient no longer receives this watch list's alerts", [r[0] for r in gone]])
    return [dict(watchlist=r[1], signal="", channel=r[2], recipient=r[3], status="cancelled", subject=r[4] or "",
                 note="no longer configured") for r in gone]


def _line(wl: Watchlist, now: SignalNow, target: Target, alert_id: str, status: str, until: datetime | None,
          changes: int) -> dict:
    note = f"held for the quiet period, until {until:%d %b %H:%M} UTC" if status == "held" else (
        f"carries {changes} changes from a quiet period" if changes > 1 else "")
    return dict(alert_id=alert_id, watchlist=wl.title, signal=now.title, channel=target.channel,
                recipient=target.recipient, status=status, subject=subject(now), note=note)
