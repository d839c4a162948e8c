"""Matrix-free Sinkhorn on 100,000 points per side (about 20 minutes on 2 cores).

Its own section so that the default comparison stays short:
    python benchmarks/compare.py sinkhorn_large
"""

from __future__ import annotations

from compare_sinkhorn import _matrix_free


def run(quick: bool) -> None:
    _matrix_free(10_000 if quick else 100_000, 1e-3)
