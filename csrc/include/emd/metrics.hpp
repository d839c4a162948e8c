// Ground metrics between points of R^d, shared by cost_matrix and every
// matrix-free kernel (the on-the-fly Sinkhorn), so both agree to the last bit.
#pragma once
#include <cmath>
#include <cstdint>

namespace emd {

enum class Metric : int { sqeuclidean = 0, euclidean = 1, cityblock = 2, chebyshev = 3, minkowski = 4 };

// dist(x, y) for x, y in R^d; accumulation in double for float and double
// inputs. `q` is the Minkowski order (ignored by the other metrics).
template <class T>
inline double metric_distance(Metric metric, const T* x, const T* y, std::int64_t d, double q) {
    double acc = 0.0;
    switch (metric) {
        case Metric::sqeuclidean:
            for (std::int64_t k = 0; k < d; ++k) {
                const double t = double(x[k]) - double(y[k]);
                acc += t * t;
            }
            return acc;
        case Metric::euclidean:
            for (std::int64_t k = 0; k < d; ++k) {
                const double t = double(x[k]) - double(y[k]);
                acc += t * t;
            }
            return std::sqrt(acc);
        case Metric::cityblock:
            for (std::int64_t k = 0; k < d; ++k) acc += std::fabs(double(x[k]) - double(y[k]));
            return acc;
        case Metric::chebyshev:
            for (std::int64_t k = 0; k < d; ++k) {
                const double t = std::fabs(double(x[k]) - double(y[k]));
                acc = t > acc ? t : acc;
            }
            return acc;
        case Metric::minkowski:
            for (std::int64_t k = 0; k < d; ++k) acc += std::pow(std::fabs(double(x[k]) - double(y[k])), q);
            return std::pow(acc, 1.0 / q);
    }
    return acc;
}

// The same distances from one point x to `count` points stored coordinate-major
// (yt[k * ld + j] is coordinate k of point j): out[j] = metric_distance(x, y_j).
// The arithmetic is metric_distance's, in the same order, so results agree to
// the last bit; the layout lets the compiler vectorize over j, which the
// matrix-free kernels (Sinkhorn on samples) need in their innermost loop.
template <class T>
inline void metric_distance_block(Metric metric, const T* x, const T* yt, std::int64_t ld,
                                  std::int64_t count, std::int64_t d, double q, double* out) {
    for (std::int64_t j = 0; j < count; ++j) out[j] = 0.0;
    for (std::int64_t k = 0; k < d; ++k) {
        const double xk = double(x[k]);
        const T* yk = yt + k * ld;
        switch (metric) {
            case Metric::sqeuclidean:
            case Metric::euclidean:
#pragma omp simd
                for (std::int64_t j = 0; j < count; ++j) {
                    const double t = xk - double(yk[j]);
                    out[j] += t * t;
                }
                break;
            case Metric::cityblock:
#pragma omp simd
                for (std::int64_t j = 0; j < count; ++j) out[j] += std::fabs(xk - double(yk[j]));
                break;
            case Metric::chebyshev:
#pragma omp simd
                for (std::int64_t j = 0; j < count; ++j) {
                    const double t = std::fabs(xk - double(yk[j]));
                    out[j] = t > out[j] ? t : out[j];
                }
                break;
            case Metric::minkowski:
                for (std::int64_t j = 0; j < count; ++j) out[j] += std::pow(std::fabs(xk - double(yk[j])), q);
                break;
        }
    }
    if (metric == Metric::euclidean) {
#pragma omp simd
        for (std::int64_t j = 0; j < count; ++j) out[j] = std::sqrt(out[j]);
    } else if (metric == Metric::minkowski) {
        for (std::int64_t j = 0; j < count; ++j) out[j] = std::pow(out[j], 1.0 / q);
    }
}

}  // namespace emd
