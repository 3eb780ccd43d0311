"""Every source kind and market venue the configuration can name resolves through the registry to a
package with the whole contract, the steps that use sources name none of them, and no source package
pulls in DuckDB or pandas (nor, for its parser, the HTTP layer)."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from signal_desk import config
from signal_desk.sources import registry

ROOT = Path(__file__).resolve().parent.parent
SOURCES_FILES = [ROOT / "config" / "sources.yaml", ROOT / "config" / "demo" / "sources.yaml"]
WATCHLIST_FILES = [ROOT / "config" / "watchlists.yaml", ROOT / "config" / "demo" / "watchlists.yaml"]
PACKAGE_MODULES = ("constants", "exceptions", "parse", "fetch")
POST_FETCH_PARAMS = ["fetcher", "endpoints", "src", "cursor", "page_cap"]
MARKET_FETCH_PARAMS = ["fetcher", "endpoints", "ref", "cursors"]


def configured_kinds() -> set[str]:
    kinds = {s["kind"] for path in SOURCES_FILES for s in yaml.safe_load(path.read_text())["sources"]}
    return kinds | set(typing.get_args(config.SourceKind))


def configured_venues() -> set[str]:
    def venues(node) -> set[str]:
        if isinstance(node, dict):
            return ({node["venue"]} if isinstance(node.get("venue"), str) else set()) | \
                set().union(*map(venues, node.values()))
        if isinstance(node, list):
            return set().union(*map(venues, node))
        return set()
    found = set().union(*(venues(yaml.safe_load(path.read_text())) for path in WATCHLIST_FILES))
    return found | set(typing.get_args(config.Venue))


def package_of(fn) -> str:
    """The source package a contract function is defined in (signal_desk.sources.<name>)."""
    module = inspect.getmodule(fn).__name__
    assert module.startswith("signal_desk.sources.") and module.count(".") == 3, module
    return module.rpartition(".")[0]


def assert_package_shape(package: str) -> None:
    for name in PACKAGE_MODULES:
        assert importlib.util.find_spec(f"{package}.{name}") is not None, f"{package} has no {name} module"


def test_the_configuration_names_sources_and_venues():
    assert {"telegram", "x", "rss"} <= configured_kinds()
    assert {"kalshi", "polymarket", "manifold"} <= configured_venues()


@pytest.mark.parametrize("kind", sorted(configured_kinds()))
def test_every_configured_kind_resolves_to_a_package_with_the_contract(kind):
    entry = registry.post_source(kind)
    assert entry.kind == kind
    package = package_of(entry.fetch)
    assert_package_shape(package)
    assert importlib.import_module(f"{package}.constants").KIND == kind
    assert inspect.iscoroutinefunction(entry.fetch) and entry.fetch.__module__ == f"{package}.fetch"
    assert list(inspect.signature(entry.fetch).parameters) == POST_FETCH_PARAMS
    assert callable(entry.parse) and not inspect.iscoroutinefunction(entry.parse)
    assert entry.parse.__module__ == f"{package}.parse"
    assert list(inspect.signature(entry.parse).parameters) == ["fetch", "src"]
    if entry.fetch_back is not None:
        assert inspect.iscoroutinefunction(entry.fetch_back) and entry.fetch_back.__module__ == f"{package}.fetch"
    assert entry.described_as


@pytest.mark.parametrize("venue", sorted(configured_venues()))
def test_every_venue_resolves_to_a_package_with_the_contract(venue):
    entry = registry.market_venue(venue)
    assert entry.venue == venue
    package = package_of(entry.fetch)
    assert_package_shape(package)
    assert importlib.import_module(f"{package}.constants").VENUE == venue
    assert inspect.iscoroutinefunction(entry.fetch) and entry.fetch.__module__ == f"{package}.fetch"
    assert list(inspect.signature(entry.fetch).parameters) == MARKET_FETCH_PARAMS
    assert entry.readers and all(callable(read) for read in entry.readers.values())
    assert entry.history_readers <= set(entry.readers) and entry.search_readers <= set(entry.readers)
    assert entry.read_file.__module__ == f"{package}.parse"
    if entry.search is not None:
        assert inspect.iscoroutinefunction(entry.search) and entry.search.__module__ == f"{package}.fetch"
        assert entry.search_readers
    for reader in entry.readers:
        assert registry.venue_of_reader(reader) is entry


def test_reader_names_are_unique_across_venues():
    names = [reader for v in registry.VENUES.values() for reader in v.readers]
    assert len(names) == len(set(names))


def test_an_unknown_kind_or_venue_is_named():
    with pytest.raises(ValueError, match="'carrier-pigeon'"):
        registry.post_source("carrier-pigeon")
    with pytest.raises(ValueError, match="'bookie'"):
        registry.market_venue("bookie")


@pytest.mark.parametrize("module", ["signal_desk/ingest.py", "signal_desk/markets_ingest.py",
                                    "signal_desk/backfill.py"])
def test_the_steps_name_no_source(module):
    """Dispatch goes through the registry: no kind or venue is spelled out where sources are used."""
    names = set(registry.POST_SOURCES) | set(registry.VENUES)
    tree = ast.parse((ROOT / module).read_text())
    spelled = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in names}
    assert not spelled, f"{module} names {sorted(spelled)}"


CHECK_IMPORTS = """
import importlib, json, pkgutil, sys
import signal_desk.sources as sources
modules = [m.name for m in pkgutil.walk_packages(sources.__path__, "signal_desk.sources.")]
parse_only = sys.argv[1] == "parse"
if parse_only:
    modules = [m for m in modules if m.endswith(".parse")]
for name in modules:
    importlib.import_module(name)
print(json.dumps({"modules": modules, "loaded": sorted(m for m in ("duckdb", "pandas", "httpx", "signal_desk.http")
                                                      if m in sys.modules)}))
"""


def imported_by(which: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHECK_IMPORTS, which], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_source_module_imports_duckdb_or_pandas():
    seen = imported_by("all")
    assert "signal_desk.sources.registry" in seen["modules"]
    assert {f"signal_desk.sources.{p}.fetch" for p in ("telegram", "xmirror", "rss", "kalshi", "polymarket",
                                                      "manifold")} <= set(seen["modules"])
    assert not {"duckdb", "pandas"} & set(seen["loaded"]), seen["loaded"]


def test_parsers_load_without_the_http_layer():
    seen = imported_by("parse")
    assert len(seen["modules"]) == 6
    assert seen["loaded"] == [], seen["loaded"]
