"""The one-way import rules of docs/architecture.md, read from the source.

Every ``import backproof…`` counts, at the top of a module, inside a function or under
``TYPE_CHECKING``: a lazy import that hides a cycle is the cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import backproof

SOURCE = Path(backproof.__file__).parent

# From the bottom up; a module may import its own layer and the layers below it, never above.
# Keep in step with the table "Import rules" of docs/architecture.md.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "backproof",
        "clock",
        "errors",
        "masking",
        "secret_values",
        "privacy",
        "units",
        "config",
        "pydantic_plugins",
        "_native",
    ),
    ("process", "state"),
    ("storage", "archive", "sources", "filestore", "alerts"),
    (
        "status",
        "health",
        "assessment",
        "retention",
        "comparison",
        "application_checks",
        "report",
        "alert_events",
        "alert_ratelimit",
        "alert_dispatch",
        "queue_status",
        "reproofs",
        "scrub",
    ),
    ("jobs", "init", "doctor"),
    ("metrics", "pushgateway", "after_run"),
    ("cli", "web", "scheduler", "fleet", "demo", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Known arrows that break the rules, each with why and where it goes; the list only shrinks.
KNOWN_EXCEPTIONS = {
    # The worker stores the line ``submit --wait`` prints with the CLI's renderer; it moves
    # when the text rendering leaves cli/ (the one formatter, issue 16).
    ("fleet", "cli"): "backproof.fleet.steps -> backproof.cli.render",
}


def part_of(module: str) -> str:
    """Return the top-level package or module of ``backproof.<part>…``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """Yield every backproof module ``path`` imports, wherever the import statement is."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] == "backproof")


def package_edges() -> dict[tuple[str, str], list[str]]:
    """Return the imports between different top-level parts, with the modules that make them."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        importer = module_name(path)
        for imported in imports_of(path):
            edge = (part_of(importer), part_of(imported))
            if edge[0] != edge[1] and KNOWN_EXCEPTIONS.get(edge) != f"{importer} -> {imported}":
                edges.setdefault(edge, []).append(f"{importer} -> {imported}")
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """Return one cycle of the graph as a path, or None."""
    graph: dict[str, set[str]] = {}
    for start, end in edges:
        graph.setdefault(start, set()).add(end)
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for successor in sorted(graph.get(node, ())):
            if cycle := visit(successor):
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if cycle := visit(node):
            return cycle
    return None


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(module_name(path)) for path in SOURCE.rglob("*.py")}

    assert sorted(parts - set(RANK)) == []


def test_no_import_runs_up_the_layers() -> None:
    wrong_way = [
        module_import
        for (importer, imported), found in package_edges().items()
        if RANK.get(importer, 0) < RANK.get(imported, len(LAYERS))
        for module_import in found
    ]

    assert wrong_way == []


def test_no_cycle_between_parts_of_the_package() -> None:
    assert find_cycle(set(package_edges())) is None


def test_nothing_under_alerts_imports_the_jobs() -> None:
    assert [edge for edge in package_edges() if edge == ("alerts", "jobs")] == []


def test_rules_test_finds_a_cycle_when_there_is_one() -> None:
    assert find_cycle({("jobs", "alerts"), ("alerts", "jobs")}) == ["alerts", "jobs", "alerts"]


def test_only_the_process_package_imports_subprocess() -> None:
    importers = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "subprocess" in names and part_of(module_name(path)) != "process":
                importers.append(module_name(path))

    assert importers == []
