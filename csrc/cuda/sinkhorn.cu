// Log-domain Sinkhorn on the GPU: dense, batched (one block per problem) and
// matrix-free (tiled on-the-fly costs).
//
// The iteration is emd::sinkhorn's (csrc/cpu/sinkhorn.cpp, plain updates):
//
//     f_i = -eps log sum_j exp(g_j / eps + log b_j - C_ij / eps)     (row softmin)
//     err = sum_i a_i |expm1((f_i - f_new_i) / eps)|                 (= ||P 1 - a||_1 of (f, g))
//     g_j = -eps log sum_i exp(f_i / eps + log a_i - C_ij / eps)     (column softmin)
//
// Every decision (epsilon ladder, stopping, budget, over-relaxation with its
// ascent safeguard, stall rule, resolution_limit, status) is the CPU loop's:
// emd::SinkhornControl (emd/sinkhorn_control.hpp), compiled here for the device.
//
// Dense and matrix-free problems run a host loop that only launches kernels:
// after the f-update a one-block control kernel measures err and sum a |f|
// and runs the controller on them (stop, next epsilon stage, or accept f and
// update g), in a small device-side State; every later kernel of the step
// reads the State and returns at once when the loop has stopped. The host
// therefore launches iterations in groups and reads the State back once per
// group (one small copy), while the stopping rule is still checked after
// every iteration, as on the CPU. Batched small problems run the whole loop
// inside one block per problem, every thread with the same copy of the
// controller (per-problem stopping, no host round trips).
//
// Sums that decide the result use fixed-shape reductions (warp butterflies,
// cub block reductions, partials combined in index order), never atomics:
// the same input gives the same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/check.cuh"
#include "common/lse.cuh"
#include "common/reduce.cuh"
#include "emd/gpu.hpp"
#include "emd/interrupt.hpp"
#include "emd/metrics.hpp"
#include "emd/sinkhorn_control.hpp"
#include "emd/status.hpp"

namespace emd::gpu {
namespace {

using i64 = std::int64_t;
using detail::Lse;

__host__ __device__ inline i64 imin(i64 a, i64 b) { return a < b ? a : b; }

// The loop's state on the device (one per dense / matrix-free solve): the
// controller (every decision: emd/sinkhorn_control.hpp, the CPU loop's) and
// whether this step's f_new was accepted (then g is updated). Kernels read
// the step's eps, omega and clamp from ctl; only the control kernel writes it.
struct State {
    SinkhornControl ctl;
    int accept;
};

using Step = SinkhornControl::Step;

// The over-relaxed update of one potential with the controller's omega and
// its ascent safeguard (emd::relaxed); plain when omega = 1.
template <class T>
__device__ inline T relax(T old, T fresh, const SinkhornControl& ctl) {
    return ctl.omega == 1.0 ? fresh : T(relaxed(double(old), double(fresh), ctl.omega, 1.0 / ctl.eps, ctl.omega_floor));
}

// --- shared small kernels ----------------------------------------------------

template <class T>
__global__ void log_weights_kernel(const T* __restrict__ w, i64 len, T* __restrict__ log_w) {
    for (i64 i = blockIdx.x * i64(blockDim.x) + threadIdx.x; i < len; i += i64(gridDim.x) * blockDim.x)
        log_w[i] = log(w[i]);  // -inf on zero weights: exp(-inf) = 0 drops them
}

template <class T>
__global__ void init_potential_kernel(const T* __restrict__ init, i64 len, T* __restrict__ out) {
    for (i64 i = blockIdx.x * i64(blockDim.x) + threadIdx.x; i < len; i += i64(gridDim.x) * blockDim.x)
        out[i] = init ? init[i] : T(0);
}

__global__ void init_state_kernel(State* st, SinkhornControl ctl) {
    st->ctl = ctl;
    st->accept = 0;
}

constexpr int kControlBlock = 1024;

// After the f-update: the marginal error ||P 1 - a||_1 and sum_i a_i |f_i|,
// then the controller's decision (thread 0).
template <class T>
__global__ void __launch_bounds__(kControlBlock)
    control_kernel(const T* __restrict__ a, i64 n, const T* __restrict__ f, const T* __restrict__ f_new, State* st) {
    if (st->ctl.done) return;
    SinkhornControl ctl = st->ctl;
    int accept = 1;
    if (ctl.stage_iter > 0) {
        double acc = 0.0, acc_f = 0.0;
        for (i64 i = threadIdx.x; i < n; i += kControlBlock) {
            const double t = fmin(700.0, (double(f[i]) - double(f_new[i])) / ctl.eps);
            acc += double(a[i]) * fabs(expm1(t));
            acc_f += double(a[i]) * fabs(double(f[i]));
        }
        const double err = detail::block_sum<kControlBlock>(acc);
        const double weighted_abs_f = detail::block_sum<kControlBlock>(acc_f);
        if (threadIdx.x == 0) accept = ctl.decide(err, weighted_abs_f) == Step::update;
    }
    if (threadIdx.x == 0) {
        if (accept) ctl.next_iteration();  // the g-update of this step follows
        st->ctl = ctl;
        st->accept = accept;
    }
}

template <class T>
__global__ void accept_kernel(const State* st, const T* __restrict__ f_new, i64 n, T* __restrict__ f) {
    if (st->ctl.done || !st->accept) return;
    for (i64 i = blockIdx.x * i64(blockDim.x) + threadIdx.x; i < n; i += i64(gridDim.x) * blockDim.x)
        f[i] = relax<T>(f[i], f_new[i], st->ctl);
}

// Combine `parts` partial log-sum-exps per output (parts (P, len), in index
// order) into -eps (mx + log s): written to out_j, or (the g-update, `need_accept`)
// relaxed into it with the step's omega.
template <class T>
__global__ void finalize_kernel(const State* st, const Lse* __restrict__ parts, int num_parts, i64 len,
                                bool need_accept, T* __restrict__ out) {
    if (st->ctl.done || (need_accept && !st->accept)) return;
    const double eps = st->ctl.eps;
    for (i64 j = blockIdx.x * i64(blockDim.x) + threadIdx.x; j < len; j += i64(gridDim.x) * blockDim.x) {
        Lse acc = detail::lse_empty();
        for (int p = 0; p < num_parts; ++p) acc = detail::lse_combine(acc, parts[i64(p) * len + j]);
        const T fresh = T(-eps * detail::lse_value(acc));
        out[j] = need_accept ? relax<T>(out[j], fresh, st->ctl) : fresh;
    }
}

// Totals of the per-row statistics (sum P C, sum P, sum P log(P / ab)) in
// index order; cost and objective into the outputs, with the state.
__global__ void __launch_bounds__(kControlBlock)
    finish_kernel(const double* __restrict__ row_stats, i64 n, const State* st, double reg, double mass_a,
                  double mass_b, SinkhornOutputs out, int interrupted) {
    double sc = 0, sm = 0, sp = 0;
    for (i64 i = threadIdx.x; i < n; i += kControlBlock) {
        sc += row_stats[3 * i];
        sm += row_stats[3 * i + 1];
        sp += row_stats[3 * i + 2];
    }
    sc = detail::block_sum<kControlBlock>(sc);
    sm = detail::block_sum<kControlBlock>(sm);
    sp = detail::block_sum<kControlBlock>(sp);
    if (threadIdx.x == 0) {
        out.d_cost[0] = sc;
        out.d_objective[0] = sc + reg * (sp - sm + mass_a * mass_b);
        out.d_marginal_error[0] = st->ctl.marginal_error;
        out.d_n_iter[0] = st->ctl.n_iter;
        out.d_status[0] = std::int32_t(interrupted ? SolveStatus::interrupted : st->ctl.status);
    }
}

// --- dense ------------------------------------------------------------------

constexpr int kRowBlock = 256;  // 8 warps, one row each

// f_new_i = -eps LSE_j (g_j / eps + log b_j - C_ij / eps): one warp per row, coalesced.
template <class T>
__global__ void __launch_bounds__(kRowBlock)
    dense_row_kernel(const T* __restrict__ C, i64 n, i64 m, const T* __restrict__ g, const T* __restrict__ log_b,
                     const State* st, T* __restrict__ f_new) {
    if (st->ctl.done) return;
    const double eps = st->ctl.eps;
    const T inv = T(1.0 / eps);
    const int lane = threadIdx.x & 31;
    const i64 i = (blockIdx.x * i64(kRowBlock) + threadIdx.x) >> 5;
    if (i >= n) return;
    const T* row = C + i * m;
    T mx = T(-INFINITY), s = T(0);
    for (i64 j = lane; j < m; j += 32) detail::lse_push<T>((g[j] - row[j]) * inv + log_b[j], mx, s);
    const Lse w = detail::lse_warp(Lse{double(mx), double(s)});
    if (lane == 0) f_new[i] = T(-eps * detail::lse_value(w));
}

constexpr int kColX = 32, kColY = 8;  // 32 columns x 8 row lanes per block

// Partial column log-sum-exps over a chunk of rows: coalesced reads of C
// (consecutive threads, consecutive columns), combined over the 8 row lanes
// in order; parts (num_chunks, m).
template <class T>
__global__ void __launch_bounds__(kColX* kColY)
    dense_col_kernel(const T* __restrict__ C, i64 n, i64 m, const T* __restrict__ f, const T* __restrict__ log_a,
                     const State* st, i64 rows_per_chunk, Lse* __restrict__ parts) {
    __shared__ double s_mx[kColY][kColX];
    __shared__ double s_s[kColY][kColX];
    if (st->ctl.done || !st->accept) return;
    const double eps = st->ctl.eps;
    const T inv = T(1.0 / eps);
    const i64 j = blockIdx.x * i64(kColX) + threadIdx.x;
    const i64 i0 = blockIdx.y * rows_per_chunk, i1 = imin(n, i0 + rows_per_chunk);
    T mx = T(-INFINITY), s = T(0);
    if (j < m)
        for (i64 i = i0 + threadIdx.y; i < i1; i += kColY) detail::lse_push<T>((f[i] - C[i * m + j]) * inv + log_a[i], mx, s);
    s_mx[threadIdx.y][threadIdx.x] = double(mx);
    s_s[threadIdx.y][threadIdx.x] = double(s);
    __syncthreads();
    if (threadIdx.y == 0 && j < m) {
        Lse acc = detail::lse_empty();
        for (int y = 0; y < kColY; ++y) acc = detail::lse_combine(acc, Lse{s_mx[y][threadIdx.x], s_s[y][threadIdx.x]});
        parts[i64(blockIdx.y) * m + j] = acc;
    }
}

// Per-row statistics of the final plan P_ij = exp(t_ij + log a_i + log b_j),
// t_ij = (f_i + g_j - C_ij) / reg: sum P C, sum P, sum P t (warp per row, double).
template <class T>
__global__ void __launch_bounds__(kRowBlock)
    dense_stats_kernel(const T* __restrict__ C, i64 n, i64 m, const T* __restrict__ f, const T* __restrict__ g,
                       const T* __restrict__ log_a, const T* __restrict__ log_b, double reg, double* __restrict__ row_stats) {
    const int lane = threadIdx.x & 31;
    const i64 i = (blockIdx.x * i64(kRowBlock) + threadIdx.x) >> 5;
    if (i >= n) return;
    const double inv = 1.0 / reg, fi = double(f[i]) * inv, lai = double(log_a[i]);
    double sc = 0, sm = 0, sp = 0;
    for (i64 j = lane; j < m; j += 32) {
        const double c = double(C[i * m + j]);
        const double t = fi + double(g[j]) * inv - c * inv;
        const double p = exp(t + lai + double(log_b[j]));
        sc += p * c;
        sm += p;
        sp += p * t;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        sc += __shfl_down_sync(0xffffffffu, sc, off);
        sm += __shfl_down_sync(0xffffffffu, sm, off);
        sp += __shfl_down_sync(0xffffffffu, sp, off);
    }
    if (lane == 0) {
        row_stats[3 * i] = sc;
        row_stats[3 * i + 1] = sm;
        row_stats[3 * i + 2] = sp;
    }
}

// --- matrix-free ------------------------------------------------------------

constexpr int kSampleBlock = 128;  // rows per block, one per thread
constexpr int kSampleTile = 128;   // columns staged in shared memory per step
constexpr int kSmemMaxDim = 16;    // clouds of d <= 16 are staged in shared memory

// For rows of `x` (n, d) against columns of `y` (m, d) in [col0, col1):
//   STATS == false: the partial LSE_j (h_j / eps + log w_j - C_ij / eps) with h the
//                   other side's potential and w its weights -> parts (chunk, n);
//   STATS == true:  the plan statistics of the row (f = own potential).
// The column tile (coordinates, potential, log weight) is staged in shared
// memory; the row's own point sits in shared memory too (coordinate-major, no
// bank conflicts). Clouds with d > 16 read coordinates from global memory.
template <class T, bool STATS>
__global__ void __launch_bounds__(kSampleBlock)
    samples_kernel(const T* __restrict__ x, i64 n, const T* __restrict__ y, i64 m, i64 d, int metric, double power,
                   const T* __restrict__ h_other, const T* __restrict__ log_w_other, const T* __restrict__ h_own,
                   const T* __restrict__ log_w_own, const State* st, bool need_accept, double reg, i64 cols_per_chunk, Lse* __restrict__ parts,
                   double* __restrict__ row_stats) {
    __shared__ T s_x[kSmemMaxDim * kSampleBlock];
    __shared__ T s_y[kSmemMaxDim * kSampleTile];
    __shared__ T s_h[kSampleTile];
    __shared__ T s_lw[kSampleTile];
    if (!STATS && (st->ctl.done || (need_accept && !st->accept))) return;
    const double eps = STATS ? reg : st->ctl.eps;
    const bool staged = d <= kSmemMaxDim;
    const i64 i = blockIdx.x * i64(kSampleBlock) + threadIdx.x;
    const bool active = i < n;
    if (staged && active)
        for (i64 k = 0; k < d; ++k) s_x[k * kSampleBlock + threadIdx.x] = x[i * d + k];
    const T* xp = staged ? s_x + threadIdx.x : x + (active ? i : 0) * d;
    const int xs = staged ? kSampleBlock : 1;
    const i64 col0 = blockIdx.y * cols_per_chunk, col1 = imin(m, col0 + cols_per_chunk);
    const T inv = T(1.0 / eps);
    T mx = T(-INFINITY), s = T(0);
    double fi = 0, lai = 0, sc = 0, sm = 0, sp = 0;
    if (STATS && active) {
        fi = double(h_own[i]) / reg;
        lai = double(log_w_own[i]);
    }
    for (i64 j0 = col0; j0 < col1; j0 += kSampleTile) {
        const int count = int(imin(kSampleTile, col1 - j0));
        __syncthreads();  // the previous tile is consumed
        for (int t = threadIdx.x; t < count; t += kSampleBlock) {
            s_h[t] = h_other[j0 + t];
            s_lw[t] = log_w_other[j0 + t];
            if (staged)
                for (i64 k = 0; k < d; ++k) s_y[k * kSampleTile + t] = y[(j0 + t) * d + k];
        }
        __syncthreads();
        if (!active) continue;
        for (int t = 0; t < count; ++t) {
            // emd::metric_distance (csrc/include/emd/metrics.hpp), the CPU's arithmetic.
            const double dist = staged ? metric_distance<T>(Metric(metric), xp, s_y + t, d, 0.0, xs, kSampleTile)
                                       : metric_distance<T>(Metric(metric), xp, y + (j0 + t) * d, d, 0.0, xs, 1);
            const double c = cost_power(dist, power);
            if (STATS) {
                const double tt = fi + double(s_h[t]) / reg - c / reg;
                const double p = exp(tt + lai + double(s_lw[t]));
                sc += p * c;
                sm += p;
                sp += p * tt;
            } else {
                detail::lse_push<T>((s_h[t] - T(c)) * inv + s_lw[t], mx, s);
            }
        }
    }
    if (!active) return;
    if (STATS) {
        double* r = row_stats + 3 * (i64(blockIdx.y) * n + i);
        r[0] = sc;
        r[1] = sm;
        r[2] = sp;
    } else {
        parts[i64(blockIdx.y) * n + i] = Lse{double(mx), double(s)};
    }
}

// Sum the per-chunk row statistics (chunks, n, 3) into (n, 3), chunks in order.
__global__ void sum_chunks_kernel(const double* __restrict__ chunked, int num_chunks, i64 n, double* __restrict__ out) {
    for (i64 i = blockIdx.x * i64(blockDim.x) + threadIdx.x; i < 3 * n; i += i64(gridDim.x) * blockDim.x) {
        double acc = 0;
        for (int c = 0; c < num_chunks; ++c) acc += chunked[i64(c) * 3 * n + i];
        out[i] = acc;
    }
}

// --- the host loop ----------------------------------------------------------

unsigned grid_for(i64 count, int block) {
    return detail::grid_1d(std::min<i64>((count + block - 1) / block, i64(1) << 16));
}

// Chunks of the reduced axis so that about `target` blocks run per launch,
// keeping chunks * len partials O(len + target * block).
int num_chunks(i64 len_blocks, i64 reduced, i64 min_per_chunk) {
    const i64 target = 1024;
    i64 c = std::max<i64>(1, target / std::max<i64>(1, len_blocks));
    c = std::min<i64>(c, std::max<i64>(1, reduced / min_per_chunk));
    return int(std::min<i64>(c, 64));
}

struct Layout {
    int row_chunks = 1, col_chunks = 1;  // chunks of the reduced axis: f-update, g-update
    std::size_t bytes = 0;
};

template <class T>
struct Buffers {
    T *log_a, *log_b, *f_new;
    Lse *row_parts, *col_parts;
    double* row_stats;
    State* state;
};

template <class T>
Buffers<T> carve(void* base, i64 n, i64 m, const Layout& lay, std::size_t* bytes) {
    detail::Carver c(base);
    Buffers<T> b{};
    b.log_a = c.take<T>(std::size_t(n));
    b.log_b = c.take<T>(std::size_t(m));
    b.f_new = c.take<T>(std::size_t(n));
    b.row_parts = c.take<Lse>(std::size_t(lay.row_chunks) * std::size_t(n));
    b.col_parts = c.take<Lse>(std::size_t(lay.col_chunks) * std::size_t(m));
    b.row_stats = c.take<double>(3 * std::size_t(std::max(lay.row_chunks, 1)) * std::size_t(n) + 3 * std::size_t(n));
    b.state = c.take<State>(1);
    if (bytes) *bytes = c.bytes();
    return b;
}

Layout dense_layout(i64 n, i64 m) {
    Layout lay;
    lay.row_chunks = 1;  // warp per row, whole row
    lay.col_chunks = num_chunks((m + kColX - 1) / kColX, n, 128);
    return lay;
}

Layout samples_layout(i64 n, i64 m) {
    Layout lay;
    lay.row_chunks = num_chunks((n + kSampleBlock - 1) / kSampleBlock, m, kSampleTile);
    lay.col_chunks = num_chunks((m + kSampleBlock - 1) / kSampleBlock, n, kSampleTile);
    return lay;
}

// One solve: `step(bufs, stream)` launches one iteration (f-update, control,
// accept, g-update); `stats(bufs, stream)` fills bufs.row_stats (n, 3).
template <class T, class Step, class Stats>
void run_loop(const T* a, const T* b, i64 n, i64 m, const SinkhornOptions& o, const T* f_init, const T* g_init,
              const SinkhornOutputs& out, const Buffers<T>& bufs, cudaStream_t s, Interrupt& interrupt, Step&& step,
              Stats&& stats) {
    T* f = static_cast<T*>(out.d_f);
    T* g = static_cast<T*>(out.d_g);
    log_weights_kernel<T><<<grid_for(n, 256), 256, 0, s>>>(a, n, bufs.log_a);
    log_weights_kernel<T><<<grid_for(m, 256), 256, 0, s>>>(b, m, bufs.log_b);
    init_potential_kernel<T><<<grid_for(n, 256), 256, 0, s>>>(f_init, n, f);
    init_potential_kernel<T><<<grid_for(m, 256), 256, 0, s>>>(g_init, m, g);
    init_state_kernel<<<1, 1, 0, s>>>(bufs.state, SinkhornControl(o.params, o.scale, o.mass_a, precision_of<T>()));
    detail::check_launch("sinkhorn: setup kernels");

    // Groups of iterations between host checks: short at first (small
    // problems converge in a few), then longer; launches after the stop are
    // no-ops that read one flag.
    State host{};
    bool interrupted = false;
    i64 launched = 0, group = 4;
    // The device stops by then: every stage ends with at most one discarded step.
    const i64 bound = o.params.max_iter + 2 * i64(SinkhornControl::kMaxScaledStages + 1) + 2;
    while (launched < bound) {
        const i64 count = std::min(group, bound - launched);
        for (i64 k = 0; k < count; ++k) step(bufs, s);
        detail::check_launch("sinkhorn: iteration kernels");
        launched += count;
        detail::check(cudaMemcpyAsync(&host, bufs.state, sizeof(State), cudaMemcpyDeviceToHost, s), "sinkhorn: read state");
        detail::check(cudaStreamSynchronize(s), "sinkhorn: iterations");
        if (host.ctl.done) break;
        if (interrupt.poll(true)) {
            interrupted = true;
            break;
        }
        group = std::min<i64>(group * 2, 64);
    }
    stats(bufs, s);
    detail::check_launch("sinkhorn: plan statistics");
    // b carries a's mass (the Python layer rescales it), so sum a sum b = mass_a^2.
    finish_kernel<<<1, kControlBlock, 0, s>>>(bufs.row_stats, n, bufs.state, o.params.reg, o.mass_a, o.mass_a, out,
                                             interrupted ? 1 : 0);
    detail::check_launch("sinkhorn: finish");
    detail::check(cudaStreamSynchronize(s), "sinkhorn: finish");
}

template <class T>
void dense_impl(const T* a, const T* b, const T* C, i64 n, i64 m, const SinkhornOptions& o, const T* f_init,
                const T* g_init, const SinkhornOutputs& out, void* ws, std::size_t ws_bytes, cudaStream_t s,
                Interrupt& interrupt) {
    const Layout lay = dense_layout(n, m);
    std::size_t need = 0;
    carve<T>(nullptr, n, m, lay, &need);
    detail::require(ws && ws_bytes >= need, "sinkhorn_dense: workspace too small");
    const Buffers<T> bufs = carve<T>(ws, n, m, lay, nullptr);
    T* f = static_cast<T*>(out.d_f);
    T* g = static_cast<T*>(out.d_g);
    const i64 rows_per_chunk = (n + lay.col_chunks - 1) / lay.col_chunks;
    const unsigned row_grid = detail::grid_1d((n * 32 + kRowBlock - 1) / kRowBlock);
    const dim3 col_grid(detail::grid_1d((m + kColX - 1) / kColX), unsigned(lay.col_chunks));
    auto step = [&](const Buffers<T>& B, cudaStream_t st) {
        dense_row_kernel<T><<<row_grid, kRowBlock, 0, st>>>(C, n, m, g, B.log_b, B.state, B.f_new);
        control_kernel<T><<<1, kControlBlock, 0, st>>>(a, n, f, B.f_new, B.state);
        accept_kernel<T><<<grid_for(n, 256), 256, 0, st>>>(B.state, B.f_new, n, f);
        dense_col_kernel<T><<<col_grid, dim3(kColX, kColY), 0, st>>>(C, n, m, f, B.log_a, B.state,
                                                                      rows_per_chunk, B.col_parts);
        finalize_kernel<T><<<grid_for(m, 256), 256, 0, st>>>(B.state, B.col_parts, lay.col_chunks, m, true, g);
    };
    auto stats = [&](const Buffers<T>& B, cudaStream_t st) {
        dense_stats_kernel<T><<<row_grid, kRowBlock, 0, st>>>(C, n, m, f, g, B.log_a, B.log_b, o.params.reg, B.row_stats);
    };
    run_loop<T>(a, b, n, m, o, f_init, g_init, out, bufs, s, interrupt, step, stats);
}

template <class T>
void samples_impl(const T* x, const T* y, const T* a, const T* b, i64 n, i64 m, i64 d, int metric, double power,
                  const SinkhornOptions& o, const T* f_init, const T* g_init, const SinkhornOutputs& out, void* ws,
                  std::size_t ws_bytes, cudaStream_t s, Interrupt& interrupt) {
    const Layout lay = samples_layout(n, m);
    std::size_t need = 0;
    carve<T>(nullptr, n, m, lay, &need);
    detail::require(ws && ws_bytes >= need, "sinkhorn_samples: workspace too small");
    const Buffers<T> bufs = carve<T>(ws, n, m, lay, nullptr);
    T* f = static_cast<T*>(out.d_f);
    T* g = static_cast<T*>(out.d_g);
    const i64 cols_per_row_chunk = (m + lay.row_chunks - 1) / lay.row_chunks;
    const i64 rows_per_col_chunk = (n + lay.col_chunks - 1) / lay.col_chunks;
    const dim3 row_grid(detail::grid_1d((n + kSampleBlock - 1) / kSampleBlock), unsigned(lay.row_chunks));
    const dim3 col_grid(detail::grid_1d((m + kSampleBlock - 1) / kSampleBlock), unsigned(lay.col_chunks));
    auto step = [&](const Buffers<T>& B, cudaStream_t st) {
        // f-update: rows are x, the streamed columns y with g and log b.
        samples_kernel<T, false><<<row_grid, kSampleBlock, 0, st>>>(
            x, n, y, m, d, metric, power, g, B.log_b, nullptr, nullptr, B.state, false, o.params.reg,
            cols_per_row_chunk, B.row_parts, nullptr);
        finalize_kernel<T><<<grid_for(n, 256), 256, 0, st>>>(B.state, B.row_parts, lay.row_chunks, n, false,
                                                             B.f_new);
        control_kernel<T><<<1, kControlBlock, 0, st>>>(a, n, f, B.f_new, B.state);
        accept_kernel<T><<<grid_for(n, 256), 256, 0, st>>>(B.state, B.f_new, n, f);
        // g-update: the metrics are symmetric, so rows are y and the streamed columns x.
        samples_kernel<T, false><<<col_grid, kSampleBlock, 0, st>>>(
            y, m, x, n, d, metric, power, f, B.log_a, nullptr, nullptr, B.state, true, o.params.reg,
            rows_per_col_chunk, B.col_parts, nullptr);
        finalize_kernel<T><<<grid_for(m, 256), 256, 0, st>>>(B.state, B.col_parts, lay.col_chunks, m, true, g);
    };
    auto stats = [&](const Buffers<T>& B, cudaStream_t st) {
        double* chunked = B.row_stats + 3 * n;
        samples_kernel<T, true><<<row_grid, kSampleBlock, 0, st>>>(x, n, y, m, d, metric, power, g, B.log_b, f, B.log_a,
                                                                   B.state, false, o.params.reg, cols_per_row_chunk,
                                                                   nullptr, chunked);
        sum_chunks_kernel<<<grid_for(3 * n, 256), 256, 0, st>>>(chunked, lay.row_chunks, n, B.row_stats);
    };
    run_loop<T>(a, b, n, m, o, f_init, g_init, out, bufs, s, interrupt, step, stats);
}

// --- batched: one block per problem -----------------------------------------

constexpr int kBatchBlock = 256;
constexpr int kBatchWarps = kBatchBlock / 32;
constexpr i64 kBatchMaxSide = 1024;
constexpr std::size_t kBatchSmem = 44 * 1024;  // with the static cub storage, under the 48 KiB every device allows

template <class T>
std::size_t batch_vector_bytes(i64 n, i64 m) {
    return std::size_t(3 * n + 3 * m) * sizeof(T);  // f, f_new, log a; g, g_new, log b
}

template <class T>
bool batch_cost_in_smem(i64 n, i64 m) {
    return batch_vector_bytes<T>(n, m) + std::size_t(n * (m + 1)) * sizeof(T) <= kBatchSmem;
}

// Row r (of `rows`) of the softmin over `len`: LSE_k (h_k / eps + lw_k - C(r, k) / eps),
// warp per row; C(r, k) = cost[r * rs + k * ks].
template <class T>
__device__ void batch_softmin(const T* cost, i64 rs, i64 ks, i64 rows, i64 len, const T* h, const T* lw, double eps,
                              T* out) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const T inv = T(1.0 / eps);
    for (i64 r = warp; r < rows; r += kBatchWarps) {
        T mx = T(-INFINITY), s = T(0);
        for (i64 k = lane; k < len; k += 32) detail::lse_push<T>((h[k] - cost[r * rs + k * ks]) * inv + lw[k], mx, s);
        const Lse w = detail::lse_warp(Lse{double(mx), double(s)});
        if (lane == 0) out[r] = T(-eps * detail::lse_value(w));
    }
}

template <class T>
__global__ void __launch_bounds__(kBatchBlock)
    batched_kernel(const T* __restrict__ a_all, const T* __restrict__ b_all, const T* __restrict__ cost_all,
                   bool shared_cost, i64 n, i64 m, SinkhornParams params, const double* __restrict__ scale,
                   const T* __restrict__ f_init, const T* __restrict__ g_init, bool cost_in_smem, SinkhornOutputs out) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* f = reinterpret_cast<T*>(smem_raw);
    T* f_new = f + n;
    T* log_a = f_new + n;
    T* g = log_a + n;
    T* g_new = g + m;
    T* log_b = g_new + m;
    T* s_cost = log_b + m;  // (n, m + 1): the padding column avoids bank conflicts in the column pass

    const i64 p = blockIdx.x;
    const T* a = a_all + p * n;
    const T* b = b_all + p * m;
    const T* C = shared_cost ? cost_all : cost_all + p * n * m;
    double mass_a = 0;
    for (i64 i = threadIdx.x; i < n; i += kBatchBlock) {
        log_a[i] = log(a[i]);
        f[i] = f_init ? f_init[p * n + i] : T(0);
        mass_a += double(a[i]);
    }
    for (i64 j = threadIdx.x; j < m; j += kBatchBlock) {
        log_b[j] = log(b[j]);
        g[j] = g_init ? g_init[p * m + j] : T(0);
    }
    mass_a = detail::block_sum_all<kBatchBlock>(mass_a);
    const T* cost = C;
    i64 rs = m;
    if (cost_in_smem) {
        for (i64 k = threadIdx.x; k < n * m; k += kBatchBlock) s_cost[(k / m) * (m + 1) + k % m] = C[k];
        cost = s_cost;
        rs = m + 1;
    }
    __syncthreads();

    // The controller of the CPU loop (emd/sinkhorn_control.hpp); every thread
    // keeps the same copy and takes the same decisions from the same block sums.
    const bool scaling = params.eps_scaling > 0.0 && params.eps_scaling < 1.0;
    SinkhornControl ctl(params, scaling ? scale[shared_cost ? 0 : p] : 0.0, mass_a, precision_of<T>());
    for (;;) {
        const double eps = ctl.eps;
        batch_softmin<T>(cost, rs, 1, n, m, g, log_b, eps, f_new);  // f-update
        __syncthreads();
        if (ctl.stage_iter > 0) {
            double acc = 0, acc_f = 0;
            for (i64 i = threadIdx.x; i < n; i += kBatchBlock) {
                acc += double(a[i]) * fabs(expm1(fmin(700.0, (double(f[i]) - double(f_new[i])) / eps)));
                acc_f += double(a[i]) * fabs(double(f[i]));
            }
            const double err = detail::block_sum_all<kBatchBlock>(acc);
            const double weighted_abs_f = detail::block_sum_all<kBatchBlock>(acc_f);
            const Step step = ctl.decide(err, weighted_abs_f);
            if (step == Step::stop) break;
            if (step == Step::next_stage) continue;
        }
        for (i64 i = threadIdx.x; i < n; i += kBatchBlock) f[i] = relax<T>(f[i], f_new[i], ctl);
        __syncthreads();
        if (ctl.omega == 1.0) {
            batch_softmin<T>(cost, 1, rs, m, n, f, log_a, eps, g);  // g-update: column j is cost[i * rs + j]
        } else {
            batch_softmin<T>(cost, 1, rs, m, n, f, log_a, eps, g_new);
            __syncthreads();
            for (i64 j = threadIdx.x; j < m; j += kBatchBlock) g[j] = relax<T>(g[j], g_new[j], ctl);
        }
        __syncthreads();
        ctl.next_iteration();
    }

    // Plan statistics at eps = reg, in double.
    double sc = 0, sm = 0, sp = 0;
    const double reg = params.reg, inv = 1.0 / reg;
    for (i64 k = threadIdx.x; k < n * m; k += kBatchBlock) {
        const i64 i = k / m, j = k % m;
        const double c = double(cost[i * rs + j]);
        const double t = double(f[i]) * inv + double(g[j]) * inv - c * inv;
        const double pij = exp(t + double(log_a[i]) + double(log_b[j]));
        sc += pij * c;
        sm += pij;
        sp += pij * t;
    }
    sc = detail::block_sum<kBatchBlock>(sc);
    sm = detail::block_sum<kBatchBlock>(sm);
    sp = detail::block_sum<kBatchBlock>(sp);
    T* f_out = static_cast<T*>(out.d_f) + p * n;
    T* g_out = static_cast<T*>(out.d_g) + p * m;
    for (i64 i = threadIdx.x; i < n; i += kBatchBlock) f_out[i] = f[i];
    for (i64 j = threadIdx.x; j < m; j += kBatchBlock) g_out[j] = g[j];
    if (threadIdx.x == 0) {
        out.d_cost[p] = sc;
        out.d_objective[p] = sc + reg * (sp - sm + mass_a * mass_a);  // b carries a's mass
        out.d_marginal_error[p] = ctl.marginal_error;
        out.d_n_iter[p] = ctl.n_iter;
        out.d_status[p] = std::int32_t(ctl.status);
    }
}

void check_options(const SinkhornOptions& o) {
    detail::require(o.params.reg > 0.0 && std::isfinite(o.params.reg), "sinkhorn: reg must be > 0 and finite");
    detail::require(o.params.tol > 0.0, "sinkhorn: tol must be > 0");
    detail::require(o.params.max_iter >= 1, "sinkhorn: max_iter must be >= 1");
    detail::require(o.params.eps_scaling == 0.0 || (o.params.eps_scaling > 0.0 && o.params.eps_scaling < 1.0),
                    "sinkhorn: eps_scaling must be 0 (off) or in (0, 1)");
}

}  // namespace

std::size_t sinkhorn_dense_workspace_bytes(Dtype dtype, i64 n, i64 m, int) {
    std::size_t bytes = 0;
    const Layout lay = dense_layout(n, m);
    if (dtype == Dtype::float32) carve<float>(nullptr, n, m, lay, &bytes);
    else carve<double>(nullptr, n, m, lay, &bytes);
    return bytes;
}

void sinkhorn_dense(Dtype dtype, const void* d_a, const void* d_b, const void* d_cost, i64 n, i64 m,
                    const SinkhornOptions& options, const void* d_f_init, const void* d_g_init,
                    const SinkhornOutputs& out, void* d_workspace, std::size_t workspace_bytes, int device,
                    std::uintptr_t stream, Interrupt& interrupt) {
    check_options(options);
    detail::require(n >= 1 && m >= 1, "sinkhorn_dense: a and b must be nonempty");
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    if (dtype == Dtype::float32)
        dense_impl<float>(static_cast<const float*>(d_a), static_cast<const float*>(d_b),
                          static_cast<const float*>(d_cost), n, m, options, static_cast<const float*>(d_f_init),
                          static_cast<const float*>(d_g_init), out, d_workspace, workspace_bytes, s, interrupt);
    else
        dense_impl<double>(static_cast<const double*>(d_a), static_cast<const double*>(d_b),
                           static_cast<const double*>(d_cost), n, m, options, static_cast<const double*>(d_f_init),
                           static_cast<const double*>(d_g_init), out, d_workspace, workspace_bytes, s, interrupt);
}

bool sinkhorn_batched_fits(i64 n, i64 m) {
    return n >= 1 && m >= 1 && n <= kBatchMaxSide && m <= kBatchMaxSide &&
           batch_vector_bytes<double>(n, m) <= kBatchSmem;
}

void sinkhorn_batched(Dtype dtype, const void* d_a, const void* d_b, const void* d_cost, bool shared_cost,
                      i64 num_problems, i64 n, i64 m, const SinkhornOptions& o, const double* d_scale,
                      const void* d_f_init, const void* d_g_init, const SinkhornOutputs& out, int device,
                      std::uintptr_t stream) {
    check_options(o);
    detail::require(sinkhorn_batched_fits(n, m), "sinkhorn_batched: problems too large for one block each");
    detail::require(o.params.eps_scaling == 0.0 || d_scale != nullptr, "sinkhorn_batched: eps_scaling needs the scales");
    if (num_problems == 0) return;
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    const unsigned grid = detail::grid_1d(num_problems);
    if (dtype == Dtype::float32) {
        const bool in_smem = batch_cost_in_smem<float>(n, m);
        const std::size_t smem = batch_vector_bytes<float>(n, m) + (in_smem ? std::size_t(n * (m + 1)) * sizeof(float) : 0);
        batched_kernel<float><<<grid, kBatchBlock, smem, s>>>(
            static_cast<const float*>(d_a), static_cast<const float*>(d_b), static_cast<const float*>(d_cost),
            shared_cost, n, m, o.params, d_scale, static_cast<const float*>(d_f_init),
            static_cast<const float*>(d_g_init), in_smem, out);
    } else {
        const bool in_smem = batch_cost_in_smem<double>(n, m);
        const std::size_t smem =
            batch_vector_bytes<double>(n, m) + (in_smem ? std::size_t(n * (m + 1)) * sizeof(double) : 0);
        batched_kernel<double><<<grid, kBatchBlock, smem, s>>>(
            static_cast<const double*>(d_a), static_cast<const double*>(d_b), static_cast<const double*>(d_cost),
            shared_cost, n, m, o.params, d_scale, static_cast<const double*>(d_f_init),
            static_cast<const double*>(d_g_init), in_smem, out);
    }
    detail::check_launch("sinkhorn_batched");
}

std::size_t sinkhorn_samples_workspace_bytes(Dtype dtype, i64 n, i64 m, i64, int) {
    std::size_t bytes = 0;
    const Layout lay = samples_layout(n, m);
    if (dtype == Dtype::float32) carve<float>(nullptr, n, m, lay, &bytes);
    else carve<double>(nullptr, n, m, lay, &bytes);
    return bytes;
}

void sinkhorn_samples(Dtype dtype, const void* d_x, const void* d_y, const void* d_a, const void* d_b, i64 n, i64 m,
                      i64 d, int metric, double power, const SinkhornOptions& options, const void* d_f_init,
                      const void* d_g_init, const SinkhornOutputs& out, void* d_workspace, std::size_t workspace_bytes,
                      int device, std::uintptr_t stream, Interrupt& interrupt) {
    check_options(options);
    detail::require(n >= 1 && m >= 1 && d >= 1, "sinkhorn_samples: x and y must be nonempty");
    detail::require(metric >= 0 && metric <= 3, "sinkhorn_samples: metric must be 0..3 (sqeuclidean, euclidean, cityblock, chebyshev)");
    detail::require(power >= 1.0, "sinkhorn_samples: power must be >= 1");
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    if (dtype == Dtype::float32)
        samples_impl<float>(static_cast<const float*>(d_x), static_cast<const float*>(d_y),
                            static_cast<const float*>(d_a), static_cast<const float*>(d_b), n, m, d, metric, power,
                            options, static_cast<const float*>(d_f_init), static_cast<const float*>(d_g_init), out,
                            d_workspace, workspace_bytes, s, interrupt);
    else
        samples_impl<double>(static_cast<const double*>(d_x), static_cast<const double*>(d_y),
                             static_cast<const double*>(d_a), static_cast<const double*>(d_b), n, m, d, metric, power,
                             options, static_cast<const double*>(d_f_init), static_cast<const double*>(d_g_init), out,
                             d_workspace, workspace_bytes, s, interrupt);
}

}  // namespace emd::gpu
