"""The committed type stubs of the extensions match the extensions as built.

The stubs are generated, never written by hand: after changing a binding, run

    python tests/test_stubs.py --write

The test compares names, overloads and parameter names (not formatting, which
varies between pybind11-stubgen versions).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "python" / "emd"
MODULES = ["_core", "_cuda"]


def _generate(module: str, out_dir: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pybind11_stubgen", f"emd.{module}", "-o", str(out_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out_dir / "emd" / f"{module}.pyi"


def _signatures(text: str) -> dict[str, list[list[str]]]:
    """{function: [parameter names of each overload]} of a stub file."""
    out: dict[str, list[list[str]]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            out.setdefault(node.name, []).append(names)
    return out


def _built(module: str) -> bool:
    try:
        importlib.import_module(f"emd.{module}")
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("module", MODULES)
def test_stub_matches_extension(module, tmp_path):
    pytest.importorskip("pybind11_stubgen")
    committed = PACKAGE_DIR / f"{module}.pyi"
    if not _built(module):
        if module == "_core":
            pytest.fail("emd._core is not importable")
        pytest.skip(f"emd.{module} was not built here (no CUDA compiler at build time)")
    generated = _generate(module, tmp_path)
    assert committed.exists(), f"{committed} is missing: run python tests/test_stubs.py --write"
    assert _signatures(committed.read_text()) == _signatures(generated.read_text()), (
        f"{committed.name} is stale: run python tests/test_stubs.py --write"
    )


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit(__doc__)
    for module in MODULES:
        if not _built(module):
            print(f"emd.{module}: not built here, stub left as it is")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            text = _generate(module, Path(tmp)).read_text()
        (PACKAGE_DIR / f"{module}.pyi").write_text(text)
        print(f"wrote {PACKAGE_DIR / f'{module}.pyi'}")
