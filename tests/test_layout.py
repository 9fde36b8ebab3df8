"""The backend's layout by role, read from the source with ``ast`` (nothing is imported):

- no import cycle among the modules of ``backend`` and ``plugin/common``, counting imports inside functions too;
- the runtime (everything in ``backend`` but the tools) never imports a tool: ``backend.bench``, ``backend.train``,
  ``backend.cli``, ``backend.degrade`` or ``backend.__main__`` (but for the style trainer the service runs, ALLOWED).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "plugin/common")
TOOLS = ("backend.bench", "backend.train", "backend.cli", "backend.degrade", "backend.__main__")
# The one way in, on purpose: an editor's "train a style" runs the style trainer in the service (a job like a run).
ALLOWED = {("backend.service.jobs", "backend.train.style")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules among ``known`` that ``path`` imports anywhere in its body (``from pkg import mod`` names
    ``pkg.mod`` when that is a module, else ``pkg``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [
                f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # import a.b.c of a known a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _is_tool(name: str) -> bool:
    return any(name == tool or name.startswith(tool + ".") for tool in TOOLS)


def test_the_graph_sees_the_modules():
    graph = _graph()
    assert "backend.pipeline" in graph and "plugin.common.config" in graph
    assert "backend.errors" in graph["backend.pipeline"]


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_runtime_never_imports_the_tools():
    graph = _graph()
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name.startswith("backend") and not _is_tool(name)
        for target in targets
        if _is_tool(target) and (name, target) not in ALLOWED
    )
    assert not wrong, "\n".join(wrong)
