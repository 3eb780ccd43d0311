"""The demo's report, as received by a real SMTP server, read in headless Chromium at a phone's width.

Needs Debian's `chromium` package (apt-get install -y chromium); skipped, saying so, where it is absent.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_report import REPORT_END, copy_db

pytestmark = pytest.mark.slow

PHONE_WIDTH = 390
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]

# Chromium will not make a headless window narrower than 500 px, so the page is measured inside an
# iframe exactly as wide as a phone.
PROBE_PAGE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="phone" src="{src}" style="width:{width}px;height:2400px;border:0"></iframe>
<script>
document.getElementById('phone').addEventListener('load', function () {{
  var d = this.contentDocument, w = this.contentWindow, widest = 0, what = '';
  d.querySelectorAll('body *').forEach(function (e) {{
    var r = e.getBoundingClientRect().right;
    if (r > widest) {{ widest = r; what = e.tagName + ' ' + (e.textContent || '').slice(0, 60); }}
  }});
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({{
    viewport: w.innerWidth, scrollWidth: d.documentElement.scrollWidth, widest: widest, what: what,
    fontPx: parseFloat(w.getComputedStyle(d.querySelector('td')).fontSize),
    images: Array.from(d.images).map(function (i) {{
      return {{loaded: i.complete && i.naturalWidth > 0, width: i.getBoundingClientRect().width}}; }})
  }});
  document.body.appendChild(out);
}});
</script></body></html>
"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def received_html(demo_db, tmp_path_factory) -> Path:
    from flows.report import demo_report
    folder = tmp_path_factory.mktemp("phone")
    return demo_report(copy_db(demo_db, folder), REPORT_END, folder / "out")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
def test_the_demo_report_fits_a_phone_screen(received_html, tmp_path):
    probe = received_html.parent / "phone-probe.html"
    probe.write_text(PROBE_PAGE.format(src=received_html.name, width=PHONE_WIDTH), encoding="utf-8")
    run = chromium(["--allow-file-access-from-files", "--virtual-time-budget=10000",
                    "--window-size=800,2400", "--dump-dom", probe.as_uri()], tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"Chromium printed no measurement: {run.stderr[-2000:]}"
    m = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert m["viewport"] == PHONE_WIDTH
    assert m["scrollWidth"] <= PHONE_WIDTH, f"the page scrolls sideways: {m['widest']} px wide at {m['what']!r}"
    assert m["fontPx"] >= 14
    assert m["images"] and all(i["loaded"] and i["width"] <= PHONE_WIDTH for i in m["images"])


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
def test_a_phone_screenshot_of_the_demo_report(received_html, tmp_path):
    import matplotlib.image as mpimg
    shot = received_html.parent / "phone.png"
    run = chromium([f"--window-size={PHONE_WIDTH},2000", f"--screenshot={shot}", received_html.as_uri()],
                   tmp_path / "profile")
    assert shot.exists(), run.stderr[-2000:]
    pixels = mpimg.imread(shot)
    height, width = pixels.shape[:2]
    assert (width, height) == (PHONE_WIDTH, 2000)
    assert pixels.std() > 0.05                          # text and chart, not a blank page
    right_edge = pixels[:, -6:, :3]
    assert right_edge.min() > 0.85, "something is drawn into the right edge: the page is cut off"
