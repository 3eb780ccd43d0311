"""`./run check [--config DIR]`: every configuration problem at once, one line each (file, line, the source
or watch list by its id, the field, what was expected), exit 1, no traceback; and the flows fail with
the same lines before they start."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench.synthetic import synthetic_outlets, write_config
from signal_desk.config import ConfigError, check_config, load_config
from tests.conftest import ROOT

SOURCES = """\
endpoints:
  telegram: ${DESK_TEST_UNSET_MIRROR}/telegram
sources:
  - id: alalamarabic
    kind: telegram
    handle: alalamarabic
    name: Al-Alam Arabic
    register: state-alligned
    language: ar
  - id: reuters-world
    kind: rss
    url: https://example.org/world.xml
    name: Reuters World
    register: western-wire
    language: en
"""

WATCHLISTS = """\
watchlists:
  - id: us-iran-talks
    title: Talks
    window_hour: 72
    sources: [alalamarabic]
    report:
      recipients: [desk@example.org]
"""

# file, line, entry, field, a word of what was expected
EXPECTED = [
    ("sources.yaml", 2, None, "endpoints.telegram", "DESK_TEST_UNSET_MIRROR is not set"),
    ("sources.yaml", 8, "source alalamarabic", "register", "'western-wire'"),
    ("watchlists.yaml", 4, "watch list us-iran-talks", "window_hour", "window_hours"),
]


def broken_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (folder / "watchlists.yaml").write_text(WATCHLISTS, encoding="utf-8")
    return folder


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["./run", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def assert_one_line_per_problem(lines: list[str], folder: Path) -> None:
    assert len(lines) == len(EXPECTED), lines
    for line, (file, number, entry, field, expected) in zip(lines, EXPECTED):
        where = ": ".join(part for part in (entry, field) if part)
        assert line.startswith(f"{folder / file}: line {number}: {where}: "), line
        assert expected in line, line


def test_every_problem_is_one_line_with_unset_variables_among_them(tmp_path, monkeypatch):
    monkeypatch.delenv("DESK_TEST_UNSET_MIRROR", raising=False)
    folder = broken_config(tmp_path / "config")
    done = run("check", "--config", str(folder))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
    *problems, summary = done.stderr.strip().splitlines()
    assert_one_line_per_problem(problems, folder)
    assert summary == f"{folder}: 3 problems"


def test_the_shipped_configuration_passes():
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"config: ok \(\d+ sources, \d+ enabled; \d+ watch lists?\)\n", done.stdout), done.stdout


def test_the_demo_configuration_needs_mirror_url_and_passes_with_it(monkeypatch):
    monkeypatch.delenv("MIRROR_URL", raising=False)
    _, problems = check_config(ROOT / "config" / "demo")
    assert len(problems) == 1 and "environment variable MIRROR_URL is not set" in problems[0], problems
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:8765")
    assert check_config(ROOT / "config" / "demo")[1] == []


def test_a_source_deep_in_a_thousand_is_named_by_its_id(tmp_path):
    folder = write_config(tmp_path / "config", synthetic_outlets(1000), "http://127.0.0.1:9")
    path = folder / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    source_id = re.findall(r"id: ([\w-]+)", text)[736]
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if re.search(rf"id: {re.escape(source_id)}\b", line))
    following = next(i for i in range(at, len(lines)) if "language:" in lines[i])
    lines[following] = re.sub(r"language: \w+", "language: Persian", lines[following])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("check", "--config", str(folder))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(f"{path}: line {following + 1}: source {source_id}: language: ")


def test_a_flow_command_stops_with_the_same_lines_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("DESK_TEST_UNSET_MIRROR", raising=False)
    folder = broken_config(tmp_path / "config")
    db = tmp_path / "desk.duckdb"
    for command in (["hourly"], ["signals"], ["backfill", "--start", "2026-06-28", "--end", "2026-06-29"]):
        done = run(*command, "--config", str(folder), "--db", str(db))
        assert done.returncode == 1, command
        assert "Traceback" not in done.stderr
        assert_one_line_per_problem(done.stderr.strip().splitlines(), folder)
    assert not db.exists()


def test_load_config_raises_the_same_lines(tmp_path, monkeypatch):
    """What the flows call first (hourly, backfill, signals)."""
    monkeypatch.delenv("DESK_TEST_UNSET_MIRROR", raising=False)
    folder = broken_config(tmp_path / "config")
    with pytest.raises(ConfigError) as error:
        load_config(folder)
    assert_one_line_per_problem(str(error.value).splitlines(), folder)


def test_a_hourly_flow_run_fails_with_the_same_lines(tmp_path, monkeypatch):
    from flows.hourly import hourly

    monkeypatch.delenv("DESK_TEST_UNSET_MIRROR", raising=False)
    folder = broken_config(tmp_path / "config")
    with pytest.raises(ConfigError) as error:
        hourly(config_dir=str(folder), db_path=str(tmp_path / "desk.duckdb"), politeness="test")
    assert_one_line_per_problem(str(error.value).splitlines(), folder)
    assert not (tmp_path / "desk.duckdb").exists()
