// Ground metrics between points of R^d, written once for the CPU and the GPU
// (EMD_HOST_DEVICE): cost_matrix on either side and every matrix-free kernel
// (the on-the-fly Sinkhorn, CPU and CUDA) use these functions, so they agree
// to the last bit wherever both sides round the same way.
//
// Arithmetic: coordinates are read as double and accumulated in double in
// coordinate order. On the device the sums and products go through the
// round-to-nearest intrinsics (__dadd_rn, __dmul_rn, __dsub_rn), which nvcc
// never fuses into a multiply-add, so a device distance rounds like the
// host's whenever the host compiler does not contract either.
#pragma once
#include <cmath>
#include <cstdint>

#include "emd/host_device.hpp"

namespace emd {

enum class Metric : int { sqeuclidean = 0, euclidean = 1, cityblock = 2, chebyshev = 3, minkowski = 4 };

namespace metric_detail {

EMD_HOST_DEVICE inline double sub_rn(double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dsub_rn(x, y);
#else
    return x - y;
#endif
}
EMD_HOST_DEVICE inline double add_rn(double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(x, y);
#else
    return x + y;
#endif
}
EMD_HOST_DEVICE inline double mul_rn(double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dmul_rn(x, y);
#else
    return x * y;
#endif
}

}  // namespace metric_detail

// One coordinate of metric M: the running accumulator `acc` after a
// coordinate whose difference is t = x_k - y_k (q: the Minkowski order).
template <Metric M>
EMD_HOST_DEVICE inline double metric_step(double acc, double t, double q) {
    using namespace metric_detail;
    if constexpr (M == Metric::sqeuclidean || M == Metric::euclidean) {
        return add_rn(acc, mul_rn(t, t));
    } else if constexpr (M == Metric::cityblock) {
        return add_rn(acc, fabs(t));
    } else if constexpr (M == Metric::chebyshev) {
        const double u = fabs(t);
        return u > acc ? u : acc;
    } else {
        return add_rn(acc, pow(fabs(t), q));
    }
}

// The distance from the accumulator after the last coordinate.
template <Metric M>
EMD_HOST_DEVICE inline double metric_finish(double acc, double q) {
    if constexpr (M == Metric::euclidean) return sqrt(acc);
    else if constexpr (M == Metric::minkowski) return pow(acc, 1.0 / q);
    else return acc;
}

// dist_M(x, y) for x, y in R^d with coordinate k at x[k * x_stride] and
// y[k * y_stride] (strides other than 1: points staged coordinate-major).
template <Metric M, class T>
EMD_HOST_DEVICE inline double metric_distance(const T* x, const T* y, std::int64_t d, double q,
                                              std::int64_t x_stride = 1, std::int64_t y_stride = 1) {
    double acc = 0.0;
    for (std::int64_t k = 0; k < d; ++k)
        acc = metric_step<M>(acc, metric_detail::sub_rn(double(x[k * x_stride]), double(y[k * y_stride])), q);
    return metric_finish<M>(acc, q);
}

// The same with the metric chosen at run time.
template <class T>
EMD_HOST_DEVICE inline double metric_distance(Metric metric, const T* x, const T* y, std::int64_t d, double q,
                                              std::int64_t x_stride = 1, std::int64_t y_stride = 1) {
    switch (metric) {
        case Metric::sqeuclidean: return metric_distance<Metric::sqeuclidean>(x, y, d, q, x_stride, y_stride);
        case Metric::euclidean: return metric_distance<Metric::euclidean>(x, y, d, q, x_stride, y_stride);
        case Metric::cityblock: return metric_distance<Metric::cityblock>(x, y, d, q, x_stride, y_stride);
        case Metric::chebyshev: return metric_distance<Metric::chebyshev>(x, y, d, q, x_stride, y_stride);
        case Metric::minkowski: return metric_distance<Metric::minkowski>(x, y, d, q, x_stride, y_stride);
    }
    return 0.0;
}

// The ground cost dist ** power, with the common powers exact.
EMD_HOST_DEVICE inline double cost_power(double dist, double power) {
    if (power == 1.0) return dist;
    if (power == 2.0) return dist * dist;
    return pow(dist, power);
}

#if !defined(__CUDACC__)
// Host only: the distances from one point x to `count` points stored
// coordinate-major (yt[k * ld + j] is coordinate k of point j):
// out[j] = metric_distance(x, y_j), by the same steps in the same order, so
// the results agree to the last bit; the layout lets the compiler vectorize
// over j, which the matrix-free CPU kernels (Sinkhorn on samples) need in
// their innermost loop.
template <Metric M, class T>
inline void add_coordinate(double xk, const T* yk, std::int64_t count, double q, double* out) {
#pragma omp simd
    for (std::int64_t j = 0; j < count; ++j) out[j] = metric_step<M>(out[j], xk - double(yk[j]), q);
}

template <class T>
inline void metric_distance_block(Metric metric, const T* x, const T* yt, std::int64_t ld, std::int64_t count,
                                  std::int64_t d, double q, double* out) {
    for (std::int64_t j = 0; j < count; ++j) out[j] = 0.0;
    for (std::int64_t k = 0; k < d; ++k) {
        const double xk = double(x[k]);
        const T* yk = yt + k * ld;
        switch (metric) {
            case Metric::sqeuclidean:
            case Metric::euclidean: add_coordinate<Metric::sqeuclidean>(xk, yk, count, q, out); break;
            case Metric::cityblock: add_coordinate<Metric::cityblock>(xk, yk, count, q, out); break;
            case Metric::chebyshev: add_coordinate<Metric::chebyshev>(xk, yk, count, q, out); break;
            case Metric::minkowski: add_coordinate<Metric::minkowski>(xk, yk, count, q, out); break;
        }
    }
    if (metric == Metric::euclidean) {
#pragma omp simd
        for (std::int64_t j = 0; j < count; ++j) out[j] = metric_finish<Metric::euclidean>(out[j], q);
    } else if (metric == Metric::minkowski) {
        for (std::int64_t j = 0; j < count; ++j) out[j] = metric_finish<Metric::minkowski>(out[j], q);
    }
}
#endif

}  // namespace emd
