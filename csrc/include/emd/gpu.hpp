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

// --- sinkhorn ---------------------------------------------------------------
// Log-domain Sinkhorn, the mathematics and the stopping rule of
// emd::sinkhorn_dense / emd::sinkhorn_samples (csrc/include/emd/sinkhorn.hpp):
// f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps), then the same for g; the
// row marginal error ||P 1 - a||_1 is measured after every g-update (on the
// device: a control kernel decides, so the host reads the state back only
// every few iterations) and the loop stops when it falls below tol; with
// eps_scaling the epsilons scale, scale * s, scale * s^2, ... > reg, then reg
// (intermediate stages stop at max(tol, 1e-2 * mass_a)); over-relaxed
// updates as on the CPU (overrelax), ending on a plain update.
#include "emd/sinkhorn_control.hpp"

namespace emd {
class Interrupt;
}

namespace emd::gpu {

struct SinkhornOptions {
    SinkhornParams params;  // reg, tol, max_iter, eps_scaling, overrelax: the CPU's
    double scale = 0.0;     // the first epsilon of eps_scaling (an upper bound of the cost)
    double mass_a = 1.0;    // sum of a (the loose tolerance of intermediate stages)
};

// Per-problem outputs (device arrays of num_problems entries; f, g rows of n, m).
struct SinkhornOutputs {
    void* d_f;
    void* d_g;
    double* d_cost;            // <P, C>
    double* d_objective;       // <P, C> + eps KL(P || a x b)
    double* d_marginal_error;  // ||P 1 - a||_1 at the last check
    std::int64_t* d_n_iter;
    std::int32_t* d_status;    // emd::SolveStatus (csrc/include/emd/status.hpp)
};

// One dense problem: a (n), b (m), cost (n, m) C-contiguous; f_init, g_init
// nullptr (zeros) or device arrays. Warp-per-row log-sum-exp for f, a
// column-tiled two-pass log-sum-exp for g (coalesced, no transpose).
std::size_t sinkhorn_dense_workspace_bytes(Dtype dtype, std::int64_t n, std::int64_t m, int device);
void sinkhorn_dense(Dtype dtype, const void* d_a, const void* d_b, const void* d_cost, std::int64_t n,
                    std::int64_t m, const SinkhornOptions& options, const void* d_f_init, const void* d_g_init,
                    const SinkhornOutputs& out, void* d_workspace, std::size_t workspace_bytes, int device,
                    std::uintptr_t stream, Interrupt& interrupt);

// Many small problems, one CUDA block each, the whole loop on the device with
// per-problem stopping: a (B, n), b (B, m), cost (n, m) when shared_cost else
// (B, n, m); d_scale (B,) doubles (first epsilons; ignored without
// eps_scaling). Requires sinkhorn_batched_fits(n, m).
bool sinkhorn_batched_fits(std::int64_t n, std::int64_t m);
void sinkhorn_batched(Dtype dtype, const void* d_a, const void* d_b, const void* d_cost, bool shared_cost,
                      std::int64_t num_problems, std::int64_t n, std::int64_t m, const SinkhornOptions& options,
                      const double* d_scale, const void* d_f_init, const void* d_g_init, const SinkhornOutputs& out,
                      int device, std::uintptr_t stream);

// Matrix-free: x (n, d), y (m, d), weights a (n), b (m); the cost
// metric(x_i, y_j) ** power (metric: emd::Metric 0..3) is recomputed per tile
// of points staged in shared memory, with a streaming log-sum-exp; memory
// O((n + m) d).
std::size_t sinkhorn_samples_workspace_bytes(Dtype dtype, std::int64_t n, std::int64_t m, std::int64_t d, int device);
void sinkhorn_samples(Dtype dtype, const void* d_x, const void* d_y, const void* d_a, const void* d_b,
                      std::int64_t n, std::int64_t m, std::int64_t d, int metric, double power,
                      const SinkhornOptions& options, const void* d_f_init, const void* d_g_init,
                      const SinkhornOutputs& out, void* d_workspace, std::size_t workspace_bytes, int device,
                      std::uintptr_t stream, Interrupt& interrupt);

// --- critic -----------------------------------------------------------------
// MLP critics (csrc/include/emd/critic.hpp): h_{l+1} = leaky(h_l W_l + b_l),
// the last layer linear with fan_out 1; W_l (K, fan_in, fan_out), b_l (K,
// fan_out) device arrays. The fused kernel keeps every layer's weights of one
// critic in shared memory and a tile of samples' activations beside them; it
// serves narrow networks (critic_fused_fits); wider ones go through cuBLAS
// (CuPy's matmul) in python/emd/_gpu.py.
constexpr int kCriticMaxLayers = 8;
constexpr int kCriticMaxWidth = 64;

struct CriticNet {
    Dtype dtype;
    int num_layers;
    std::int64_t dims[kCriticMaxLayers + 1];
    const void* d_weights[kCriticMaxLayers];
    const void* d_biases[kCriticMaxLayers];
    std::int64_t num_critics;
    double slope;
};

// Whether the fused kernel takes this network on `device` (widths <= 64, at most
// 8 layers, parameters and two activation tiles within its shared memory).
bool critic_fused_fits(const CriticNet& net, int device);
// out (K, batch) = f_k(x[k]) with x (K, batch, d), or (batch, d) fed to every critic when shared_x.
void critic_forward(const CriticNet& net, const void* d_x, std::int64_t batch, bool shared_x, void* d_out, int device,
                    std::uintptr_t stream);
// out (K,) doubles = mean_i f_k(x_real_i) - mean_j f_k(x_fake_j), summed in
// double over a fixed grid (deterministic), f never stored.
std::size_t kr_estimate_workspace_bytes(const CriticNet& net);
void kr_estimate(const CriticNet& net, const void* d_x_real, std::int64_t n_real, const void* d_x_fake,
                 std::int64_t n_fake, double* d_out, void* d_workspace, std::size_t workspace_bytes, int device,
                 std::uintptr_t stream);

}  // namespace emd::gpu
