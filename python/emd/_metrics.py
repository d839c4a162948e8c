"""The ground metrics the kernels know, by name: codes of emd::Metric (csrc/include/emd/metrics.hpp).

One table for every module and backend: ``cost_matrix`` takes them all; the
matrix-free Sinkhorn takes those without a parameter.
"""

from __future__ import annotations

__all__ = ["METRIC_CODES", "SAMPLE_METRICS", "LINE_METRICS"]

METRIC_CODES = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2, "chebyshev": 3, "minkowski": 4}

# The metrics sinkhorn_samples evaluates on the fly (no Minkowski order to carry).
SAMPLE_METRICS = ("sqeuclidean", "euclidean", "cityblock", "chebyshev")

# The metrics that are |x - y| on the line: 1-D samples with one of them go to
# the sorting solver; any other metric (sqeuclidean, a callable) to the exact
# transport solver like point clouds.
LINE_METRICS = ("euclidean", "cityblock", "chebyshev", "minkowski")
