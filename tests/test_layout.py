"""The package's shape: modules import downhill (no cycle), import at the top (but for
optional dependencies), and stay small enough to read in one sitting."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skdae"
MODULES = sorted(PACKAGE.glob("*.py"))

# Imported where they are used: installed only with an extra (or by matplotlib).
OPTIONAL = {
    "pandas",
    "matplotlib",
    "PIL",
    "tensorboard",
    "torch.utils.tensorboard",
    "onnx",
    "skl2onnx",
    "onnxruntime",
}
# The package's own optional layer: importing it pulls skl2onnx and onnx.
OPTIONAL_OWN = {"onnx"}
# Lines a module may have, docstrings included: a flag that a module may have grown a
# second idea (then split it by idea), not a number to cut one idea down to. A module
# that still holds one idea past it raises the limit, with a word in docs/development.md.
MAX_LINES = 600


def _own_imports(tree, module):
    """The package modules ``module`` imports outside functions and classes (at the top,
    or in a module-level ``if``/``try``), relative or absolute; a name that is not a
    module (``from . import load``) is an import of ``__init__``."""
    modules = {p.stem for p in MODULES}
    imported = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level == 0 and not name.startswith("skdae"):
                continue
            parts = name.split(".")[1:] if node.level == 0 else name.split(".") if name else []
            if parts and parts[0]:
                imported.add(parts[0] if parts[0] in modules else "__init__")
            else:  # from . import x / from skdae import x
                imported.update(a.name if a.name in modules else "__init__" for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "skdae":
                    imported.add(parts[1] if len(parts) > 1 else "__init__")
    imported.discard(module)
    return imported


def _graph():
    return {
        path.stem: _own_imports(ast.parse(path.read_text()), path.stem) & {p.stem for p in MODULES}
        for path in MODULES
    }


def _cycle(graph):
    """A cycle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_imports_of_every_form_are_seen():
    source = (
        "from . import load\nfrom ._base import X\nimport skdae._data\n"
        "try:\n    from skdae import _net\nexcept ImportError:\n    pass\n"
        "def f():\n    from ._fitted import y\n"
    )
    seen = _own_imports(ast.parse(source), "cli")
    assert seen == {"__init__", "_base", "_data", "_net"}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_imports_downhill_without_a_cycle():
    graph = _graph()
    assert graph["__init__"], "the walk found no imports: it reads nothing"
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def _nested_imports(tree):
    """``(line, module)`` of every import inside a function or class (``.x`` for the
    package's own)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found += [(inner.lineno, alias.name) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    name = inner.module or inner.names[0].name
                    found.append((inner.lineno, "." * inner.level + name))
    return sorted(set(found))


def _optional(name):
    return any(name == o or name.startswith(o + ".") for o in OPTIONAL) or name in {
        f".{own}" for own in OPTIONAL_OWN
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_are_at_the_top_but_for_optional_dependencies(path):
    nested = _nested_imports(ast.parse(path.read_text()))
    wrong = [f"{path.name}:{line} imports {name}" for line, name in nested if not _optional(name)]
    assert not wrong, wrong


def test_nested_imports_are_seen():
    tree = ast.parse("def f():\n    import torch.nn\n    from .x import y\n    from . import z\n")
    assert _nested_imports(tree) == [(2, "torch.nn"), (3, ".x"), (4, ".z")]
    assert _optional("torch.utils.tensorboard") and not _optional("torch.nn")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_module_is_too_long_to_read(path):
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{path.name} has {n_lines} lines"
