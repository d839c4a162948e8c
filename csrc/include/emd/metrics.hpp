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

}  // namespace emd
