// TV, KL and JS between histograms on the GPU: one block per pair of rows.
//
// Two passes over a row pair: the masses of p and q (block sums in double),
// then the divergence of the normalized histograms, term by term in double
// with the same conventions as python/emd/_divergences.py: 0 log(0 / y) = 0,
// x log(x / 0) = +inf for x > 0; KL is clamped below at 0 and JS to
// [0, log 2] (rounding can step outside the true range by an ulp).
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "common/check.cuh"
#include "common/reduce.cuh"
#include "emd/gpu.hpp"

namespace emd::gpu {
namespace {

using i64 = std::int64_t;
constexpr int BLOCK = 256;

// x log(x / y); log x - log y where the ratio leaves the normal range
// (0.5 / 5e-324 overflows, though its log is about 744), as on the CPU.
__device__ inline double rel_entr(double x, double y) {
    if (x == 0.0) return 0.0;
    if (y == 0.0) return INFINITY;
    const double ratio = x / y;
    if (ratio >= DBL_MIN && ratio <= DBL_MAX) return x * log(ratio);
    return x * (log(x) - log(y));
}

template <class T>
__global__ void divergence_kernel(int kind, const T* __restrict__ p, const T* __restrict__ q, i64 bins, T* __restrict__ out) {
    const i64 r = blockIdx.x;
    const T* pr = p + r * bins;
    const T* qr = q + r * bins;
    double sp = 0.0, sq = 0.0;
    for (i64 i = threadIdx.x; i < bins; i += BLOCK) {
        sp += double(pr[i]);
        sq += double(qr[i]);
    }
    sp = detail::block_sum_all<BLOCK>(sp);
    sq = detail::block_sum_all<BLOCK>(sq);
    double acc = 0.0;
    for (i64 i = threadIdx.x; i < bins; i += BLOCK) {
        const double a = double(pr[i]) / sp, b = double(qr[i]) / sq;
        if (kind == 0) {
            acc += fabs(a - b);
        } else if (kind == 1) {
            acc += rel_entr(a, b);
        } else {
            const double mid = 0.5 * (a + b);
            acc += rel_entr(a, mid) + rel_entr(b, mid);
        }
    }
    acc = detail::block_sum<BLOCK>(acc);
    if (threadIdx.x == 0) {
        double v;
        if (kind == 0) v = 0.5 * acc;
        else if (kind == 1) v = fmax(acc, 0.0);
        else v = fmin(fmax(0.5 * acc, 0.0), 0.69314718055994530942);
        out[r] = T(v);
    }
}

}  // namespace

void divergence(Dtype dtype, int kind, const void* d_p, const void* d_q, i64 rows, i64 bins, void* d_out, int device,
                std::uintptr_t stream) {
    detail::require(kind >= 0 && kind <= 2, "divergence: kind must be 0 (tv), 1 (kl) or 2 (js)");
    detail::require(rows >= 0 && bins >= 1, "divergence: histograms need at least one bin");
    if (rows == 0) return;
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    const unsigned grid = detail::grid_1d(rows);
    if (dtype == Dtype::float32)
        divergence_kernel<float><<<grid, BLOCK, 0, s>>>(kind, static_cast<const float*>(d_p),
                                                       static_cast<const float*>(d_q), bins, static_cast<float*>(d_out));
    else
        divergence_kernel<double><<<grid, BLOCK, 0, s>>>(kind, static_cast<const double*>(d_p),
                                                        static_cast<const double*>(d_q), bins, static_cast<double*>(d_out));
    detail::check_launch("divergence_kernel");
}

}  // namespace emd::gpu
