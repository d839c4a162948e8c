// Pairwise ground costs, one row of the output per loop iteration so every
// thread writes its own contiguous block; the metric itself lives in
// emd/metrics.hpp so cost_matrix and the matrix-free kernels agree bit for bit.
#include "emd/cost_matrix.hpp"

#include "emd/parallel.hpp"

namespace emd {
namespace {

template <class T, Metric kMetric>
void fill_rows(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, double q, T* out,
               bool allow_threads) {
#if defined(EMD_HAVE_OPENMP)
#pragma omp parallel for schedule(static) if (allow_threads && n * m * d > (1 << 16))
#endif
    for (std::int64_t i = 0; i < n; ++i) {
        const T* xi = x + i * d;
        T* row = out + i * m;
        for (std::int64_t j = 0; j < m; ++j) row[j] = T(metric_distance<kMetric>(xi, y + j * d, d, q));
    }
}

}  // namespace

template <class T>
void cost_matrix(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, Metric metric, double q,
                 T* out, bool allow_threads) {
    // One instantiation per metric: the metric is a compile-time constant in the inner loop.
    switch (metric) {
        case Metric::sqeuclidean: return fill_rows<T, Metric::sqeuclidean>(x, y, n, m, d, q, out, allow_threads);
        case Metric::euclidean: return fill_rows<T, Metric::euclidean>(x, y, n, m, d, q, out, allow_threads);
        case Metric::cityblock: return fill_rows<T, Metric::cityblock>(x, y, n, m, d, q, out, allow_threads);
        case Metric::chebyshev: return fill_rows<T, Metric::chebyshev>(x, y, n, m, d, q, out, allow_threads);
        case Metric::minkowski: return fill_rows<T, Metric::minkowski>(x, y, n, m, d, q, out, allow_threads);
    }
}

template void cost_matrix<float>(const float*, const float*, std::int64_t, std::int64_t, std::int64_t, Metric,
                                 double, float*, bool);
template void cost_matrix<double>(const double*, const double*, std::int64_t, std::int64_t, std::int64_t, Metric,
                                  double, double*, bool);

}  // namespace emd
