"""The demo's report, as received by a real SMTP server, read in headless Chromium on a 390 x 844 phone
screen: the top section fits the first screen, the whole report is at most twelve screens, no id shows,
every right-to-left run is marked with its direction, the chart's labels are legible, the .eml is small.

Needs Debian's `chromium` package (apt-get install -y chromium); skipped, saying so, where it is absent.
The measuring is signal_desk/report/phone.py, which also regenerates the screenshots in docs/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from signal_desk.report import phone
from tests.test_report import REPORT_END, copy_db, demo_ids, id_tokens

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(phone.CHROMIUM is None,
                                 reason="headless Chromium is not installed (apt-get install -y chromium)")]

MAX_SCREENS = 12
MAX_EML_BYTES = 300 * 1024


@pytest.fixture(scope="module")
def received_html(demo_db, tmp_path_factory) -> Path:
    from mirror.demo import demo_report
    folder = tmp_path_factory.mktemp("phone")
    return demo_report(copy_db(demo_db, folder), REPORT_END, folder / "out")


@pytest.fixture(scope="module")
def measured(received_html) -> dict:
    return phone.measure(received_html)


def test_the_top_section_fits_the_first_screen_and_the_report_is_at_most_twelve(measured):
    m = measured
    assert (m["viewport"], m["screen"]) == (phone.WIDTH, phone.HEIGHT)
    assert m["topBottom"] is not None, "the report has no top section (id=top)"
    assert m["topBottom"] <= phone.HEIGHT, f"the top section ends at {m['topBottom']:.0f} px, below the first screen"
    screens = m["height"] / phone.HEIGHT
    assert screens <= MAX_SCREENS, f"the report is {screens:.1f} screens long"


def test_it_fits_the_width_and_reads_at_a_phone_font_size(measured):
    m = measured
    assert m["scrollWidth"] <= phone.WIDTH, f"the page scrolls sideways: {m['widest']} px wide at {m['what']!r}"
    assert m["fontPx"] >= 14


def test_no_id_is_visible(measured, demo_db):
    found = id_tokens(measured["text"], demo_ids(demo_db))
    assert found == set(), f"ids in the visible text: {sorted(found)}"


def test_every_right_to_left_run_is_marked(measured):
    m = measured
    assert m["rtlRuns"] >= 5, "the demo's Arabic and Persian posts are not in the report"
    assert m["unmarked"] == [], f"right-to-left text not marked with its direction: {m['unmarked'][:5]}"


def test_the_chart_is_inline_sized_for_its_width_with_labels_of_at_least_12_px(measured):
    from signal_desk.report import chart
    charts = [i for i in measured["images"] if i["src"].endswith(".png")]
    assert charts, "no chart in the report"
    for img in charts:
        assert img["loaded"] and img["width"] <= phone.WIDTH
        assert img["natural"] == chart.CSS_WIDTH * chart.SCALE          # two device pixels per CSS pixel
        assert img["natural"] <= 2 * phone.WIDTH
        tick_px = chart.TICK_PT * chart.SCALE * img["width"] / img["natural"]
        assert tick_px >= 12, f"tick labels are {tick_px:.1f} px on the phone"


def test_the_eml_is_under_300_kb(received_html):
    from signal_desk.report.mail import parse
    eml = received_html.with_suffix(".eml")
    size = eml.stat().st_size
    assert size < MAX_EML_BYTES, f"the .eml is {size / 1024:.0f} KB"
    images = [p for p in parse(eml.read_bytes()).walk() if p.get_content_maintype() == "image"]
    assert images and all(p.get_content_disposition() == "inline" for p in images)


def test_a_phone_screenshot_of_the_first_screen(received_html, tmp_path):
    import matplotlib.image as mpimg
    shot = phone.screenshot(received_html, tmp_path / "phone.png")
    pixels = mpimg.imread(shot)
    height, width = pixels.shape[:2]
    assert (width, height) == (phone.WIDTH, phone.HEIGHT)
    assert pixels.std() > 0.05                          # text, not a blank page
    right_edge = pixels[:, -6:, :3]
    assert right_edge.min() > 0.85, "something is drawn into the right edge: the page is cut off"
