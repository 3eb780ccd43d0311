"""Configuration: good files load; each bad field is one clear error naming file, line and field."""
import textwrap

import pytest

from signal_desk.config import ConfigError, SourcesFile, WatchlistsFile, load_config, load_model
from tests.conftest import ROOT

GOOD_SOURCES = """\
endpoints:
  telegram: ${MIRROR_URL:-http://127.0.0.1:9}/telegram
sources:
  - id: alalamarabic
    kind: telegram
    handle: alalamarabic
    name: Al-Alam Arabic
    register: state-aligned
    language: ar
  - id: reuters-world
    kind: rss
    url: https://example.org/world.xml
    name: Reuters World
    register: western-wire
    language: en
    enabled: false
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_good_sources_load_with_env_expansion(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:8765")
    sf = load_model(write(tmp_path, "sources.yaml", GOOD_SOURCES), SourcesFile)
    assert sf.endpoints.telegram == "http://127.0.0.1:8765/telegram"
    assert [s.id for s in sf.enabled] == ["alalamarabic"]
    assert sf.sources[0].register == "state-aligned"


@pytest.mark.parametrize("bad,line,field", [
    ("    register: state-alligned\n", 8, "source alalamarabic: register"),
    ("    language: Arabic\n", 9, "source alalamarabic: language"),
    ("    kind: tiktok\n", 5, "source alalamarabic: kind"),
])
def test_bad_field_names_file_line_and_field(tmp_path, bad, line, field):
    key = bad.split(":")[0].strip()
    lines = GOOD_SOURCES.splitlines(keepends=True)
    idx = next(i for i, l in enumerate(lines) if l.strip().startswith(key + ":"))
    lines[idx] = bad
    path = write(tmp_path, "sources.yaml", "".join(lines))
    with pytest.raises(ConfigError) as e:
        load_model(path, SourcesFile)
    msg = str(e.value)
    assert str(path) in msg and f"line {line}" in msg and field in msg


def test_non_http_url_is_refused(tmp_path):
    path = write(tmp_path, "sources.yaml", GOOD_SOURCES.replace("https://example.org/world.xml", "file:///etc/passwd"))
    with pytest.raises(ConfigError, match=r"line 12: source reuters-world: url"):
        load_model(path, SourcesFile)


def test_missing_handle_and_duplicate_ids(tmp_path):
    path = write(tmp_path, "sources.yaml", GOOD_SOURCES.replace("    handle: alalamarabic\n", ""))
    with pytest.raises(ConfigError, match="needs a handle"):
        load_model(path, SourcesFile)
    path = write(tmp_path, "sources.yaml", GOOD_SOURCES.replace("id: reuters-world", "id: alalamarabic"))
    with pytest.raises(ConfigError, match="duplicate source id"):
        load_model(path, SourcesFile)


def test_invalid_yaml_names_line(tmp_path):
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"sources.yaml: line \d+: invalid YAML"):
        load_model(path, SourcesFile)


def test_unset_env_var_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    path = write(tmp_path, "sources.yaml", GOOD_SOURCES.replace("${MIRROR_URL:-http://127.0.0.1:9}", "${NOPE_NOT_SET}"))
    with pytest.raises(ConfigError, match="NOPE_NOT_SET is not set"):
        load_model(path, SourcesFile)


WATCHLIST = """\
watchlists:
  - id: talks
    title: Talks
    claims:
      - id: talks-suspended
        patterns: {en: ["did not attend"]}
    contradictions:
      - [talks-suspended, talks-on-track]
    report:
      recipients: [desk@example.org]
"""


def test_watchlist_unknown_claim_in_contradiction(tmp_path):
    path = write(tmp_path, "watchlists.yaml", WATCHLIST)
    with pytest.raises(ConfigError, match=r"line 8: watch list talks: contradictions.0.1: contradiction names unknown claim 'talks-on-track'"):
        load_model(path, WatchlistsFile)


def test_watchlist_bad_regex_and_timezone(tmp_path):
    bad = WATCHLIST.replace('"did not attend"', '"did not (attend"').replace(
        "    contradictions:\n      - [talks-suspended, talks-on-track]\n", "")
    with pytest.raises(ConfigError, match=r"line 6: watch list talks: claims\[talks-suspended\].patterns: .*not a valid regular expression"):
        load_model(write(tmp_path, "watchlists.yaml", bad), WatchlistsFile)
    bad_tz = WATCHLIST.replace("    contradictions:\n      - [talks-suspended, talks-on-track]\n", "") + \
        "      timezone: Mars/Olympus\n"
    with pytest.raises(ConfigError, match=r"line 9: watch list talks: report.timezone: .*unknown time zone"):
        load_model(write(tmp_path, "watchlists.yaml", bad_tz), WatchlistsFile)


def test_watchlist_unknown_source(tmp_path):
    write(tmp_path, "sources.yaml", GOOD_SOURCES)
    wl = WATCHLIST.replace("    contradictions:\n      - [talks-suspended, talks-on-track]\n",
                           "    sources: [alalamarabic, nosuch]\n")
    write(tmp_path, "watchlists.yaml", wl)
    with pytest.raises(ConfigError, match=r"line 7: watch list talks: sources.1: unknown source id 'nosuch'"):
        load_config(tmp_path)


def test_shipped_demo_config_loads(monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:8765")
    cfg = load_config(ROOT / "config" / "demo")
    assert cfg.sources and cfg.watchlists
    assert all(s.register for s in cfg.sources)
