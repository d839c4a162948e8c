"""The shape of the package: one seam between the algorithms and the backends.

- the import graph of python/emd is acyclic (function-level imports included);
- no module imports a private name of an algorithm module (they talk through
  the public API, ``_problems`` and the backends);
- every backend implements every kernel of ``emd._backend.base.Backend``;
- the GPU mirror module is gone.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import emd

PACKAGE = pathlib.Path(emd.__file__).resolve().parent
# Modules that hold no algorithm: their private names are the package's shared vocabulary.
SHARED = {"emd._validation", "emd._numerics", "emd._problems", "emd._result", "emd._metrics", "emd._warnings", "emd._dispatch",
          "emd._backend", "emd._backend.base"}


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level:
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([target] if target else []))
    return target or ""


def _imports(modules: dict[str, pathlib.Path]) -> list[tuple[str, str, str | None]]:
    """(importer, imported module, imported name or None) for every import statement, anywhere in a file."""
    out = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                out += [(name, alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, is_package, node.level, node.module)
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    # `from . import _core` imports a module; `from ._x import f` a name of one.
                    if sub in modules or (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".pyi").exists():
                        out.append((name, sub, None))
                    else:
                        out.append((name, target, alias.name))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for importer, imported, _ in _imports(modules):
        # importing a.b.c runs a and a.b first
        parts = imported.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix in modules and prefix != importer and not importer.startswith(prefix + "."):
                graph[importer].add(prefix)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_import_graph_is_acyclic():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_can_fail():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_names_of_algorithm_modules_are_imported():
    modules = _modules()
    bad = [
        f"{importer} imports {name} from {imported}"
        for importer, imported, name in _imports(modules)
        if name and name.startswith("_") and imported.startswith("emd.") and imported not in SHARED
        and not imported.startswith("emd._backend") and imported != importer
        # the trainer is an application: its modules share helpers among themselves
        and not (importer.startswith("emd.wgan") and imported.startswith("emd.wgan"))
    ]
    assert not bad, bad


def test_the_gpu_mirror_is_gone():
    assert not (PACKAGE / "_gpu.py").exists()


def _kernels() -> list[str]:
    """What a backend must implement itself: the kernel table and the array conversions
    (Backend's other methods have host defaults: active, scalar, finish, the last steps)."""
    from emd._backend.base import KERNELS, Backend

    methods = [k for k, v in vars(Backend).items() if callable(v) and not k.startswith("_")]
    assert set(KERNELS) <= set(methods)
    return [*KERNELS, "asarray", "to_host"]


def test_the_cpu_backend_implements_every_kernel():
    from emd._backend.base import Backend
    from emd._backend.cpu import CPU

    missing = [k for k in _kernels() if getattr(CPU, k) is getattr(Backend, k)]
    assert not missing, missing


def test_the_cuda_backend_defines_every_kernel():
    # Read from the source: cupy need not be importable here.
    tree = ast.parse((PACKAGE / "_backend" / "cuda.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CUDA"]
    defined = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    missing = [k for k in _kernels() if k not in defined]
    assert not missing, missing


@pytest.mark.parametrize("name", emd.__all__)
def test_public_names_have_docstrings(name):
    assert getattr(emd, name).__doc__


def test_the_torch_backend_runs_every_kernel_on_its_inner_backend():
    pytest.importorskip("torch", reason="torch is not installed (the 'torch' or 'test' extra installs it)")
    from emd._backend.base import KERNELS, Backend
    from emd._backend.cpu import CPU_BACKEND
    from emd._backend.torch import Torch

    be = Torch(CPU_BACKEND, "cpu")
    for k in KERNELS:
        assert getattr(Torch, k) is not getattr(Backend, k), k
        assert getattr(be, k).__name__ == k
