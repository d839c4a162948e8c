"""The GPU Python layer (emd._gpu) on any machine, against a fake extension.

See tests/_gpu_glue_check.py: NumPy stands in for CuPy and a fake _cuda
answers through the CPU kernels, so this checks the glue (pointers, argument
order, shapes, dtypes, identical error messages), not the CUDA kernels.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_gpu_python_layer_against_a_fake_extension():
    pytest.importorskip("scipy")
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run(
        [sys.executable, os.path.join(here, "_gpu_glue_check.py")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("glue ok")
