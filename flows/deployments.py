"""The several-workers layout's deployments, written from the configuration rather than copied by hand:
one hourly deployment per ingest part (`partitions` in sources.yaml), the signals deployment after
them, and every other deployment of prefect.yaml as it is.

    ./run deployments --config config --out prefect.parts.yaml
    .venv/bin/prefect deploy --all --prefect-file prefect.parts.yaml

Each part ingests the sources whose id hashes to it (`signal_desk.config.part_of`), without the
signals; the first part also fetches the markets. The signals deployment's schedule (40 minutes past
the hour, one run at a time) is switched on: it annotates and groups what every part landed.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import yaml

from signal_desk.config import load_config



def partitioned(spec: dict, partitions: int) -> dict:
    """prefect.yaml's content with its `hourly` deployment replaced by one per part."""
    out = copy.deepcopy(spec)
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
    a = ap.parse_args(argv)
    cfg = load_config(a.config)
    spec = yaml.safe_load(Path(a.prefect_file).read_text(encoding="utf-8"))
    Path(a.out).write_text("# Written by ./run deployments from " + f"{a.prefect_file} and {a.config}/sources.yaml"
                           + "; deploy with: prefect deploy --all --prefect-file " + f"{a.out}\n"
                           + yaml.safe_dump(partitioned(spec, cfg.partitions), sort_keys=False, allow_unicode=True),
                           encoding="utf-8")
    sizes = [len(cfg.sources_of_part(p)) for p in range(1, cfg.partitions + 1)]
    print(f"{a.out}: {cfg.partitions} hourly part(s) of {', '.join(map(str, sizes))} sources, and the signals "
          f"deployment after them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
