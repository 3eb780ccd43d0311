"""Every field of sources.yaml and watchlists.yaml that can be malformed: one error, naming the file, the
line, the source or watch list by its id and the field, raised by load_config before anything runs. (tests/test_config.py covers register,
language, kind, a non-http url, bad regexes, time zones, unknown claims in contradictions and unknown
source ids; these are the rest.)"""
from __future__ import annotations

import pytest

from signal_desk.config import ConfigError, load_config
from tests.reliability_table import record_outcome

SOURCES = """\
endpoints:
  telegram: http://127.0.0.1:9/telegram
  x_mirrors: ["http://127.0.0.1:9/nitter-a"]
  polymarket_gamma: http://127.0.0.1:9/gamma
sources:
  - id: alalamarabic
    kind: telegram
    handle: alalamarabic
    name: Al-Alam Arabic
    register: state-aligned
    language: ar
    enabled: true
  - id: reuters-world
    kind: rss
    url: https://example.org/world.xml
    name: Reuters World
    register: western-wire
    language: en
"""

WATCHLISTS = """\
watchlists:
  - id: talks
    title: Talks
    window_hours: 72
    keywords: {en: [talks]}
    actors:
      - id: araqchi
        name: Abbas Araqchi
        side: iran
    places:
      - id: muscat
        name: Muscat
    claims:
      - id: talks-suspended
        patterns: {en: ["did not attend"]}
      - id: talks-on-track
        patterns: {en: ["on track"]}
    contradictions:
      - [talks-suspended, talks-on-track]
    sources: [alalamarabic]
    markets:
      - {venue: polymarket, slug: us-iran-talks}
    signals:
      - id: suspended
        title: Talks suspended
        rule:
          claims_any: [talks-suspended]
          actors_any: [araqchi]
          market: {venue: polymarket, slug: us-iran-talks, above: 0.5}
    report:
      recipients: [desk@example.org]
      cron: "0 7 * * *"
      timezone: Europe/London
      odds_move_threshold: 0.05
"""


# (file, text to replace, replacement, line, field); a replacement of None deletes the line
CASES = [
    ("sources.yaml", "telegram: http://127.0.0.1:9/telegram", "telegram: not a url", 2, "endpoints.telegram"),
    ("sources.yaml", 'x_mirrors: ["http://127.0.0.1:9/nitter-a"]', "x_mirrors: []", 3, "endpoints.x_mirrors"),
    ("sources.yaml", 'x_mirrors: ["http://127.0.0.1:9/nitter-a"]', 'x_mirrors: ["ftp://127.0.0.1/x"]', 3,
     "endpoints.x_mirrors.0"),
    ("sources.yaml", "polymarket_gamma: http", "polymarket_gama: http", 4, "endpoints.polymarket_gama"),
    ("sources.yaml", "- id: alalamarabic", "- id: Al Alam!", 6, "source Al Alam!: id"),
    ("sources.yaml", "handle: alalamarabic", "handle: al alam", 8, "source alalamarabic: handle"),
    ("sources.yaml", "    handle: alalamarabic\n", None, 6, "source alalamarabic"),
    ("sources.yaml", "    name: Al-Alam Arabic\n", None, 6, "source alalamarabic: name"),
    ("sources.yaml", "enabled: true", "enabled: sometimes", 12, "source alalamarabic: enabled"),
    ("sources.yaml", "enabled: true", "enabeld: true", 12, "source alalamarabic: enabeld"),
    ("sources.yaml", "    url: https://example.org/world.xml\n", None, 13, "source reuters-world"),
    ("sources.yaml", "- id: reuters-world", "- id: alalamarabic", 13, "source alalamarabic: id"),
    ("watchlists.yaml", "- id: talks\n", "- id: Talks Now\n", 2, "watch list Talks Now: id"),
    ("watchlists.yaml", "    title: Talks\n", None, 2, "watch list talks: title"),
    ("watchlists.yaml", "window_hours: 72", "window_hours: 0", 4, "watch list talks: window_hours"),
    ("watchlists.yaml", "window_hours: 72", "window_hour: 72", 4, "watch list talks: window_hour"),
    ("watchlists.yaml", "keywords: {en: [talks]}", "keywords: {en: talks}", 5, "watch list talks: keywords.en"),
    ("watchlists.yaml", "- id: araqchi", "- id: Araqchi!", 7, "watch list talks: actors[Araqchi!].id"),
    ("watchlists.yaml", "side: iran", "side: persia", 9, "watch list talks: actors[araqchi].side"),
    ("watchlists.yaml", "        name: Muscat\n", None, 11, "watch list talks: places[muscat].name"),
    ("watchlists.yaml", "{venue: polymarket, slug: us-iran-talks}", "{venue: betfair, slug: us-iran-talks}", 22,
     "watch list talks: markets.0.venue"),
    ("watchlists.yaml", "{venue: polymarket, slug: us-iran-talks}", "{venue: polymarket}", 22,
     "watch list talks: markets.0"),
    ("watchlists.yaml", "slug: us-iran-talks, above: 0.5", "slug: us-iran-talks, above: 1.5", 29,
     "watch list talks: signals[suspended].rule.market.above"),
    ("watchlists.yaml", "      - id: suspended\n", "      - id: Suspended!\n", 24, "watch list talks: signals[Suspended!].id"),
    ("watchlists.yaml", "claims_any: [talks-suspended]", "claims_any: [talks-nope]", 27,
     "watch list talks: signals[suspended].rule.claims_any"),
    ("watchlists.yaml", "recipients: [desk@example.org]", "recipients: [desk-at-example.org]", 31,
     "watch list talks: report.recipients.0"),
    ("watchlists.yaml", "recipients: [desk@example.org]", "recipients: []", 31, "watch list talks: report.recipients"),
    ("watchlists.yaml", 'cron: "0 7 * * *"', 'cron: "0 7 * *"', 32, "watch list talks: report.cron"),
    ("watchlists.yaml", "odds_move_threshold: 0.05", "odds_move_threshold: 0", 34,
     "watch list talks: report.odds_move_threshold"),
    ("watchlists.yaml", "      recipients: [desk@example.org]\n", None, 31, "watch list talks: report.recipients"),
]


def case_id(case) -> str:
    values = getattr(case, "values", case)
    return f"{values[0]}:{values[4]}" + ("-missing" if values[2] is None else "")


@pytest.mark.parametrize("file,old,new,line,field", CASES, ids=[case_id(c) for c in CASES])
def test_a_malformed_field_is_one_error_naming_file_line_and_field(tmp_path, file, old, new, line, field):
    texts = {"sources.yaml": SOURCES, "watchlists.yaml": WATCHLISTS}
    assert old in texts[file], old
    texts[file] = texts[file].replace(old, new or "", 1)
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    message = str(e.value)
    record_outcome("bad configuration", f"{file} {field}" + (" missing" if new is None else ""), lost=None,
                   duplicates=None, outcome=message.replace(str(tmp_path) + "/", ""))
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{tmp_path / file}: line {line}: {field}: "), message


def test_the_good_files_load(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "watchlists.yaml").write_text(WATCHLISTS, encoding="utf-8")
    cfg = load_config(tmp_path)
    assert [s.id for s in cfg.sources] == ["alalamarabic", "reuters-world"]
    assert cfg.watchlists[0].signals[0].rule.market.above == 0.5




def test_a_duplicate_watch_list_id_names_its_line(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    second = WATCHLISTS.split("\n", 1)[1]
    (tmp_path / "watchlists.yaml").write_text(WATCHLISTS + second, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    message = str(e.value)
    record_outcome("bad configuration", "watchlists.yaml duplicate watch list id", lost=None, duplicates=None,
                   outcome=message.replace(str(tmp_path) + "/", ""))
    assert message.startswith(f"{tmp_path / 'watchlists.yaml'}: line 35: watch list talks: id: "), message
