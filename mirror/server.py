"""A local mirror of the public sources, serving a scenario in each source's real wire format.

Paths (all under one base URL, default http://127.0.0.1:8765):
  /telegram/s/<channel>[?before=N]      t.me/s web preview pages, ~20 posts a page, newest first paging
  /telegram/<channel>                   the landing page t.me shows for channels without a preview
  /nitter-a/<account>/rss, /nitter-b/…   Nitter-style X mirrors (two instances, for failover)
  /rss/<feed>.xml                       RSS 2.0 feeds
  /polymarket-gamma/…, /polymarket-clob/prices-history, /kalshi/trade-api/v2/…, /manifold/v0/…
Control (for the demo, tests and benchmarks):
  POST /_mirror/clock {"as_of": ISO-8601}     what "now" is: only posts and prices up to it exist
  POST /_mirror/faults {"path": prefix, "mode": ..., "count": n}   misbehave on matching requests
  DELETE /_mirror/faults, GET /_mirror/stats
Fault modes: http-<code> (with "retry_after"), reset, slow (delay_s), drip (delay_s spread over the body),
truncate, layout (Telegram markup with renamed classes), private (channel gone private), not-found,
shape (market JSON in a new shape), huge (a multi-megabyte body), gzip-bomb, redirect-offhost,
redirect-offhost-query (to another host, "to_host", keeping the query), redirect-same-host (302 to /moved/<path>,
keeping the query; /moved/<path> answers as <path> does), deep-nesting (the text of the middle post of
a Telegram page, or of a feed's middle item, wrapped in `depth` nested <tag> elements, <b> unless "tag"
says otherwise).
"""
from __future__ import annotations

import argparse
import gzip
import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

from mirror.environ import environment
from mirror.scenario_types import Scenario

TELEGRAM_PAGE_SIZE = 20
MOVED_PREFIX = "/moved"
NITTER_INSTANCES = ("nitter-a", "nitter-b")
RSS_ITEMS = 50


@dataclass
class Fault:
    path: str
    mode: str
    count: int | None = None          # None: until cleared
    retry_after: str | None = None
    delay_s: float = 0.0
    depth: int = 300                  # deep-nesting: how many elements around the post's text
    tag: str = "b"                    # deep-nesting: which element
    to_host: str = "example.invalid"  # redirect-offhost-query: where to (host[:port])
    hits: int = 0


@dataclass
class MirrorState:
    scenario: Scenario
    as_of: datetime
    faults: list[Fault] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if path.startswith(f.path) and (f.count is None or f.hits < f.count):
                    f.hits += 1
                    return f
        return None


_TELEGRAM_TEXT = b'<div class="tgme_widget_message_text js-message_text" dir="auto">'
_FEED_ITEM, _FEED_TEXT, _FEED_TEXT_END = b"<item>", b"<description><![CDATA[", b"]]></description>"


def nest_middle_post(body: bytes, depth: int, tag: str = "b") -> bytes:
    """The text of the post in the middle of a Telegram page (or the middle item of a feed) inside
    `depth` nested <tag> elements: a post with neighbours on both sides."""
    if body.find(_TELEGRAM_TEXT) >= 0:
        starts = _all(body, _TELEGRAM_TEXT)
        start = starts[len(starts) // 2] + len(_TELEGRAM_TEXT)
        end = body.find(b"</div>", start)
    else:
        items = _all(body, _FEED_ITEM)
        at = body.find(_FEED_TEXT, items[len(items) // 2]) if items else -1
        if at < 0:
            return body
        start = at + len(_FEED_TEXT)
        end = body.find(_FEED_TEXT_END, start)
    opening, closing = f"<{tag}>".encode(), f"</{tag}>".encode()
    return body[:start] + opening * depth + body[start:end] + closing * depth + body[end:]


def _all(body: bytes, needle: bytes) -> list[int]:
    found, at = [], body.find(needle)
    while at >= 0:
        found.append(at)
        at = body.find(needle, at + 1)
    return found


def _parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class _Handler(BaseHTTPRequestHandler):
    server_version = "signal-desk-mirror/0.1"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the body's last segment waits for
    # the client's delayed ACK, about 40 ms a response on loopback, which no real source adds.
    disable_nagle_algorithm = True
    state: MirrorState                 # set on the subclass made per server

    def log_message(self, *args) -> None:   # quiet: tests and the demo read the stats instead
        pass

    # -- plumbing -----------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None,
              fault: Fault | None = None) -> None:
        if fault and fault.mode == "truncate":
            body = body[: len(body) // 2]
        if fault and fault.mode == "deep-nesting":
            body = nest_middle_post(body, fault.depth, fault.tag)
        if fault and fault.mode == "gzip-bomb":
            body = gzip.compress(b"\0" * (64 * 1024 * 1024), 9)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if fault and fault.mode == "drip":
            step = max(1, len(body) // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(fault.delay_s / 20)
        else:
            self.wfile.write(body)

    def _json(self, obj_or_text, status: int = 200, fault: Fault | None = None) -> None:
        text = obj_or_text if isinstance(obj_or_text, (str, bytes)) else json.dumps(obj_or_text)
        if isinstance(text, str):
            text = text.encode()
        self._send(status, text, "application/json", fault=fault)

    def _not_found(self, what: str = "not found") -> None:
        self._send(404, what.encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        st = self.state
        if path == "/_mirror/clock":
            st.as_of = _parse_time(payload["as_of"])
            return self._json({"as_of": st.as_of.isoformat()})
        if path == "/_mirror/faults":
            with st.lock:
                st.faults.append(Fault(**payload))
            return self._json({"faults": len(st.faults)})
        self._not_found()

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path == "/_mirror/faults":
            with self.state.lock:
                self.state.faults.clear()
            return self._json({"faults": 0})
        self._not_found()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        st = self.state
        if path == "/_mirror/stats":
            with st.lock:
                return self._json({"as_of": st.as_of.isoformat(), "requests": dict(st.requests)})
        with st.lock:
            st.requests[path] = st.requests.get(path, 0) + 1
        if path.startswith(MOVED_PREFIX + "/"):
            # where redirect-same-host sends a request: answered as the original path, without faults
            try:
                return self._route(path[len(MOVED_PREFIX):], query, None)
            except BrokenPipeError:
                return
        fault = st.take_fault(self.path)   # prefix of path and query: '/telegram/s/x?before=' targets older pages
        if fault:
            handled = self._apply_fault(fault)
            if handled:
                return
        try:
            self._route(path, query, fault)
        except BrokenPipeError:
            pass

    def _apply_fault(self, f: Fault) -> bool:
        """Faults that replace the answer; the rest (truncate, drip, layout ...) alter it in _send/_route."""
        if f.mode.startswith("http-"):
            code = int(f.mode.split("-", 1)[1])
            headers = {"Retry-After": f.retry_after} if f.retry_after else {}
            self._send(code, f"mirror fault {code}".encode(), "text/plain", headers)
            return True
        if f.mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return True
        if f.mode == "slow":
            time.sleep(f.delay_s)
            return False
        if f.mode == "huge":
            self._send(200, b"<html>" + b"x" * (12 * 1024 * 1024) + b"</html>", "text/html")
            return True
        if f.mode == "redirect-offhost":
            self._send(302, b"", "text/plain", {"Location": "http://example.invalid/elsewhere"})
            return True
        if f.mode == "redirect-offhost-query":
            query = urlsplit(self.path).query
            self._send(302, b"", "text/plain",
                       {"Location": f"http://{f.to_host}/elsewhere" + (f"?{query}" if query else "")})
            return True
        if f.mode == "redirect-same-host":
            self._send(302, b"", "text/plain", {"Location": MOVED_PREFIX + self.path})
            return True
        return False

    # -- routes ---------------------------------------------------------------------
    def _route(self, path: str, q: dict, fault: Fault | None) -> None:
        seg = [s for s in path.split("/") if s]
        if not seg:
            return self._not_found()
        head = seg[0]
        if head == "telegram":
            return self._telegram(seg[1:], q, fault)
        if head in NITTER_INSTANCES and len(seg) == 3 and seg[2] == "rss":
            return self._nitter(head, seg[1], fault)
        if head == "rss" and len(seg) == 2 and seg[1].endswith(".xml"):
            return self._rss(seg[1][:-4], fault)
        if head == "polymarket-gamma":
            return self._gamma(seg[1:], q, fault)
        if head == "polymarket-clob" and seg[1:] == ["prices-history"]:
            return self._clob(q, fault)
        if head == "kalshi" and seg[1:3] == ["trade-api", "v2"]:
            return self._kalshi(seg[3:], q, fault)
        if head == "manifold" and seg[1:2] == ["v0"]:
            return self._manifold(seg[2:], q, fault)
        return self._not_found()

    def _outlet(self, kind: str, handle: str):
        for o in self.state.scenario.outlets:
            if o.kind == kind and o.handle.lower() == handle.lower():
                return o
        return None

    def _telegram(self, seg: list[str], q: dict, fault: Fault | None) -> None:
        from mirror.telegram_page import render_channel_page, render_not_found
        base = f"http://{self.headers.get('Host')}/telegram"
        if len(seg) == 1:          # landing page
            return self._send(200, render_not_found(seg[0]).encode(), "text/html; charset=utf-8")
        if len(seg) != 2 or seg[0] != "s":
            return self._not_found()
        handle = seg[1]
        outlet = self._outlet("telegram", handle)
        if fault and fault.mode == "not-found":
            outlet = None
        if outlet is None or (fault and fault.mode == "private"):
            # t.me redirects /s/<channel> to the landing page when there is no public preview
            return self._send(302, b"", "text/plain", {"Location": f"/telegram/{handle}"})
        posts = self.state.scenario.posts_of(outlet.handle, self.state.as_of)
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        if before is not None:
            posts = [p for p in posts if p.post_id < before]
        page = posts[-TELEGRAM_PAGE_SIZE:]
        older = page[0].post_id if page and len(posts) > len(page) else None
        html = render_channel_page(outlet, page, before=older, base_url=base, as_of=self.state.as_of)
        if fault and fault.mode == "layout":
            html = html.replace("tgme_widget_message", "tgme_post_v2").replace("tgme_channel_info", "tgme_ch_v2")
        self._send(200, html.encode(), "text/html; charset=utf-8", fault=fault)

    def _nitter(self, instance: str, account: str, fault: Fault | None) -> None:
        from mirror.feeds import render_nitter_rss
        outlet = self._outlet("x", account)
        if outlet is None:
            return self._not_found(f"User \"{account}\" not found")
        posts = self.state.scenario.posts_of(outlet.handle, self.state.as_of)[-RSS_ITEMS:]
        body = render_nitter_rss(outlet, list(reversed(posts)),
                                 instance_base=f"http://{self.headers.get('Host')}/{instance}", as_of=self.state.as_of)
        self._send(200, body, "application/rss+xml; charset=utf-8", fault=fault)

    def _rss(self, handle: str, fault: Fault | None) -> None:
        from mirror.feeds import render_rss
        outlet = self._outlet("rss", handle)
        if outlet is None:
            return self._not_found()
        posts = self.state.scenario.posts_of(outlet.handle, self.state.as_of)[-RSS_ITEMS:]
        body = render_rss(outlet, list(reversed(posts)), base_url=f"http://{self.headers.get('Host')}",
                          as_of=self.state.as_of)
        self._send(200, body, "application/rss+xml; charset=utf-8", fault=fault)

    def _markets(self, venue: str):
        return [m for m in self.state.scenario.markets
                if m.venue == venue and m.created_at <= self.state.as_of]

    def _shape_fault(self, fault: Fault | None) -> bool:
        if fault and fault.mode == "shape":
            self._json({"error": "this endpoint moved", "data": {"items": []}}, fault=None)
            return True
        return False

    def _gamma(self, seg: list[str], q: dict, fault: Fault | None) -> None:
        from mirror import markets as mk
        if self._shape_fault(fault):
            return
        ms = self._markets("polymarket")
        as_of = self.state.as_of
        if seg == ["markets"]:
            if "slug" in q:
                ms = [m for m in ms if m.slug == q["slug"]]
            if "id" in q:
                ms = [m for m in ms if m.market_id == q["id"]]
            return self._json(mk.gamma_markets_list_json(ms, as_of), fault=fault)
        if len(seg) == 2 and seg[0] == "markets":
            found = [m for m in ms if m.market_id == seg[1]]
            return self._json(mk.gamma_market_json(found[0], as_of), fault=fault) if found else self._not_found()
        if seg == ["public-search"]:
            return self._json(mk.gamma_public_search_json(ms, q.get("q", ""), as_of), fault=fault)
        return self._not_found()

    def _clob(self, q: dict, fault: Fault | None) -> None:
        from mirror import markets as mk
        if self._shape_fault(fault):
            return
        token = q.get("market", "")
        for m in self._markets("polymarket"):
            if token in m.token_ids:
                start = int(q.get("startTs", 0))
                end = int(q.get("endTs", 2**31))
                return self._json(mk.clob_prices_history_json(m, token, start, end, self.state.as_of), fault=fault)
        return self._json({"history": []}, fault=fault)

    def _kalshi(self, seg: list[str], q: dict, fault: Fault | None) -> None:
        from mirror import markets as mk
        if self._shape_fault(fault):
            return
        ms = self._markets("kalshi")
        as_of = self.state.as_of
        if seg == ["markets"]:
            if "tickers" in q:
                wanted = set(q["tickers"].split(","))
                ms = [m for m in ms if m.market_id in wanted]
            return self._json(mk.kalshi_markets_list_json(ms, as_of), fault=fault)
        if seg == ["markets", "trades"]:
            found = [m for m in ms if m.market_id == q.get("ticker")]
            if not found:
                return self._json({"cursor": "", "trades": []}, fault=fault)
            try:
                body = mk.kalshi_trades_json(found[0], as_of, min_ts=int(q["min_ts"]) if "min_ts" in q else None,
                                             limit=int(q.get("limit", 100)), cursor=q.get("cursor"))
            except mk.NotListed as error:
                return self._json({"error": {"code": "bad_request", "message": str(error)}}, status=400, fault=None)
            return self._json(body, fault=fault)
        if len(seg) == 2 and seg[0] == "markets":
            found = [m for m in ms if m.market_id == seg[1]]
            return self._json(mk.kalshi_market_json(found[0], as_of), fault=fault) if found else self._not_found()
        if len(seg) == 5 and seg[0] == "series" and seg[2] == "markets" and seg[4] == "candlesticks":
            found = [m for m in ms if m.market_id == seg[3]]
            if not found:
                return self._not_found()
            return self._json(mk.kalshi_candlesticks_json(
                found[0], int(q.get("start_ts", 0)), int(q.get("end_ts", 2**31)),
                int(q.get("period_interval", 60)), as_of), fault=fault)
        return self._not_found()

    def _manifold(self, seg: list[str], q: dict, fault: Fault | None) -> None:
        from mirror import markets as mk
        if self._shape_fault(fault):
            return
        ms = self._markets("manifold")
        as_of = self.state.as_of
        if len(seg) == 2 and seg[0] in ("market", "slug"):
            found = [m for m in ms if seg[1] in (m.market_id, m.slug)]
            return self._json(mk.manifold_market_json(found[0], as_of), fault=fault) if found else self._not_found()
        if seg == ["bets"]:
            found = [m for m in ms if m.market_id == q.get("contractId")]
            return self._json(mk.manifold_bets_json(found[0], as_of) if found else "[]", fault=fault)
        return self._not_found()


class MirrorServer:
    """The mirror in a background thread. `with MirrorServer(scenario) as m: m.base_url ...`"""

    def __init__(self, scenario: Scenario, *, host: str = "127.0.0.1", port: int = 0,
                 as_of: datetime | None = None):
        self.state = MirrorState(scenario=scenario, as_of=as_of or scenario.end)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_clock(self, as_of: datetime) -> None:
        self.state.as_of = as_of

    @contextmanager
    def as_source_url(self) -> Iterator["MirrorServer"]:
        """For the block, the sources' ${MIRROR_URL} is this mirror; the environment is restored after."""
        with environment({"MIRROR_URL": self.base_url}):
            yield self

    def add_fault(self, path: str, mode: str, count: int | None = None, **kw) -> Fault:
        f = Fault(path=path, mode=mode, count=count, **kw)
        with self.state.lock:
            self.state.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def request_count(self, prefix: str = "/") -> int:
        with self.state.lock:
            return sum(n for p, n in self.state.requests.items() if p.startswith(prefix))

    def start(self) -> "MirrorServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "MirrorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    from mirror.scenario import load_scenario
    ap = argparse.ArgumentParser(prog="./run mirror", description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="iran_talks", help="scenario under mirror/scenarios/ (default: %(default)s)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    ap.add_argument("--port", type=int, default=8765, help="port to listen on (default: %(default)s)")
    ap.add_argument("--as-of", help="ISO-8601 clock (default: the scenario's end)")
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    server = MirrorServer(sc, host=args.host, port=args.port,
                          as_of=_parse_time(args.as_of) if args.as_of else None)
    print(f"mirror of {sc.name} at {server.base_url} (as of {server.state.as_of.isoformat()})", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
