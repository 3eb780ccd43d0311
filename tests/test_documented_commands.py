"""Every `./run ...` command in README.md and docs/*.md (code blocks and inline code) parses as written.

Cheap commands run as written. The rest (the demo, runs, benchmarks, servers, commands that need the
demo's database or a model) run with `--help` appended: the command and the options before it are
parsed (typer rejects an unknown option there too), nothing starts. An argparse command stops at
`--help` without complaining about an unknown option before it, so for those this checks the command
and the option values, not every option name."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Run as written: quick, offline, and they need nothing a fresh clone lacks.
RUN_AS_WRITTEN = {"check", "help", "--help"}
FAILURES = ("unrecognized arguments", "No such command", "No such option", "invalid choice", "Traceback (most recent call last)")


def _code(markdown: str) -> list[str]:
    """Lines of fenced code blocks (continuation lines joined), indented lines that start with a
    command, and inline code."""
    lines, fenced, buffer = [], False, ""
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or (line.startswith("    ") and re.match(r"(\w+=\S+\s+)*\./run\b", line.strip())):
            if line.rstrip().endswith("\\"):
                buffer += line.rstrip()[:-1].strip() + " "
                continue
            lines.append(buffer + line.strip())
            buffer = ""
        else:
            lines += re.findall(r"`(\./run\b[^`]*)`", line)
    return lines


def _documented() -> list[tuple[str, str]]:
    """(where, shell line) for each line that runs ./run."""
    found = []
    for doc in DOCS:
        for line in _code(doc.read_text(encoding="utf-8")):
            if re.search(r"(^|[\s|;&(])\./run(\s|$)", line):
                found.append((doc.relative_to(ROOT).as_posix(), line))
    return found


def _argv(line: str) -> tuple[str, ...]:
    """The ./run command of a shell line, as argv: its comment, the rest of a pipe and the optional
    `[...]` parts of a synopsis left out."""
    command = re.sub(r"\s#.*$", "", line[line.index("./run"):])
    words = shlex.split(re.sub(r"\s\[[^\]]*\]", " ", command))
    for stop in ("|", "&&", ";", ">", "2>"):
        if stop in words:
            words = words[:words.index(stop)]
    return tuple(words)


DOCUMENTED = _documented()


def test_the_docs_document_commands():
    subcommands = {(*_argv(line), "demo")[1] for _, line in DOCUMENTED}
    assert {"demo", "test", "check", "sql", "hourly", "backfill", "mirror", "group"} <= subcommands, subcommands


@pytest.mark.parametrize("argv", sorted({_argv(line) for _, line in DOCUMENTED}),
                         ids=lambda argv: " ".join(argv))
def test_a_documented_command_runs_as_written(argv):
    subcommand = (*argv, "demo")[1]
    if subcommand in RUN_AS_WRITTEN:
        lines = [line for _, line in DOCUMENTED if _argv(line) == argv]
        command = lines[0]
        done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    else:
        if len(argv) == 1:
            argv = (*argv, "demo")
        done = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    where = [doc for doc, line in DOCUMENTED if _argv(line) == argv]
    assert done.returncode == 0, f"{' '.join(argv)} ({', '.join(where)}): {done.stderr[-2000:]}"
    for failure in FAILURES:
        assert failure not in done.stdout + done.stderr, f"{' '.join(argv)}: {failure}"


COMMANDS = ["demo", "test", "bench", "sh", "check", "sql", "hourly", "signals", "backfill", "mirror", "group",
            "statements", "eval-statements", "search"]


@pytest.mark.parametrize("argv", [["./run", "--help"], ["./run", "help"]])
def test_help_lists_every_command_with_a_line_of_help(argv):
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = dict(re.findall(r"^  ([a-z][\w-]*)\s{2,}(\S.*)$", done.stdout, re.MULTILINE))
    assert set(COMMANDS) <= set(listed), done.stdout
    assert all(listed[name].strip() for name in COMMANDS)


@pytest.mark.parametrize("command", ["hourly", "backfill", "signals", "check"])
def test_every_option_has_help_and_a_default(command):
    done = subprocess.run(["./run", "help", command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    options = re.split(r"\n  (?=--)", done.stdout.split("Options:", 1)[1])[1:]
    assert options
    for option in options:
        text = " ".join(option.split())
        if text.startswith("--help") or "--no-" in text:        # flags: off unless given
            continue
        assert re.search(r"--[\w-]+ \S+ +\S", text) and ("[default:" in text or "[required]" in text), text


def test_a_command_s_exit_code_comes_through(tmp_path):
    done = subprocess.run(["./run", "group", "--in", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "s.csv")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr          # the grouping's own code for unreadable input
    assert "missing.csv" in done.stderr
