// Dense ground-cost matrices between two point clouds.
#pragma once
#include <cstdint>

#include "emd/metrics.hpp"

namespace emd {

// out[i * m + j] = metric(x_i, y_j) for x (n, d), y (m, d), all C-contiguous.
// Rows are spread over threads; each entry is accumulated in double
// (emd/metrics.hpp, shared with the matrix-free kernels) and rounded once.
template <class T>
void cost_matrix(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, Metric metric, double q,
                 T* out);

}  // namespace emd
