"""Module layering: no import circle in tauraro/ (module-level imports), and the JIT core never imports a backend."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tauraro"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The tauraro modules `name` imports at module level (not inside functions or TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    deps = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            deps |= {c for c in (target, *(f"{target}.{a.name}" for a in node.names)) if c in modules}
        elif isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name in modules}
    deps.discard(name)
    return deps


def test_no_import_circle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(dep):] + [node, dep]))
            if dep not in state:
                visit(dep, stack + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_jit_core_imports_no_backend():
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("tauraro.jit"):
            assert not any(d.startswith("tauraro.backends") for d in _imports(name, path, modules)), name
