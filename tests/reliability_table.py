"""The reliability suite's measured outcomes, as the Markdown table in docs/reliability.md.

    .venv/bin/python -m tests.reliability_table          # runs the suite, prints the table

Each reliability test calls `record_outcome` with what it measured (before asserting, so a failing or
xfailed case still shows its real numbers); the rows go to the JSON-lines file named by
DESK_RELIABILITY_OUTCOMES, and the table joins them with each test's verdict from pytest's JUnit XML.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

OUTCOMES_ENV = "DESK_RELIABILITY_OUTCOMES"
SUITE = ["tests/test_reliability_faults.py", "tests/test_reliability_crash.py",
         "tests/test_reliability_content.py", "tests/test_reliability_secrets.py",
         "tests/test_reliability_config.py", "tests/test_reliability_nesting.py",
         "tests/test_reliability_redirect_secrets.py", "tests/test_reliability_delivery.py",
         "tests/test_reliability_runs.py", "tests/test_alerts.py", "tests/test_separate_hosts.py"]
ROOT = Path(__file__).resolve().parent.parent
_LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")
_TEMP_DIR = re.compile(r"(?:/[\w.\-]+)+/(?=[\w\-]+\.(?:yaml|duckdb)\b)")


def portable(text: str) -> str:
    """Outcomes without this machine's temporary folders and ports."""
    return _TEMP_DIR.sub("", _LOCAL_URL.sub("http://127.0.0.1:PORT", text))


def record_outcome(area: str, case: str, *, lost: int | None = 0, duplicates: int | None = 0,
                   double_sent: int | None = None, outcome: str = "") -> None:
    """Append one measured case; a no-op unless DESK_RELIABILITY_OUTCOMES names a file."""
    path = os.environ.get(OUTCOMES_ENV)
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    row = dict(area=area, case=case, lost=lost, duplicates=duplicates, double_sent=double_sent,
               outcome=portable(outcome), test=test)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _verdicts(junit: Path) -> dict[str, str]:
    """nodeid -> passed | failed | xfailed | skipped, from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        nodeid = f"{module}::{case.get('name')}"
        verdict = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                verdict = "failed"
            elif child.tag == "skipped":
                verdict = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        out[nodeid] = verdict
    return out


def _cell(value) -> str:
    return "–" if value is None else str(value)


def render(rows: list[dict], verdicts: dict[str, str]) -> str:
    lines = ["| area | case | items lost | duplicates | reports double-sent | test | measured outcome |",
             "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        verdict = verdicts.get(r["test"], "?")
        lines.append(f"| {r['area']} | {r['case']} | {_cell(r['lost'])} | {_cell(r['duplicates'])} | "
                     f"{_cell(r['double_sent'])} | {verdict} | {r['outcome'].replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        outcomes, junit = Path(tmp) / "outcomes.jsonl", Path(tmp) / "junit.xml"
        env = {**os.environ, OUTCOMES_ENV: str(outcomes)}
        suite = [p for p in SUITE if (ROOT / p).exists()]
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={junit}", *suite, *extra], cwd=ROOT, env=env)
        rows = [json.loads(line) for line in outcomes.read_text(encoding="utf-8").splitlines()] \
            if outcomes.exists() else []
        verdicts = _verdicts(junit) if junit.exists() else {}
    print(render(rows, verdicts))
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
