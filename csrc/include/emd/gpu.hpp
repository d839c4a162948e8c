// Host-side entry points of the CUDA kernels (csrc/cuda/*.cu).
//
// Pure C++: no CUDA types cross this header. Device pointers travel as
// `void*` / `const void*` (named d_*), the stream as the integer handle that
// CuPy's `Stream.ptr` gives (0 is the legacy default stream), and every entry
// point first makes `device` current. Scratch memory is never allocated here:
// the caller asks for its size (`*_workspace_bytes`) and passes a buffer of at
// least that size (emd's Python layer takes it from CuPy's memory pool), so a
// call costs no cudaMalloc. Errors throw std::runtime_error (CUDA failures) or
// std::invalid_argument (bad sizes); kernels are launched asynchronously on
// `stream` and nothing here synchronizes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace emd::gpu {

enum class Dtype : int { float32 = 0, float64 = 1 };

// Number of usable CUDA devices; 0 (never an exception) when there is no
// driver, no device, or the driver is too old for this runtime.
int device_count() noexcept;

// --- wasserstein_1d ---------------------------------------------------------
// Batched exact 1-D W_p: out[k] = W_p(u[pair_u[k]], v[pair_v[k]]), the same
// mathematics as emd::wasserstein_1d (csrc/include/emd/one_d.hpp). Values are
// (rows, n) C-contiguous; weights are nullptr (uniform) or the same shape.
// pair_u / pair_v are int64 device arrays of length num_pairs.
struct OneDProblem {
    Dtype dtype;
    const void* d_u_values;
    const void* d_u_weights;
    std::int64_t u_rows, n;
    const void* d_v_values;
    const void* d_v_weights;
    std::int64_t v_rows, m;
    const std::int64_t* d_pair_u;
    const std::int64_t* d_pair_v;
    std::int64_t num_pairs;
    double p;
    bool assume_sorted;
};

std::size_t wasserstein_1d_workspace_bytes(const OneDProblem& prob, int device);
void wasserstein_1d(const OneDProblem& prob, void* d_out, void* d_workspace, std::size_t workspace_bytes,
                    int device, std::uintptr_t stream);

// --- cost_matrix ------------------------------------------------------------
// out (n, m) = metric(x_i, y_j) for x (n, d), y (m, d) C-contiguous; `metric`
// is emd::Metric's integer value (csrc/include/emd/metrics.hpp), `q` the
// Minkowski order. Accumulates in double, like emd::metric_distance.
void cost_matrix(Dtype dtype, const void* d_x, std::int64_t n, const void* d_y, std::int64_t m, std::int64_t d,
                 int metric, double q, void* d_out, int device, std::uintptr_t stream);

// --- divergences ------------------------------------------------------------
// For each of `rows` pairs of histograms p[r], q[r] (rows, bins) C-contiguous,
// nonnegative with positive sums (not necessarily normalized): kind 0 = TV,
// 1 = KL(p || q), 2 = JS, in nats, each histogram normalized by its own sum.
void divergence(Dtype dtype, int kind, const void* d_p, const void* d_q, std::int64_t rows, std::int64_t bins,
                void* d_out, int device, std::uintptr_t stream);

}  // namespace emd::gpu
