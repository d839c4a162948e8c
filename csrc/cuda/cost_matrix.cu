// Pairwise ground costs C[i, j] = dist(x_i, y_j) on the GPU.
//
// A block computes a TILE x TILE tile of C: the x and y rows of the tile are
// staged through shared memory CHUNK coordinates at a time, and each thread
// keeps a 4 x 4 register tile of double accumulators. The per-coordinate
// steps are emd::metric_step / metric_finish (csrc/include/emd/metrics.hpp),
// the functions the CPU's cost_matrix runs: differences, squares and sums in
// double with round-to-nearest intrinsics (no fused multiply-add), in the same
// coordinate order, so the GPU and CPU cost matrices can agree to the last bit
// (Minkowski's pow() aside) when the host compiler does not contract either.
#include <cmath>
#include <cstdint>

#include "common/check.cuh"
#include "emd/gpu.hpp"
#include "emd/metrics.hpp"

namespace emd::gpu {
namespace {

using i64 = std::int64_t;

constexpr int THREADS = 16;           // blockDim = (16, 16)
constexpr int PER_THREAD = 4;         // each thread: 4 x 4 outputs
constexpr int TILE = THREADS * PER_THREAD;
constexpr int CHUNK = 16;             // coordinates staged per step

template <class T, Metric M>
__global__ void __launch_bounds__(THREADS * THREADS)
cost_matrix_kernel(const T* __restrict__ x, i64 n, const T* __restrict__ y, i64 m, i64 d, double q, T* __restrict__ out) {
    __shared__ T xs[TILE][CHUNK + 1];  // +1: no bank conflicts on the column reads
    __shared__ T ys[TILE][CHUNK + 1];
    const i64 row0 = i64(blockIdx.y) * TILE, col0 = i64(blockIdx.x) * TILE;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * THREADS + tx;
    double acc[PER_THREAD][PER_THREAD] = {};
    for (i64 k0 = 0; k0 < d; k0 += CHUNK) {
        // Stage TILE x CHUNK of x and of y (zeros past the edges; never read back).
        for (int e = tid; e < TILE * CHUNK; e += THREADS * THREADS) {
            const int r = e / CHUNK, k = e % CHUNK;
            const i64 gi = row0 + r, gj = col0 + r, gk = k0 + k;
            xs[r][k] = (gi < n && gk < d) ? x[gi * d + gk] : T(0);
            ys[r][k] = (gj < m && gk < d) ? y[gj * d + gk] : T(0);
        }
        __syncthreads();
        const int kmax = d - k0 < CHUNK ? int(d - k0) : CHUNK;
        for (int k = 0; k < kmax; ++k) {
            double xv[PER_THREAD], yv[PER_THREAD];
            for (int a = 0; a < PER_THREAD; ++a) xv[a] = double(xs[ty + a * THREADS][k]);
            for (int b = 0; b < PER_THREAD; ++b) yv[b] = double(ys[tx + b * THREADS][k]);
            for (int a = 0; a < PER_THREAD; ++a)
                for (int b = 0; b < PER_THREAD; ++b) acc[a][b] = metric_step<M>(acc[a][b], metric_detail::sub_rn(xv[a], yv[b]), q);
        }
        __syncthreads();
    }
    // Thread (tx, ty) owns rows ty + a * 16 and columns tx + b * 16: a warp's
    // stores cover 16 consecutive columns of two rows.
    for (int a = 0; a < PER_THREAD; ++a) {
        const i64 i = row0 + ty + a * THREADS;
        if (i >= n) continue;
        for (int b = 0; b < PER_THREAD; ++b) {
            const i64 j = col0 + tx + b * THREADS;
            if (j < m) out[i * m + j] = T(metric_finish<M>(acc[a][b], q));
        }
    }
}

template <class T, Metric M>
void launch(const T* x, i64 n, const T* y, i64 m, i64 d, double q, T* out, cudaStream_t stream) {
    const i64 gx = (m + TILE - 1) / TILE, gy = (n + TILE - 1) / TILE;
    detail::require(gy < 65536, "cost_matrix: x has too many rows for one grid on the GPU");
    detail::require(gx < (i64(1) << 31), "cost_matrix: y has too many rows for one grid on the GPU");
    cost_matrix_kernel<T, M><<<dim3(unsigned(gx), unsigned(gy)), dim3(THREADS, THREADS), 0, stream>>>(x, n, y, m, d, q, out);
    detail::check_launch("cost_matrix_kernel");
}

template <class T>
void dispatch(const void* x, i64 n, const void* y, i64 m, i64 d, int metric, double q, void* out, cudaStream_t s) {
    auto xp = static_cast<const T*>(x);
    auto yp = static_cast<const T*>(y);
    auto op = static_cast<T*>(out);
    switch (static_cast<Metric>(metric)) {
        case Metric::sqeuclidean: return launch<T, Metric::sqeuclidean>(xp, n, yp, m, d, q, op, s);
        case Metric::euclidean: return launch<T, Metric::euclidean>(xp, n, yp, m, d, q, op, s);
        case Metric::cityblock: return launch<T, Metric::cityblock>(xp, n, yp, m, d, q, op, s);
        case Metric::chebyshev: return launch<T, Metric::chebyshev>(xp, n, yp, m, d, q, op, s);
        case Metric::minkowski: return launch<T, Metric::minkowski>(xp, n, yp, m, d, q, op, s);
    }
    throw std::invalid_argument("cost_matrix: unknown metric code");
}

}  // namespace

void cost_matrix(Dtype dtype, const void* d_x, i64 n, const void* d_y, i64 m, i64 d, int metric, double q, void* d_out,
                 int device, std::uintptr_t stream) {
    detail::require(n >= 1 && m >= 1 && d >= 1, "cost_matrix: x and y need at least one point of dimension >= 1");
    detail::require(metric != int(Metric::minkowski) || (q >= 1.0 && std::isfinite(q)), "cost_matrix: Minkowski order must be a finite number >= 1");
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    if (dtype == Dtype::float32) dispatch<float>(d_x, n, d_y, m, d, metric, q, d_out, s);
    else dispatch<double>(d_x, n, d_y, m, d, metric, q, d_out, s);
}

}  // namespace emd::gpu
