"""Sources split across ingest workers from the configuration (`partitions` in sources.yaml): every source
in exactly one part, one hourly deployment per part written by `./run deployments`, and hourly runs of
the parts landing their own sources into one database."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

from flows.deployments import partitioned
from flows.hourly import hourly
from mirror.server import MirrorServer
from signal_desk.config import load_config, part_of
from tests.pipeline_helpers import T0, query, small_scenario, write_config

ROOT = Path(__file__).resolve().parent.parent


def with_partitions(folder: Path, n: int) -> Path:
    path = folder / "sources.yaml"
    path.write_text(f"partitions: {n}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_a_sources_part_follows_from_its_id_alone_the_same_in_every_process():
    here = [part_of(s, 7) for s in ("alalamarabic", "reuters", "irna_fa")]
    elsewhere = subprocess.run(
        [sys.executable, "-c", "from signal_desk.config import part_of; "
                               "print([part_of(s, 7) for s in ('alalamarabic', 'reuters', 'irna_fa')])"],
        capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert str(here) == elsewhere and all(1 <= p <= 7 for p in here)


def test_every_enabled_source_is_in_exactly_one_part(tmp_path):
    cfg_dir = tmp_path / "config"
    cfg_dir.mkdir()
    for name in ("sources.yaml", "watchlists.yaml"):
        (cfg_dir / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(with_partitions(cfg_dir, 3))
    parts = [{s.id for s in cfg.sources_of_part(p)} for p in (1, 2, 3)]
    assert sorted(i for part in parts for i in part) == sorted(s.id for s in cfg.sources)


def test_a_thousand_channels_spread_evenly_over_the_parts():
    ids = [f"channel_{n:04d}" for n in range(1000)]
    sizes = [sum(part_of(i, 4) == p for i in ids) for p in (1, 2, 3, 4)]
    assert sum(sizes) == 1000 and min(sizes) > 200, sizes


def test_one_hourly_deployment_per_part_and_the_signals_after_them():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    out = partitioned(spec, 3)
    names = [d["name"] for d in out["deployments"]]
    parts = [d for d in out["deployments"] if d["name"].startswith("hourly-part-")]

    assert "hourly" not in names and [d["name"] for d in parts] == [f"hourly-part-{k}-of-3" for k in (1, 2, 3)]
    assert [d["parameters"]["part"] for d in parts] == [1, 2, 3]
    assert [d["parameters"]["with_markets"] for d in parts] == [True, False, False]
    assert not any(d["parameters"]["with_signals"] for d in parts)
    # each part one run at a time, as the hourly deployment was
    assert all(d["entrypoint"] == "flows/hourly.py:hourly" and d["concurrency_limit"]["limit"] == 1 for d in parts)
    signals = next(d for d in out["deployments"] if d["name"] == "signals")
    assert signals["schedules"] and all(s["active"] for s in signals["schedules"])
    # the rest as it was
    unchanged = [d for d in spec["deployments"] if d["name"] not in ("hourly", "signals")]
    assert [d for d in out["deployments"] if d["name"] in {u["name"] for u in unchanged}] == unchanged


def test_with_a_repository_every_flow_run_clones_the_code_from_it():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    out = partitioned(spec, 2, "git://code.internal/desk.git", "main")
    # no step that records, or goes to, the deploying machine's folder
    assert out["build"] is None
    assert out["pull"] == [{"prefect.deployments.steps.git_clone": {"repository": "git://code.internal/desk.git",
                                                                     "branch": "main"}}]
    assert partitioned(spec, 2)["pull"] == spec["pull"]


def test_a_branch_without_a_repository_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "flows.cli", "deployments", "--config", str(ROOT / "config"),
                           "--out", str(tmp_path / "p.yaml"), "--branch", "main"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "--branch needs --repository" in done.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_the_command_writes_a_prefect_file_whose_parameters_the_flow_takes(tmp_path):
    import inspect
    cfg_dir = write_config(tmp_path / "config", "http://127.0.0.1:9")
    with_partitions(cfg_dir, 2)
    out = tmp_path / "prefect.parts.yaml"
    done = subprocess.run([sys.executable, "-m", "flows.cli", "deployments", "--config", str(cfg_dir),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 hourly part(s) of 2, 2 sources" in done.stdout
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    accepted = set(inspect.signature(hourly.fn).parameters)
    for d in written["deployments"]:
        if d["name"].startswith("hourly-part-"):
            assert set(d["parameters"]) <= accepted


def test_the_parts_hourly_runs_land_every_source_once_between_them(tmp_path):
    scenario = small_scenario()
    db = str(tmp_path / "desk.duckdb")
    as_of = T0 + timedelta(hours=3)
    with MirrorServer(scenario, as_of=as_of) as mirror:
        cfg_dir = with_partitions(write_config(tmp_path / "config", mirror.base_url), 2)
        runs = [hourly(config_dir=str(cfg_dir), db_path=db, as_of=as_of, politeness="test", part=part,
                       with_signals=False, with_markets=part == 1) for part in (1, 2)]

    by_run = [{r["source_id"] for r in run["sources"]} for run in runs]
    assert by_run == [{"alpha", "worldfeed"}, {"beta", "wirebird"}]      # part_of, as the configuration says
    landed = {s for (s,) in query(db, "select distinct source_id from items")}
    assert landed == {"alpha", "beta", "wirebird", "worldfeed"}
    assert query(db, "select count(*) - count(distinct (source_id, item_id)) from items") == [(0,)]
    assert query(db, "select count(*) from markets")[0][0] > 0
