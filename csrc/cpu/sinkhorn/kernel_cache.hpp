// The kernel (scaling) form of the CPU Sinkhorn updates for costs that can
// afford an n x m buffer (Schmitzer's log-stabilized scaling), and the
// estimate of plain Sinkhorn's convergence rate from that kernel.
// Private to csrc/cpu/sinkhorn.cpp (included there once, in its order:
// fast_math, vector_ops, costs, kernel_cache); anonymous namespace, as the
// code had when it lived in that file, so inlining and rounding are unchanged.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "costs.hpp"
#include "emd/buffer.hpp"
#include "vector_ops.hpp"

namespace emd {
namespace {

// Problems up to this many cost entries (2 MB of float64 kernel) estimate the
// over-relaxation factor from the kernel (KernelCache::rate_estimate), if both
// sides have at least kEstimateMinSide points: on smaller clouds the spectrum
// of the first iterate's plan predicted the rate no better than the probe
// (30 random problems per size: sometimes more iterations, sometimes fewer).
constexpr std::int64_t kEstimateEntries = std::int64_t(1) << 18;
constexpr std::int64_t kEstimateMinSide = 32;

// The largest eigenvalue of each of `count` symmetric tridiagonal matrices,
// known to lie in [0, upper]: bisection on Sturm counts (the number of
// negative pivots of T - x I). Matrix c has the diagonal d[k * count + c],
// k < len[c] <= kMaxLen, and the off-diagonal e[k * count + c], k < len[c] - 1;
// both arrays hold kMaxLen * count entries (the ones past len[c] are read and
// ignored). The matrices are interleaved so that their chains of divisions
// overlap (the loop over them vectorizes; one matrix alone is latency-bound on
// its 50 x len dependent divisions); each gets the bits it would alone.
template <int kMaxLen>
void tridiagonal_max_eigenvalues(const double* d, const double* e, const int* len, int count, double upper,
                                 double* out) {
    const std::size_t cnt = static_cast<std::size_t>(count);
    std::vector<double> lo(cnt, 0.0), hi(cnt, upper), mid(cnt), piv(cnt);
    std::vector<int> above(cnt);
    double *lo_p = lo.data(), *hi_p = hi.data(), *mid_p = mid.data(), *piv_p = piv.data();
    int* above_p = above.data();
    for (int it = 0; it < 50; ++it) {
        // Pivot k of every matrix, then pivot k + 1: simple loops over the matrices, which vectorize.
#pragma omp simd
        for (int c = 0; c < count; ++c) {
            mid_p[c] = 0.5 * (lo_p[c] + hi_p[c]);
            double p = d[c] - mid_p[c];
            p = p == 0.0 ? 1e-300 : p;
            piv_p[c] = p;
            above_p[c] = int(p > 0.0) & int(len[c] > 0);
        }
        for (int k = 1; k < kMaxLen; ++k) {
            const double* dk = d + k * count;
            const double* ek = e + (k - 1) * count;
#pragma omp simd
            for (int c = 0; c < count; ++c) {
                double p = (dk[c] - mid_p[c]) - ek[c] * ek[c] / piv_p[c];
                p = p == 0.0 ? 1e-300 : p;
                const bool used = k < len[c];
                piv_p[c] = used ? p : piv_p[c];
                above_p[c] += int(used) & int(p > 0.0);
            }
        }
#pragma omp simd
        for (int c = 0; c < count; ++c) {
            const bool up = above_p[c] > 0;
            lo_p[c] = up ? mid_p[c] : lo_p[c];
            hi_p[c] = up ? hi_p[c] : mid_p[c];
        }
    }
    std::copy(lo.begin(), lo.end(), out);
}

// The Lanczos steps of the rate estimate (KernelCache::rate_estimate) on A A^T,
// A = D_r^{-1/2} P D_c^{-1/2} = diag(alpha) K diag(beta) for a plan P =
// diag(y) K diag(x) with row sums r and column sums c. The vectors live in
// caller-owned storage and the products with K and K^T are the caller's, so
// that one problem's solve and a batch sharing one kernel (shared_batch.hpp)
// run the same steps. A step: q = next(k); the caller forms
// K (beta^2 * K^T (alpha * q)) with in() and mid() around its two products;
// take(k, that) adds the step (false: the Krylov space is exhausted).
template <int kSteps>
struct RateLanczos {
    std::int64_t n = 0, m = 0, stride = 0;  // q holds kSteps vectors of n, `stride` apart
    double *alpha = nullptr, *s = nullptr, *w = nullptr, *q = nullptr, *beta2 = nullptr;
    double diag[kSteps] = {}, off[kSteps] = {};  // read to kSteps by tridiagonal_max_eigenvalues
    double norm = 0.0;
    int done = 0;

    // alpha, beta^2 and s = sqrt(r) / |sqrt(r)| (A's top left singular vector,
    // singular value 1) from x, y, kx = K x and kty = K^T y: r_i = y_i (K x)_i,
    // c_j = x_j (K^T y)_j. Sums outside (lo, hi) count as 0 (rows or columns
    // the kernel lost to under- or overflow). False when no row sum is left.
    template <class P>
    bool weigh(const P* y, const P* kx, const P* x, const P* kty, double lo, double hi) {
        double ss = 0.0;
#pragma omp simd reduction(+ : ss)
        for (std::int64_t i = 0; i < n; ++i) {
            const double r = double(y[i]) * double(kx[i]);
            const bool ok = r > lo && r < hi;
            alpha[i] = ok ? double(y[i]) / std::sqrt(r) : 0.0;
            s[i] = ok ? std::sqrt(r) : 0.0;
            ss += ok ? r : 0.0;
        }
#pragma omp simd
        for (std::int64_t j = 0; j < m; ++j) {
            const double c = double(x[j]) * double(kty[j]);
            beta2[j] = c > lo && c < hi ? double(x[j]) / c * double(x[j]) : 0.0;
        }
        if (!(ss > 0.0)) return false;
        const double inv_norm_s = 1.0 / std::sqrt(ss);
        for (std::int64_t i = 0; i < n; ++i) s[i] *= inv_norm_s;
        return true;
    }
    // The start vector s * dir(i) (dir: the last f-update's step, rich in the slow modes).
    template <class Dir>
    void start(Dir dir) {
        for (std::int64_t i = 0; i < n; ++i) w[i] = dir(i) * s[i];
        norm = orthogonalize(0);
    }
    bool running() const { return norm > 0.0 && std::isfinite(norm); }
    const double* next(int step) {
        double* qk = q + std::size_t(step) * std::size_t(stride);
        for (std::int64_t i = 0; i < n; ++i) qk[i] = w[i] / norm;
        return qk;
    }
    template <class P>
    void in(const double* qk, P* vn) const {  // alpha * q, the input of K^T
        for (std::int64_t i = 0; i < n; ++i) vn[i] = P(alpha[i] * qk[i]);
    }
    template <class P>
    void mid(P* vm) const {  // beta^2 * K^T (alpha * q), the input of K
        for (std::int64_t j = 0; j < m; ++j) vm[j] = P(beta2[j] * double(vm[j]));
    }
    template <class P>
    bool take(int step, const P* kv) {  // kv = K (beta^2 * K^T (alpha * q_step))
        const double* qk = q + std::size_t(step) * std::size_t(stride);
        for (std::int64_t i = 0; i < n; ++i) w[i] = alpha[i] * double(kv[i]);
        diag[step] = dot(w, qk, n);
        done = step + 1;
        norm = orthogonalize(done);
        off[step] = norm;
        return norm > 1e-12;
    }
    // Orthogonalize w against s (eigenvalue 1, which rounding would otherwise
    // bring back) and the basis so far (full reorthogonalization: a few steps,
    // so it is cheap); returns its norm.
    double orthogonalize(int count) {
        sub_scaled(w, dot(w, s, n), s, n);
        for (int c = 0; c < count; ++c) {
            const double* qc = q + std::size_t(c) * std::size_t(stride);
            sub_scaled(w, dot(w, qc, n), qc, n);
        }
        return std::sqrt(dot(w, w, n));
    }
};

// The kernel (scaling) form of the same updates, for costs that can afford an
// n x m buffer. Around reference potentials (fh, gh) it stores
// K_ij = exp((fh_i + gh_j - C_ij) / eps), so that the softmin becomes a
// matrix-vector product with no exp per entry:
//
//     f_i = fh_i - eps log sum_j K_ij b_j exp((g_j - gh_j) / eps),
//     g_j = gh_j - eps log sum_i K_ij a_i exp((f_i - fh_i) / eps).
//
// This is the log-stabilized scaling algorithm (Schmitzer 2019): the
// potentials are absorbed into K (rebuilt) whenever they drift more than
// kDrift * eps from the references, and any update whose sum leaves the safe
// range (a row of K underflowed: possible early on, or at tiny eps) is redone
// exactly in the log domain and K rebuilt, so stability equals the log
// domain's while most iterations cost a product instead of n m exps.
template <class T>
struct KernelCache {
    static constexpr double kDrift = 20.0;
    static constexpr std::int64_t kRowBlock = 16;
    static constexpr double kTiny = sizeof(T) == 4 ? 1e-30 : 1e-290;
    static constexpr double kHuge = sizeof(T) == 4 ? 1e30 : 1e290;
    // K without zero-filling and 64-byte aligned: a K that happened to start
    // off a cache line made every vector load of an iteration split in two.
    Buffer<T> k;
    AlignedVector<T> fh, gh, scaled, au;
    std::int64_t n = 0, m = 0;
    double eps = 0.0;
    bool valid = false;

    template <class Cost>
    void build(const Cost& cost, const T* f, const T* g, double eps_, std::vector<Scratch<T>>& scratch,
               bool parallel) {
        eps = eps_;
        fh.assign(f, f + n);
        gh.assign(g, g + m);
        valid = true;
        if constexpr (std::is_same_v<Cost, DenseCost<T>>) {
            // The same bits as the loop below would compute (0 + 0 - x = -x exactly).
            if (cost.k_zero && eps == cost.k_zero_eps && std::all_of(f, f + n, [](T v) { return v == T(0); }) &&
                std::all_of(g, g + m, [](T v) { return v == T(0); })) {
                k.resize(std::size_t(n * m));
                std::memcpy(k.data(), cost.k_zero, sizeof(T) * std::size_t(n * m));
                return;
            }
        }
        k.resize(std::size_t(n * m));
        const T inv = T(1.0 / eps);
        for (std::int64_t j = 0; j < m; ++j) scaled[j] = gh[j] * inv;
#pragma omp parallel for schedule(static) if (parallel)
        for (std::int64_t i = 0; i < n; ++i) {
            Scratch<T>& s = scratch[std::size_t(thread_id())];
            const T fi = fh[i] * inv;
            T* ki = k.data() + i * m;
            for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                const std::int64_t count = std::min(kChunk, m - j0);
                const T* c = cost.row(i, j0, count, s);
                const T* gs = scaled.data() + j0;
#pragma omp simd
                for (std::int64_t q = 0; q < count; ++q) ki[j0 + q] = fast_exp(fi + gs[q] - c[q] * inv);
            }
        }
    }

    // The f-update from g (rows) fused with the next g-update: while row i of K is in cache, also
    // add its share to the column sums z_j = sum_i K_ij a_i exp((fr_i - fh_i) / eps)
    // for the relaxed fr = f + omega (f_new - f), so that an iteration reads K from
    // memory once instead of twice. The sums are usable (z_ok) only if the loop
    // then relaxes with the same omega (cols_from_sums). Rows are summed in fixed
    // chunks of kSumRows, each into its own buffer, and the buffers added in chunk
    // order, by one thread or several alike: the bits depend neither on the
    // thread count nor on whether a batch runs the problem (per-thread buffers
    // made a threaded single solve differ from the same problem in a batch).
    static constexpr std::int64_t kSumRows = 256;
    AlignedVector<T> zsum, z, zc;
    bool z_ok = false;
    double z_omega = 0.0;

    bool update_rows_fused(const T* a, const T* b, const T* f, const T* g, T* f_new, double omega, double floor,
                           bool parallel, int num_threads) {
        z_ok = false;
        const double inv = 1.0 / eps;
        if (!(scaled_weights(b, g, gh.data(), inv, m, scaled.data()) <= kDrift)) return false;
        const int threads = parallel ? num_threads : 1;
        const std::int64_t chunks = (n + kSumRows - 1) / kSumRows;
        // One chunk sums straight into z; several into their own rows of zsum.
        if (chunks > 1) zsum.assign(std::size_t(chunks) * std::size_t(m), T(0));
        z.assign(std::size_t(m), T(0));
        // Rows in blocks: the block's row sums (dot products with b exp(g / eps)),
        // then its logs and exps as one vector pass, then its share of the column
        // sums while the block's rows of K are still in cache. Returns the
        // number of rows whose sum left the range (bad_rows) and of rows whose
        // column share is unusable (bad_cols), through the two counters.
        auto block = [&](std::int64_t i0, std::int64_t i1, T* zt, std::int64_t& bad_rows, std::int64_t& bad_cols) {
            T sums[kRowBlock];
            double w[kRowBlock];
            T au_blk[kRowBlock];
            row_products_range(k.data() + i0 * m, 0, i1 - i0, m, scaled.data(), sums);
            for (std::int64_t q = 0; q < i1 - i0; ++q) w[q] = double(sums[q]);
            std::int64_t br = 0, bc = 0;
            const std::int64_t len = i1 - i0;
            const double relax = omega;
            // Branch-free (no selects that GCC could turn back into branches), so
            // that the logs and exps vectorize; `plain` is a compile-time flag.
            // Offset pointers: indexing x[i0 + q] made GCC emit gathers.
            const T *fhb = fh.data() + i0, *fb = f + i0, *ab = a + i0;
            T* fnb = f_new + i0;
            auto pass = [&](auto plain) {
#pragma omp simd reduction(+ : br, bc)
                for (std::int64_t q = 0; q < len; ++q) {
                    const double fhi = double(fhb[q]), fi = double(fb[q]);
                    const int row_ok = int(w[q] > kTiny) & int(w[q] < kHuge);
                    // fast_log of an out-of-range sum is garbage, but then the whole
                    // update is rejected and redone in the log domain.
                    const T fn = T(fhi - eps * fast_log(w[q]));
                    fnb[q] = fn;
                    T fr = fn;
                    if constexpr (!decltype(plain)::value) fr = T(relaxed(fi, double(fn), relax, inv, floor));
                    const double d = (double(fr) - fhi) * inv;
                    const int col_ok = row_ok & int(std::fabs(d) <= kDrift);
                    au_blk[q] = T(double(ab[q]) * fast_exp(d)) * T(col_ok);  // fast_exp is finite
                    br += 1 - row_ok;
                    bc += 1 - col_ok;
                }
            };
            if (omega == 1.0)
                pass(std::true_type{});
            else
                pass(std::false_type{});
            bad_rows += br;
            bad_cols += bc;
            // The column sums (zero-weight rows add 0).
            add_column_sums(k.data() + i0 * m, len, m, m, au_blk, zt);
        };
        std::int64_t bad_rows = 0, bad_cols = 0;
        // Chunk c: rows [c kSumRows, (c + 1) kSumRows) in blocks, into its own sums.
        auto chunk = [&](std::int64_t c, std::int64_t& br, std::int64_t& bc) {
            T* zt = chunks > 1 ? zsum.data() + std::size_t(c) * std::size_t(m) : z.data();
            const std::int64_t end = std::min(n, (c + 1) * kSumRows);
            for (std::int64_t i0 = c * kSumRows; i0 < end; i0 += kRowBlock)
                block(i0, std::min(end, i0 + kRowBlock), zt, br, bc);
        };
        if (threads > 1 && chunks > 1) {
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : bad_rows, bad_cols)
            for (std::int64_t c = 0; c < chunks; ++c) chunk(c, bad_rows, bad_cols);
        } else {  // no OpenMP construct at all: an inactive region still costs a team setup
            for (std::int64_t c = 0; c < chunks; ++c) chunk(c, bad_rows, bad_cols);
        }
        const bool ok = bad_rows == 0;
        bool col_ok = bad_cols == 0;
        if (!ok) return false;
        if (col_ok) {
            T* zj = z.data();
            if (chunks > 1) {  // in chunk order, whatever thread summed each
                for (std::int64_t c = 0; c < chunks; ++c) {
                    const T* zt = zsum.data() + std::size_t(c) * std::size_t(m);
#pragma omp simd
                    for (std::int64_t j = 0; j < m; ++j) zj[j] += zt[j];
                }
            }
            std::int64_t bad = 0;
#pragma omp simd reduction(+ : bad)
            for (std::int64_t j = 0; j < m; ++j) bad += 1 - (int(double(zj[j]) > kTiny) & int(double(zj[j]) < kHuge));
            col_ok = bad == 0;
        }
        z_ok = col_ok;
        z_omega = omega;
        return true;
    }

    // The per-row sums of the objective from the kernel, no exp per entry:
    // P_ij = au_i K_ij bv_j with au = a exp((f - fh) / eps), bv = b exp((g - gh) / eps),
    // rc_i = sum_j P_ij C_ij, rm_i = sum_j P_ij, rt_i = sum_j P_ij (f_i + g_j - C_ij) / eps.
    // False (nothing written) if (f, g) drifted too far from the kernel's reference.
    template <class Cost>
    bool plan_sums(const Cost& cost, const T* a, const T* b, const T* f, const T* g, double* rc, double* rm,
                   double* rt, bool parallel) {
        const double inv = 1.0 / eps;
        au.resize(std::size_t(n));
        if (!(scaled_weights(a, f, fh.data(), inv, n, au.data()) <= kDrift)) return false;
        if (!(scaled_weights(b, g, gh.data(), inv, m, scaled.data()) <= kDrift)) return false;
        std::vector<double> bvg(static_cast<std::size_t>(m));
        for (std::int64_t j = 0; j < m; ++j) bvg[j] = double(scaled[j]) * double(g[j]) * inv;
        Scratch<T> unused;  // a dense cost hands out its rows without a buffer
#pragma omp parallel for schedule(static) if (parallel)
        for (std::int64_t i = 0; i < n; ++i) {
            const T* __restrict ki = k.data() + i * m;
            const T* __restrict c = cost.row(i, 0, m, unused);
            const T* __restrict bv = scaled.data();
            const double* __restrict bg = bvg.data();
            double s1 = 0, sg = 0, sc = 0;
#pragma omp simd reduction(+ : s1, sg, sc)
            for (std::int64_t j = 0; j < m; ++j) {
                const double kij = double(ki[j]), kb = kij * double(bv[j]);
                s1 += kb;
                sg += kij * bg[j];
                sc += kb * double(c[j]);
            }
            const double ai = double(au[i]);
            rc[i] = ai * sc;
            rm[i] = ai * s1;
            rt[i] = ai * (double(f[i]) * inv * s1 + sg - sc * inv);
        }
        return true;
    }

    // The g-update from the sums of update_rows_fused.
    void cols_from_sums(T* g_new) const { shifted_logs(gh.data(), z.data(), eps, m, g_new); }

    // g_new from f (columns).
    bool update_cols(const T* a, const T* f, T* g_new, bool parallel) {
        au.resize(std::size_t(n));
        if (!(scaled_weights(a, f, fh.data(), 1.0 / eps, n, au.data()) <= kDrift)) return false;
        zc.resize(std::size_t(m));
        column_products(k.data(), n, m, au.data(), zc.data(), parallel);
        bool ok = true;
        for (std::int64_t j = 0; j < m; ++j) ok = ok && double(zc[j]) > kTiny && double(zc[j]) < kHuge;
        if (ok) shifted_logs(gh.data(), zc.data(), eps, m, g_new);
        return ok;
    }

    // The linear convergence rate of plain Sinkhorn near the plan P of (f, g):
    // kappa = sigma_2(A)^2, A = D_r^{-1/2} P D_c^{-1/2} with r, c the row and
    // column sums of P (Knight, "The Sinkhorn-Knopp algorithm: convergence and
    // applications", SIAM J. Matrix Anal. Appl. 30(1), 2008); its top singular
    // value is 1, with left vector sqrt(r). A few Lanczos steps on A A^T, kept
    // orthogonal to sqrt(r), from the start vector sqrt(r) * dir (the last
    // f-update's step: rich in the slow modes); the Ritz value approaches
    // kappa from below. Each step is one product with K and one with K^T.
    // Returns a value in [0, 1), or -1 when (f, g) is too far from the
    // kernel's reference or the estimate is degenerate.
    double rate_estimate(const T* a, const T* b, const T* f, const T* g, const T* dir, bool parallel) {
        constexpr int kSteps = 8;
        const double inv = 1.0 / eps;
        AlignedVector<double> alpha(n), s(n), q(std::size_t(kSteps) * std::size_t(n)), w(n);
        AlignedVector<double> beta2(m);
        AlignedVector<T> av(n), bv(m), xn(n), ym(m);
        if (!(scaled_weights(a, f, fh.data(), inv, n, av.data()) <= kDrift)) return -1.0;
        if (!(scaled_weights(b, g, gh.data(), inv, m, bv.data()) <= kDrift)) return -1.0;
        row_products(k.data(), n, m, bv.data(), xn.data(), parallel);
        column_products(k.data(), n, m, av.data(), ym.data(), parallel);
        RateLanczos<kSteps> l;
        l.n = n;
        l.m = m;
        l.stride = n;
        l.alpha = alpha.data();
        l.s = s.data();
        l.w = w.data();
        l.q = q.data();
        l.beta2 = beta2.data();
        if (!l.weigh(av.data(), xn.data(), bv.data(), ym.data(), kTiny, kHuge)) return -1.0;
        l.start([&](std::int64_t i) { return double(dir[i]); });
        const int steps = int(std::min<std::int64_t>(kSteps, std::min(n, m) - 1));
        for (int step = 0; step < steps && l.running(); ++step) {
            l.in(l.next(step), xn.data());
            column_products(k.data(), n, m, xn.data(), ym.data(), parallel);
            l.mid(ym.data());
            row_products(k.data(), n, m, ym.data(), xn.data(), parallel);
            if (!l.take(step, xn.data())) break;
        }
        if (l.done == 0) return -1.0;
        double kappa = -1.0;
        tridiagonal_max_eigenvalues<kSteps>(l.diag, l.off, &l.done, 1, 1.0, &kappa);
        return kappa >= 0.0 && kappa < 1.0 ? kappa : -1.0;
    }
};

}  // namespace
}  // namespace emd
