"""The rooms of docs/architecture.md, held against every import in the code (lazy ones included)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The library's rooms in the order data flows through them: a room may import the rooms before it.
ROOMS = {
    "sources": ("signal_desk.sources", "signal_desk.ingest", "signal_desk.markets_ingest", "signal_desk.backfill"),
    "landing": ("signal_desk.landing", "signal_desk.db", "signal_desk.data_dictionary"),
    "validation": ("signal_desk.validate",),
    "signals": ("signal_desk.signals", "signal_desk.stories", "signal_desk.embeddings", "signal_desk.search"),
    "reports": ("signal_desk.report", "signal_desk.signal_alerts"),
}
ORDER = list(ROOMS)
# Used by every room; they import no room themselves.
SHARED = ("signal_desk.config", "signal_desk.clock", "signal_desk.items", "signal_desk.http",
          "signal_desk.progress", "signal_desk.failpoints")


def _modules(folder: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}   # `from signal_desk import db`
    return names


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _room(name: str) -> str | None:
    return next((room for room, prefixes in ROOMS.items() if _within(name, prefixes)), None)


LIBRARY = _modules("signal_desk")


def test_the_rooms_cover_every_library_module():
    unplaced = [m for m in LIBRARY if m != "signal_desk" and not _room(m) and not _within(m, SHARED)
                and m not in ("signal_desk.sql_shell",)]      # the analysts' shell: reads the snapshot only
    assert unplaced == []


@pytest.mark.parametrize("room", ORDER)
def test_a_room_imports_no_room_downstream_of_it(room):
    later = ORDER[ORDER.index(room) + 1:]
    backwards = sorted(f"{module} imports {name}" for module, path in LIBRARY.items() if _room(module) == room
                       for name in _imports(path) if _room(name) in later)
    assert backwards == []


def test_shared_modules_import_no_room():
    found = sorted(f"{module} imports {name}" for module, path in LIBRARY.items() if _within(module, SHARED)
                   for name in _imports(path) if _room(name))
    assert found == []


def test_the_library_uses_prefect_only_for_its_secret_blocks():
    found = sorted(f"{module} imports {name}" for module, path in LIBRARY.items()
                   for name in _imports(path) if _within(name, ("prefect",)) and not _within(name, ("prefect.blocks",)))
    assert found == []


@pytest.mark.parametrize("folder, forbidden", [
    ("signal_desk", ("tasks", "flows", "mirror", "bench")),
    ("tasks", ("flows", "mirror", "bench")),
    ("flows", ("mirror", "bench")),
])
def test_layers_import_only_downwards(folder, forbidden):
    found = sorted(f"{module} imports {name}" for module, path in _modules(folder).items()
                   for name in _imports(path) if _within(name, forbidden))
    assert found == []


def test_the_checks_see_imports_at_all():
    # A scan that read nothing would pass every rule above.
    assert "signal_desk.items" in _imports(LIBRARY["signal_desk.landing"])
    assert _room("signal_desk.sources.telegram.parse") == "sources"
    assert len(LIBRARY) > 50
