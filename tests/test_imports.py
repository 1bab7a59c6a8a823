"""The import structure: services load without listeners, and no package imports in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "scheduler", "storage")


def test_services_load_without_any_listener() -> None:
    code = (
        "import sys, bot.services, scheduler.runner\n"
        "loaded = sorted(m for m in sys.modules if m == 'handlers' or m.startswith('handlers.'))\n"
        "assert not loaded, loaded\n"
        "assert 'bot.app' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `name` imports (absolute and relative), at module level and
    inside functions alike: a deferred import is still a dependency."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for statement in ast.walk(node):
            if isinstance(statement, ast.Import):
                targets.update(alias.name for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                if statement.level:
                    base = package.split(".")
                    base = base[: len(base) - (statement.level - 1)]
                    module = ".".join([*base, statement.module] if statement.module else base)
                else:
                    module = statement.module or ""
                for alias in statement.names:
                    # `from bot import clock` imports the module bot.clock, not just `bot`.
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in known else module)
    return {target for target in targets if target in known and target != name}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        iterators = [iter(sorted(graph[start]))]
        state[start] = 1
        while iterators:
            successor = next(iterators[-1], None)
            if successor is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            elif not state.get(successor):
                state[successor] = 1
                path.append(successor)
                iterators.append(iter(sorted(graph[successor])))
    return None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_no_import_cycles_among_our_packages() -> None:
    """Walks the imports of every module under bot/, handlers/, scheduler/ and storage/
    (absolute and relative). Imports inside functions count too: deferring an import hides a
    circle from Python's loader but not from the reader. Only `if TYPE_CHECKING:` blocks are
    skipped (annotations, never run)."""
    graph = _graph()
    assert len(graph) > 30 and graph["bot.app"], "the walk found too little to be trusted"
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_reports_the_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_scheduler_does_not_depend_on_the_app() -> None:
    graph = _graph()
    scheduler = {name for name in graph if name.split(".")[0] == "scheduler"}
    assert all("bot.app" not in graph[name] for name in scheduler)
    assert "bot.services" in graph["scheduler.runner"]


def _unit(module: str) -> str:
    """The room a module lives in: a subpackage of bot/ (bot.delivery, bot.domain, …), a
    top-level module of bot/ (bot.services, bot.clock, …), or handlers/scheduler/storage."""
    parts = module.split(".")
    if parts[0] != "bot":
        return parts[0]
    return ".".join(parts[:2])


def test_no_import_cycles_among_the_rooms() -> None:
    """bot/'s subpackages, its top-level modules, handlers/, scheduler/ and storage/, each taken
    as one room, import each other in one direction only."""
    rooms: dict[str, set[str]] = {}
    for name, targets in _graph().items():
        room = _unit(name)
        rooms.setdefault(room, set()).update(_unit(t) for t in targets if _unit(t) != room)
    assert {"bot.delivery", "bot.domain", "handlers", "scheduler", "storage"} <= set(rooms)
    cycle = _find_cycle(rooms)
    assert cycle is None, "rooms import each other in a circle: " + " -> ".join(cycle or [])


def test_the_delivery_layer_sits_below_services_and_above_storage() -> None:
    rooms = {
        _unit(t)
        for name, targets in _graph().items()
        if _unit(name) == "bot.delivery"
        for t in targets
    }
    assert rooms <= {"bot.delivery", "bot.clock", "bot.slack_api", "bot.i18n", "storage"}, rooms
