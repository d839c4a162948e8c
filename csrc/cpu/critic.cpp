// MLP critic forward passes: a register-tiled GEMM with the bias and the
// LeakyReLU fused into its epilogue, run on row tiles that stay in cache
// through every layer.
//
// Why not call BLAS per layer: numpy does `h @ W`, then a pass for the bias,
// then passes for the activation, each over the whole (B, width) array in
// memory. Here one row tile (up to 256 rows) goes through all the layers while
// its activations stay in cache, and the bias and activation are applied to the
// accumulators while they are still in registers. The micro-kernel is the
// classic one: MR rows x NR columns of accumulators in vector registers; for
// each k, NR/lanes vector loads of W's row k and MR broadcasts of A's column
// k, MR * NR / lanes FMAs. It runs at 93-96% of the FMA peak on one Zen 4 core
// (108-112 of 116.8 GFLOP/s in float32, the peak measured with independent
// FMA chains). GCC/Clang vector extensions keep it portable: the
// vector width follows the target (-march=native: AVX-512, AVX2, SSE, NEON).
#include "emd/critic.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "emd/parallel.hpp"
#include "emd/simd.hpp"

namespace emd {
namespace {

#if defined(__AVX512F__)
constexpr int kMR = 8;  // 32 vector registers: 16 accumulators + 2 of W + broadcasts
#else
constexpr int kMR = 6;  // 16 registers: 12 accumulators + 2 of W + 1 broadcast
#endif
constexpr int kNV = 2;         // vectors per accumulator row
// Rows per tile: each (K, NR) panel of W is fetched once per tile and reused by
// tile / kMR micro-tiles. 256 rows (a stacked critic's whole batch in the
// benchmark) fetch a critic's W once per call instead of four times; its
// activations (3 x 256 x 512 floats) spill partly from L2 to L3, which the
// sequential micro-panel reads tolerate (measured on Zen 4, one thread, 64
// stacked 2-512-512-512-1 critics at batch 256: 92 GFLOP/s at 64 rows, 104 at 256).
constexpr int kTileMax = 256;

using simd::load;
using simd::store;
using simd::Vec;

template <class T>
constexpr int NR = kNV * Vec<T>::lanes;

// C[0:kMR, 0:ncols] = act(A[0:kMR, 0:K] @ B[0:K, 0:NR] + bias[0:NR]).
// A is read in place, row-major with stride lda: the kMR broadcasts of step k
// come from kMR rows, each walked sequentially (kMR streams the prefetchers
// follow), so A needs no packing: packing the tile's rows into micro-panels
// cost a pass of scalar moves per layer (rows x K, about 3% of the layer's
// FMAs) and a third activation buffer in L2, and made no load cheaper (the
// same kMR scalar broadcasts per k, the same 4 bytes of A per row and k).
// B and bias have NR readable columns (W itself, or a zero-padded tail panel);
// only the first ncols columns of C are written.
template <class T>
inline void micro_kernel(std::int64_t K, const T* __restrict A, std::int64_t lda, const T* __restrict B,
                         std::int64_t ldb, const T* __restrict bias, T slope, T* __restrict C, std::int64_t ldc,
                         int ncols) {
    static_assert(kNV == 2, "the micro-kernel holds two vectors of W per k");
    using V = typename Vec<T>::type;
    constexpr int L = Vec<T>::lanes;
    // Named accumulators and W vectors, not arrays: GCC keeps them all in registers.
    V c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    V c60, c61, c70, c71;
    const V b0 = load<T>(bias), b1 = load<T>(bias + L);
    c00 = c10 = c20 = c30 = c40 = c50 = c60 = c70 = b0;
    c01 = c11 = c21 = c31 = c41 = c51 = c61 = c71 = b1;
    const T* a0 = A;
    const T* a1 = A + lda;
    const T* a2 = A + 2 * lda;
    const T* a3 = A + 3 * lda;
    const T* a4 = A + 4 * lda;
    const T* a5 = A + 5 * lda;
    const T* a6 = kMR == 8 ? A + 6 * lda : A;  // rows 6 and 7 exist only when kMR == 8
    const T* a7 = kMR == 8 ? A + 7 * lda : A;
    for (std::int64_t k = 0; k < K; ++k) {
        const V w0 = load<T>(B + k * ldb), w1 = load<T>(B + k * ldb + L);
        c00 += w0 * a0[k]; c01 += w1 * a0[k];
        c10 += w0 * a1[k]; c11 += w1 * a1[k];
        c20 += w0 * a2[k]; c21 += w1 * a2[k];
        c30 += w0 * a3[k]; c31 += w1 * a3[k];
        c40 += w0 * a4[k]; c41 += w1 * a4[k];
        c50 += w0 * a5[k]; c51 += w1 * a5[k];
        if constexpr (kMR == 8) {
            c60 += w0 * a6[k]; c61 += w1 * a6[k];
            c70 += w0 * a7[k]; c71 += w1 * a7[k];
        }
    }
    V acc[8][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    // leaky(t) = max(t, slope * t) for 0 <= slope <= 1 (checked in Python).
    for (int i = 0; i < kMR; ++i)
        for (int j = 0; j < kNV; ++j) {
            const V s = acc[i][j] * slope;
            acc[i][j] = acc[i][j] > s ? acc[i][j] : s;
        }
    if (ncols == NR<T>) {
        for (int i = 0; i < kMR; ++i)
            for (int j = 0; j < kNV; ++j) store<T>(C + i * ldc + j * L, acc[i][j]);
    } else {
        alignas(64) T tmp[kNV * Vec<T>::lanes];
        for (int i = 0; i < kMR; ++i) {
            for (int j = 0; j < kNV; ++j) store<T>(tmp + j * L, acc[i][j]);
            std::memcpy(C + i * ldc, tmp, sizeof(T) * std::size_t(ncols));
        }
    }
}

// The last layer (fan_out 1): out[i] = A[i, :] . w + bias, vectorized along k.
template <class T>
inline void dot_layer(std::int64_t rows, std::int64_t K, const T* A, std::int64_t lda, const T* w, T bias, T* out) {
    using V = typename Vec<T>::type;
    constexpr int L = Vec<T>::lanes;
    const std::int64_t kv = K / L * L;
    for (std::int64_t i = 0; i < rows; ++i) {
        const T* a = A + i * lda;
        V acc{};
        for (std::int64_t k = 0; k < kv; k += L) acc += load<T>(a + k) * load<T>(w + k);
        T s = bias;
        for (int l = 0; l < L; ++l) s += acc[l];
        for (std::int64_t k = kv; k < K; ++k) s += a[k] * w[k];
        out[i] = s;
    }
}

// Rows [k_lo, k_hi) of the (K, NR) panel at P (row stride ldp) into L2: the
// NR columns are 2 * kNV vectors' bytes, which may straddle three cache lines.
template <class T>
inline void prefetch_panel_rows(const T* P, std::int64_t ldp, std::int64_t k_lo, std::int64_t k_hi) {
    constexpr int L = Vec<T>::lanes;
    for (std::int64_t k = k_lo; k < k_hi; ++k) {
        const T* row = P + k * ldp;
        __builtin_prefetch(row, 0, 2);
        __builtin_prefetch(row + L, 0, 2);
        __builtin_prefetch(row + NR<T> - 1, 0, 2);
    }
}

// Zero-padded copies of each layer's last partial column panel (fan_out % NR
// columns) and of its bias, built once per call so the micro-kernel always
// reads NR columns. Layout: one (K, NR) panel and one (NR,) bias per (critic, layer).
template <class T>
struct TailPanels {
    std::vector<T> data;
    std::vector<std::int64_t> offset;  // [critic * num_layers + layer], -1 when no tail

    explicit TailPanels(const MLPView<T>& net) {
        const int nl = net.num_layers;
        offset.assign(std::size_t(net.num_critics * nl), -1);
        std::int64_t total = 0;
        for (std::int64_t c = 0; c < net.num_critics; ++c)
            for (int l = 0; l < nl - 1; ++l) {
                const std::int64_t N = net.dims[l + 1];
                if (N % NR<T> == 0) continue;
                offset[std::size_t(c * nl + l)] = total;
                total += (net.dims[l] + 1) * NR<T>;
            }
        data.assign(std::size_t(total), T(0));
        for (std::int64_t c = 0; c < net.num_critics; ++c)
            for (int l = 0; l < nl - 1; ++l) {
                const std::int64_t off = offset[std::size_t(c * nl + l)];
                if (off < 0) continue;
                const std::int64_t K = net.dims[l], N = net.dims[l + 1], n0 = N / NR<T> * NR<T>;
                const T* W = net.weights[l] + c * K * N;
                const T* b = net.biases[l] + c * N;
                T* panel = data.data() + off;
                for (std::int64_t k = 0; k < K; ++k)
                    for (std::int64_t j = n0; j < N; ++j) panel[k * NR<T> + (j - n0)] = W[k * N + j];
                for (std::int64_t j = n0; j < N; ++j) panel[K * NR<T> + (j - n0)] = b[j];
            }
    }
    const T* panel(std::int64_t critic, int layer, int num_layers) const {
        const std::int64_t off = offset[std::size_t(critic * num_layers + layer)];
        return off < 0 ? nullptr : data.data() + off;
    }
};

// One thread's scratch: the padded input tile and two activation buffers, in
// one uninitialized allocation (every element is
// written before it is read, and zero-filling ~400 KB per call cost more than
// a batch-64 forward pass's fork/join).
template <class T>
struct Workspace {
    std::unique_ptr<T[]> storage;
    T* x_pad;
    T* h0;
    T* h1;
    Workspace(const MLPView<T>& net, std::int64_t tile) {
        std::int64_t widest = 1;
        for (int l = 1; l < net.num_layers; ++l) widest = std::max(widest, net.dims[l]);
        const std::int64_t n_x = tile * net.dims[0], n_h = tile * widest;
        storage.reset(new T[std::size_t(n_x + 2 * n_h)]);
        x_pad = storage.get();
        h0 = x_pad + n_x;
        h1 = h0 + n_h;
    }
};

// f_c on rows x[0:rows] (rows <= tile) of critic c; writes out[0:rows].
template <class T>
void forward_tile(const MLPView<T>& net, const TailPanels<T>& tails, std::int64_t c, const T* x, std::int64_t rows,
                  Workspace<T>& ws, T* out) {
    const std::int64_t d = net.dims[0];
    const std::int64_t rows_pad = (rows + kMR - 1) / kMR * kMR;
    const T* A = x;
    if (rows_pad != rows) {  // the last, partial tile: zero rows complete the register tile
        std::memcpy(ws.x_pad, x, sizeof(T) * std::size_t(rows * d));
        std::fill(ws.x_pad + rows * d, ws.x_pad + rows_pad * d, T(0));
        A = ws.x_pad;
    }
    std::int64_t lda = d;
    T* bufs[2] = {ws.h0, ws.h1};
    const int nl = net.num_layers;
    for (int l = 0; l < nl - 1; ++l) {
        const std::int64_t K = net.dims[l], N = net.dims[l + 1];
        const T* W = net.weights[l] + c * K * N;
        const T* b = net.biases[l] + c * N;
        T* C = bufs[l & 1];
        const std::int64_t n0 = N / NR<T> * NR<T>;
        // Column panels outer: a (K, NR) panel of W is reused by every row micro-tile.
        // W is read in place (not packed): a panel's K rows are NR columns each,
        // ldb apart, so the hardware prefetchers, which stop at 4 KB pages, miss
        // most of them the first time; each micro-tile therefore prefetches its
        // share of the next panel's rows into L2 (the next layer's first panel
        // after the last one), so that panel arrives while this one computes.
        const std::int64_t n_micro = rows_pad / kMR;
        const std::int64_t share = (K + n_micro - 1) / n_micro;
        const T* W_next = l + 2 < nl ? net.weights[l + 1] + c * N * net.dims[l + 2] : nullptr;
        const std::int64_t ld_next = l + 2 < nl ? net.dims[l + 2] : 0;
        const std::int64_t K_next = N;
        for (std::int64_t j0 = 0; j0 < n0; j0 += NR<T>) {
            const bool in_layer = j0 + NR<T> < n0;
            const T* P = in_layer ? W + j0 + NR<T> : W_next;
            const std::int64_t ldp = in_layer ? N : ld_next;
            const std::int64_t Kp = in_layer ? K : K_next;
            const std::int64_t pshare = in_layer ? share : (Kp + n_micro - 1) / n_micro;
            for (std::int64_t m = 0; m < n_micro; ++m) {
                if (P != nullptr) prefetch_panel_rows<T>(P, ldp, m * pshare, std::min(Kp, (m + 1) * pshare));
                const std::int64_t i0 = m * kMR;
                micro_kernel<T>(K, A + i0 * lda, lda, W + j0, N, b + j0, net.slope, C + i0 * N + j0, N, NR<T>);
            }
        }
        if (n0 < N) {
            const T* panel = tails.panel(c, l, nl);
            for (std::int64_t i0 = 0; i0 < rows_pad; i0 += kMR)
                micro_kernel<T>(K, A + i0 * lda, lda, panel, NR<T>, panel + K * NR<T>, net.slope, C + i0 * N + n0,
                                N, int(N - n0));
        }
        A = C;
        lda = N;
    }
    const std::int64_t K = net.dims[nl - 1];
    dot_layer<T>(rows, K, A, lda, net.weights[nl - 1] + c * K, net.biases[nl - 1][c], out);
}

template <class T>
void check_net(const MLPView<T>& net) {
    if (net.num_layers < 1 || net.num_critics < 1) throw std::invalid_argument("critic needs >= 1 layer and >= 1 critic");
    for (int l = 0; l <= net.num_layers; ++l)
        if (net.dims[l] < 1) throw std::invalid_argument("critic layer widths must be >= 1");
    if (net.dims[net.num_layers] != 1) throw std::invalid_argument("the critic's last layer must have fan_out 1");
}

// Threads worth starting: one per ~2 MFLOP of work (about 20 us), so small
// calls (the trainer's evaluations, tiny critics) stay on the calling thread
// instead of paying for a fork/join and, on a busy machine, for a descheduled worker.
template <class T>
int useful_threads(const MLPView<T>& net, std::int64_t total_rows) {
    double flops_per_row = 0.0;
    for (int l = 0; l < net.num_layers; ++l) flops_per_row += 2.0 * double(net.dims[l]) * double(net.dims[l + 1]);
    const double work = flops_per_row * double(total_rows);
    const double wanted = std::max(1.0, work / 2e6);
    return int(std::min<double>(max_threads(), wanted));
}

std::int64_t tile_rows(std::int64_t total_rows, std::int64_t batch, int threads) {
    // Enough tiles to keep every thread busy, at most kTileMax rows, a multiple of kMR.
    std::int64_t t = (total_rows + threads - 1) / threads;
    t = std::min<std::int64_t>({t, kTileMax, batch});
    t = (t + kMR - 1) / kMR * kMR;
    return std::max<std::int64_t>(t, kMR);
}

}  // namespace

template <class T>
void critic_forward(const MLPView<T>& net, const T* x, std::int64_t batch, bool shared_x, T* out) {
    check_net(net);
    if (batch < 1) return;
    const TailPanels<T> tails(net);
    const std::int64_t d = net.dims[0];
    const int threads = useful_threads(net, net.num_critics * batch);
    const std::int64_t tile = tile_rows(net.num_critics * batch, batch, threads);
    const std::int64_t tiles_per_critic = (batch + tile - 1) / tile;
    const std::int64_t num_tasks = net.num_critics * tiles_per_critic;
#if defined(EMD_HAVE_OPENMP)
#pragma omp parallel num_threads(threads) if (threads > 1 && num_tasks > 1)
#endif
    {
        Workspace<T> ws(net, tile);
#if defined(EMD_HAVE_OPENMP)
#pragma omp for schedule(static)
#endif
        for (std::int64_t task = 0; task < num_tasks; ++task) {
            const std::int64_t c = task / tiles_per_critic;
            const std::int64_t r0 = (task % tiles_per_critic) * tile;
            const std::int64_t rows = std::min(tile, batch - r0);
            const T* xr = x + ((shared_x ? 0 : c * batch) + r0) * d;
            forward_tile<T>(net, tails, c, xr, rows, ws, out + c * batch + r0);
        }
    }
}

template <class T>
bool kr_estimate(const MLPView<T>& net, const T* x_real, std::int64_t n_real, const T* x_fake,
                 std::int64_t n_fake, Interrupt& interrupt, double* result) {
    check_net(net);
    if (net.num_critics != 1) throw std::invalid_argument("kr_estimate takes one critic");
    if (n_real < 1 || n_fake < 1) throw std::invalid_argument("kr_estimate needs samples on both sides");
    const TailPanels<T> tails(net);
    const std::int64_t d = net.dims[0];
    // A fixed number of blocks per side, each summed in order in double: the
    // partial sums do not depend on the thread count, and neither does the result.
    constexpr std::int64_t kBlocks = 256;
    double sums[2][kBlocks] = {};
    const int threads = useful_threads(net, n_real + n_fake);
    const std::int64_t tile = tile_rows(n_real + n_fake, std::max(n_real, n_fake), threads);
    const T* xs[2] = {x_real, x_fake};
    const std::int64_t ns[2] = {n_real, n_fake};
#if defined(EMD_HAVE_OPENMP)
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
    {
        Workspace<T> ws(net, tile);
        std::vector<T> f(static_cast<std::size_t>(tile));
#if defined(EMD_HAVE_OPENMP)
#pragma omp for schedule(dynamic, 1)
#endif
        for (std::int64_t task = 0; task < 2 * kBlocks; ++task) {
            const int side = int(task / kBlocks);
            const std::int64_t blk = task % kBlocks;
            const std::int64_t n = ns[side];
            const std::int64_t lo = n * blk / kBlocks, hi = n * (blk + 1) / kBlocks;
            double s = 0.0;
            std::int64_t count = 0;
            for (std::int64_t r0 = lo; r0 < hi; r0 += tile) {
                // Asking Python takes the GIL: the master does it every 16 tiles.
                if (interrupt.requested() || ((++count & 15) == 0 && interrupt.poll(thread_id() == 0))) break;
                const std::int64_t rows = std::min(tile, hi - r0);
                forward_tile<T>(net, tails, 0, xs[side] + r0 * d, rows, ws, f.data());
                for (std::int64_t i = 0; i < rows; ++i) s += double(f[std::size_t(i)]);
            }
            sums[side][blk] = s;
        }
    }
    if (interrupt.requested()) return false;
    double total[2] = {0.0, 0.0};
    for (int side = 0; side < 2; ++side)
        for (std::int64_t b = 0; b < kBlocks; ++b) total[side] += sums[side][b];
    *result = total[0] / double(n_real) - total[1] / double(n_fake);
    return true;
}

template void critic_forward<float>(const MLPView<float>&, const float*, std::int64_t, bool, float*);
template void critic_forward<double>(const MLPView<double>&, const double*, std::int64_t, bool, double*);
template bool kr_estimate<float>(const MLPView<float>&, const float*, std::int64_t, const float*, std::int64_t,
                                 Interrupt&, double*);
template bool kr_estimate<double>(const MLPView<double>&, const double*, std::int64_t, const double*, std::int64_t,
                                  Interrupt&, double*);

}  // namespace emd
