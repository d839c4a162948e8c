// Dense ground-cost matrices between two point clouds.
#pragma once
#include <cstdint>

#include "emd/metrics.hpp"

namespace emd {

// out[i * m + j] = metric(x_i, y_j) for x (n, d), y (m, d), all C-contiguous.
// Rows are spread over threads; each entry is accumulated in double
// (emd/metrics.hpp, shared with the matrix-free kernels) and rounded once, so
// the result does not depend on the threads. `allow_threads` false keeps the
// calling thread alone (a caller whose next step is a longer serial one: idle
// OpenMP workers spin for a while after a parallel region and take a core
// from it on a busy machine).
template <class T>
void cost_matrix(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, Metric metric, double q,
                 T* out, bool allow_threads = true);

}  // namespace emd
