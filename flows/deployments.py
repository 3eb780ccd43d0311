"""The several-workers layout's deployments, written from the configuration rather than copied by hand:
one hourly deployment per ingest part (`partitions` in sources.yaml), the signals deployment after
them, and every other deployment of prefect.yaml as it is.

    ./run deployments --config config --out prefect.parts.yaml
    .venv/bin/prefect deploy --all --prefect-file prefect.parts.yaml

    ./run deployments --config config --repository git://code.internal/desk.git --branch main

Each part ingests the sources whose id hashes to it (`signal_desk.config.part_of`), without the
signals; the first part also fetches the markets. With `--repository`, every flow run clones the code
from it (Prefect's `git_clone` pull step), so a worker on any host runs the same code without a copy
of this checkout; without it, flow runs start in the folder `prefect deploy` was run in, as on one
machine. The signals deployment's schedule (40 minutes past the hour, one run at a time) is switched
on: it annotates and groups what every part landed.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import yaml

from signal_desk.config import load_config



def partitioned(spec: dict, partitions: int, repository: str | None = None, branch: str | None = None) -> dict:
    """prefect.yaml's content with its `hourly` deployment replaced by one per part; with a repository,
    the pull step clones the code from it instead of going to the deploying machine's folder."""
    out = copy.deepcopy(spec)
    if repository:
        out["build"] = None
        out["pull"] = [{"prefect.deployments.steps.git_clone": {"repository": repository,
                                                                 **({"branch": branch} if branch else {})}}]
    deployments = out["deployments"]
    index = next(i for i, d in enumerate(deployments) if d["name"] == "hourly")
    hourly = deployments[index]
    parts = []
    for part in range(1, partitions + 1):
        d = copy.deepcopy(hourly)
        d["name"] = f"hourly-part-{part}-of-{partitions}"
        d["description"] = (f"Ingest part {part} of {partitions}: the enabled sources whose id hashes to it "
                            f"(sources.yaml, partitions){'; and the watched markets' if part == 1 else ''}. "
                            "The signals deployment computes the signal tables after the parts.")
        d["parameters"] = {**hourly["parameters"], "part": part, "with_signals": False,
                           "with_markets": bool(hourly["parameters"].get("with_markets", True)) and part == 1}
        parts.append(d)
    deployments[index:index + 1] = parts
    for d in deployments:
        if d["name"] == "signals":
            d["schedules"] = [{**s, "active": True} for s in d.get("schedules") or []]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run deployments", description="Write the several-workers layout's "
                                 "deployments: one hourly deployment per ingest part of the configuration.")
    ap.add_argument("--config", default="config", help="folder with sources.yaml (its `partitions`)")
    ap.add_argument("--prefect-file", default="prefect.yaml", help="the deployments to start from")
    ap.add_argument("--out", default="prefect.parts.yaml", help="where to write them")
    ap.add_argument("--repository", help="a git repository every flow run clones the code from, for workers on "
                    "other hosts (default: the folder `prefect deploy` runs in)")
    ap.add_argument("--branch", help="the repository's branch to clone (default: its default branch)")
    a = ap.parse_args(argv)
    if a.branch and not a.repository:
        ap.error("--branch needs --repository")
    cfg = load_config(a.config)
    spec = yaml.safe_load(Path(a.prefect_file).read_text(encoding="utf-8"))
    out = partitioned(spec, cfg.partitions, a.repository, a.branch)
    Path(a.out).write_text("# Written by ./run deployments from " + f"{a.prefect_file} and {a.config}/sources.yaml"
                           + "; deploy with: prefect deploy --all --prefect-file " + f"{a.out}\n"
                           + yaml.safe_dump(out, sort_keys=False, allow_unicode=True), encoding="utf-8")
    sizes = [len(cfg.sources_of_part(p)) for p in range(1, cfg.partitions + 1)]
    print(f"{a.out}: {cfg.partitions} hourly part(s) of {', '.join(map(str, sizes))} sources, and the signals "
          f"deployment after them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
