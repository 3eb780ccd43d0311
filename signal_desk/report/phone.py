"""The report as a phone shows it: headless Chromium at 390 x 844 CSS px (an iPhone 12-15), measuring the
page and taking screenshots. Used by tests/test_report_phone.py and to regenerate the screenshots in
docs/ (docs/reports.md):

    ./run demo
    .venv/bin/python -m signal_desk.report.phone var/demo-report/us-iran-talks.html --shots docs

Needs Debian's `chromium` package (apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji).
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 390, 844
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio", "--force-device-scale-factor=1"]
TIMEOUT_S = 240          # a loaded 2-core machine can take long to start Chromium

# Chromium will not make a headless window narrower than 500 px for --dump-dom, so the report is
# measured inside an iframe exactly as wide and as high as the phone's screen.
PROBE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="phone" src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>
var RTL = /[\\u0590-\\u08FF\\uFB1D-\\uFDFF\\uFE70-\\uFEFF]/;
document.getElementById('phone').addEventListener('load', function () {{
  var d = this.contentDocument, w = this.contentWindow, widest = 0, what = '';
  d.querySelectorAll('body *').forEach(function (e) {{
    var r = e.getBoundingClientRect().right;
    if (r > widest) {{ widest = r; what = e.tagName + ' ' + (e.textContent || '').slice(0, 60); }}
  }});
  // every text node with right-to-left letters: the nearest element marking a direction (dir, or a bdi)
  // must say rtl or auto, and Chromium must resolve it to rtl: the run is isolated as right to left
  var unmarked = [], runs = 0, walker = d.createTreeWalker(d.body, NodeFilter.SHOW_TEXT), n;
  while ((n = walker.nextNode())) {{
    if (!RTL.test(n.data)) continue;
    runs += 1;
    var el = n.parentElement, marked = null;
    while (el && el !== d.documentElement) {{
      if (el.hasAttribute('dir') || el.tagName === 'BDI') {{ marked = el; break; }}
      el = el.parentElement;
    }}
    var dir = marked ? (marked.getAttribute('dir') || 'auto').toLowerCase() : '';
    var ok = marked && (dir === 'rtl' || dir === 'auto' || marked.tagName === 'BDI')
             && w.getComputedStyle(marked).direction === 'rtl';
    if (!ok) unmarked.push({{text: n.data.slice(0, 80), marked: marked ? marked.tagName + '[dir=' + dir + ']' : null}});
  }}
  var top = d.getElementById('top');
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({{
    viewport: w.innerWidth, screen: w.innerHeight, scrollWidth: d.documentElement.scrollWidth,
    height: d.documentElement.scrollHeight, widest: widest, what: what,
    topBottom: top ? top.getBoundingClientRect().bottom + w.scrollY : null,
    anchors: Object.fromEntries(Array.from(d.querySelectorAll('[id]')).map(function (e) {{
      return [e.id, e.getBoundingClientRect().top + w.scrollY]; }})),
    fontPx: parseFloat(w.getComputedStyle(d.querySelector('td')).fontSize),
    text: d.body.innerText, rtlRuns: runs, unmarked: unmarked,
    images: Array.from(d.images).map(function (i) {{
      return {{src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0, natural: i.naturalWidth,
              width: i.getBoundingClientRect().width}}; }})
  }});
  document.body.appendChild(out);
}});
</script></body></html>
"""


class ChromiumError(RuntimeError):
    """Chromium is missing, or gave no answer."""


def chromium(args: list[str], profile: Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        raise ChromiumError("headless Chromium is not installed (apt-get install -y chromium)")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)


def measure(page: Path, width: int = WIDTH, height: int = HEIGHT, attempts: int = 2) -> dict:
    """The report at a phone's size: page height, where the top section ends, the visible text, the
    right-to-left text nodes not marked with their direction, the images as shown."""
    page = Path(page).resolve()
    probe = page.parent / f".{page.stem}-phone-probe.html"
    probe.write_text(PROBE_PAGE.format(src=html.escape(page.name), width=width, height=height), encoding="utf-8")
    errors = []
    try:
        for _ in range(attempts):
            with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
                try:
                    run = chromium(["--allow-file-access-from-files", "--virtual-time-budget=15000",
                                    "--window-size=800,1000", "--dump-dom", probe.as_uri()], Path(profile))
                except subprocess.TimeoutExpired as e:
                    errors.append(f"timed out after {e.timeout} s")
                    continue
            found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
            if found:
                return json.loads(html.unescape(found.group(1)))
            errors.append(run.stderr[-1500:])
    finally:
        probe.unlink(missing_ok=True)
    raise ChromiumError("Chromium printed no measurement: " + " | ".join(errors))


def screenshot(page: Path, out: Path, *, top: float = 0, width: int = WIDTH, height: int = HEIGHT,
               page_height: int | None = None, attempts: int = 2) -> Path:
    """What the phone's screen shows with the page scrolled to `top` (CSS px): the whole page is
    rendered at the phone's width and the screen cut from it."""
    from PIL import Image
    page, out = Path(page).resolve(), Path(out).resolve()
    tall = max(height, int(page_height or top + height) + 10)
    errors = []
    for _ in range(attempts):
        out.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
            try:
                run = chromium(["--virtual-time-budget=10000", f"--window-size={width},{tall}",
                                f"--screenshot={out}", page.as_uri()], Path(profile))
            except subprocess.TimeoutExpired as e:
                errors.append(f"timed out after {e.timeout} s")
                continue
        if out.exists():
            img = Image.open(out)
            y = max(0, min(int(top), img.height - height))
            img.crop((0, y, width, y + height)).save(out)
            return out
        errors.append(run.stderr[-1500:])
    raise ChromiumError(f"Chromium wrote no screenshot of {page}: " + " | ".join(errors))


def _small(path: Path) -> None:
    """Screenshots for the docs, quantized: a few tens of KB each."""
    from PIL import Image
    img = Image.open(path).convert("RGB")
    img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, format="PNG", optimize=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Measure the report at a phone's size and take its screenshots.")
    ap.add_argument("page", type=Path, help="the report's HTML as received (var/demo-report/us-iran-talks.html)")
    ap.add_argument("--shots", type=Path, help="folder for report-phone-top.png and report-phone-chart.png")
    a = ap.parse_args(argv)
    m = measure(a.page)
    screens = m["height"] / m["screen"]
    print(f"{a.page}: {m['height']} px high = {screens:.1f} screens of {m['screen']} px at {m['viewport']} px wide; "
          f"top section ends at {m['topBottom']:.0f} px; {m['rtlRuns']} right-to-left text nodes, "
          f"{len(m['unmarked'])} unmarked; images shown {[round(i['width']) for i in m['images']]} px wide")
    eml = a.page.with_suffix(".eml")
    if eml.exists():
        print(f"{eml}: {eml.stat().st_size / 1024:.0f} KB")
    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
        chart = m["anchors"].get("chart-1")
        shots = [("report-phone-top.png", 0.0)]
        if chart is not None:      # from the heading of the chart's story when it fits, else the chart itself
            story = max((top for key, top in m["anchors"].items() if key.startswith("story-") and top <= chart),
                        default=chart)
            shots.append(("report-phone-chart.png", story - 6 if chart - story < 400 else chart - 8))
        for name, top in shots:
            path = screenshot(a.page, a.shots / name, top=top, page_height=m["height"])
            _small(path)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
