// A batch of small dense problems on one shared cost, in the scaling domain:
// the updates of many problems at once are one matrix product with the
// shared kernel K0_ij = exp(-(C_ij - c_min) / eps) (issue 19).
//
// For problem p the f-update
//
//     f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)
//         = c_min - eps (G + log sum_j K0_ij x_j),
//     x_j = exp(h_j - G),  h_j = g_j / eps + log b_j,  G = max_j h_j,
//
// is a product with K0 of a vector whose largest entry is exactly 1 (the
// shift G, per problem and per update, stands where the kernel form of
// kernel_cache.hpp keeps reference potentials). The batch's vectors side by
// side make S = K0 X, a matrix product (X: m x active problems) blocked so
// that K0 (and its transpose, for the g-update) stays in cache and every
// entry of K0 loaded serves four problems. Nothing can leave the range:
// with (max C - min C) / eps <= kSharedRange every entry of K0 is at least
// exp(-kSharedRange), so each row sum is at least that (its j = argmax h
// term); entries of x below exp(-kClampExp) are set to 0, which changes the
// sums by less than exp(kSharedRange - kClampExp) = e^-100 relative and
// keeps every product above the smallest normal double (no subnormal
// arithmetic). Smaller eps, where K0 would underflow, is left to the
// per-problem log-stabilized loop (the caller checks shared_batch_fits).
//
// Each problem keeps its own potentials (in T, as the per-problem loop), its
// own SinkhornControl and stops on its own criterion; stopped problems drop
// out of the products (compaction). Every product entry adds its terms in
// index order, whatever the other problems in the block: results depend on
// neither the block nor the thread count.
// Private to csrc/cpu/sinkhorn.cpp (included there once, after kernel_cache.hpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../fast_math.hpp"
#include "emd/buffer.hpp"
#include "emd/interrupt.hpp"
#include "emd/parallel.hpp"
#include "emd/simd.hpp"
#include "emd/sinkhorn.hpp"
#include "emd/sinkhorn_control.hpp"
#include "kernel_cache.hpp"
#include "vector_ops.hpp"

namespace emd {
namespace {

// (max C - min C) / eps up to which K0 is used (see the head of this file).
constexpr double kSharedRange = 300.0;
// x_j = exp(h_j - G) below exp(-kClampExp) is taken as 0.
constexpr double kClampExp = 400.0;
// The batched path takes costs up to this many entries: K0 and its
// transpose in double (1 MiB at the bound) stay in L2 across the products.
constexpr std::int64_t kSharedEntries = std::int64_t(1) << 16;
// Problems solved side by side by one thread.
// (32, and product tiles of 6 or 8 problems, measured the same on the 1000 x 64 benchmark.)
constexpr std::int64_t kSharedBlock = 16;

// The shared kernel, double whatever T: in rows layout (m columns of n_pad:
// rows_k[j * n_pad + i] = K0_ij, the f-update's products), cols layout
// (cols_k[i * m_pad + j] = K0_ij, the g-update's), and K0_ij C_ij in rows
// layout (the objective). Padding entries are 0.
struct SharedKernel {
    std::int64_t n = 0, m = 0, n_pad = 0, m_pad = 0;
    double eps = 0.0, c_min = 0.0;
    Buffer<double> rows_k, cols_k, rows_kc;

    template <class T>
    SharedKernel(const T* cost, std::int64_t n_, std::int64_t m_, double eps_, double c_min_)
        : n(n_), m(m_), eps(eps_), c_min(c_min_) {
        constexpr std::int64_t L = simd::Vec<double>::lanes;
        n_pad = (n + L - 1) / L * L;
        m_pad = (m + L - 1) / L * L;
        rows_k.resize(std::size_t(m * n_pad));
        rows_kc.resize(std::size_t(m * n_pad));
        cols_k.resize(std::size_t(n * m_pad));
        std::fill(rows_k.data(), rows_k.data() + m * n_pad, 0.0);
        std::fill(rows_kc.data(), rows_kc.data() + m * n_pad, 0.0);
        std::fill(cols_k.data(), cols_k.data() + n * m_pad, 0.0);
        const double inv = 1.0 / eps;
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t j = 0; j < m; ++j) {
                const double c = double(cost[i * m + j]);
                const double k = std::exp(-(c - c_min) * inv);
                rows_k[std::size_t(j * n_pad + i)] = k;
                rows_kc[std::size_t(j * n_pad + i)] = k * c;
                cols_k[std::size_t(i * m_pad + j)] = k;
            }
    }
};

// Whether a batch on this cost takes the shared path: every entry of K0 in range, K0 in cache.
template <class T>
bool shared_batch_fits(const T* cost, std::int64_t n, std::int64_t m, double eps, double& c_min) {
    if (n * m > kSharedEntries) return false;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::int64_t k = 0; k < n * m; ++k) {
        lo = std::min(lo, double(cost[k]));
        hi = std::max(hi, double(cost[k]));
    }
    c_min = lo;
    return std::isfinite(lo) && std::isfinite(hi) && (hi - lo) / eps <= kSharedRange;
}

// out[q][0:len_pad) = A in[q] for `count` problems, A stored as kdim
// columns of len_pad (a[k * len_pad + i]): tiles of R vectors of rows by Q
// problems, the R x Q accumulators in registers, each column of A loaded
// once per tile and used for Q problems. Each out[q][i] adds its kdim terms
// in order k = 0, 1, ... whatever R, Q and the other problems.
template <int R, int Q>
EMD_INLINE void product_tile(const double* __restrict a, std::int64_t len_pad, std::int64_t kdim, std::int64_t i0,
                             const double* const* in, double* const* out) {
    using V = simd::Vec<double>::type;
    constexpr int L = simd::Vec<double>::lanes;
    V acc[R][Q];
    for (int r = 0; r < R; ++r)
        for (int q = 0; q < Q; ++q) acc[r][q] = V{};
    const double* src[Q];
    for (int q = 0; q < Q; ++q) src[q] = in[q];
    const double* col = a + i0;
    for (std::int64_t k = 0; k < kdim; ++k, col += len_pad) {
        V av[R];
        for (int r = 0; r < R; ++r) av[r] = simd::load<double>(col + r * L);
        for (int q = 0; q < Q; ++q) {
            const double x = src[q][k];
            for (int r = 0; r < R; ++r) acc[r][q] += av[r] * x;
        }
    }
    for (int q = 0; q < Q; ++q)
        for (int r = 0; r < R; ++r) simd::store<double>(out[q] + i0 + r * L, acc[r][q]);
}

template <int Q>
void product_rows(const double* a, std::int64_t len_pad, std::int64_t kdim, const double* const* in,
                  double* const* out) {
    constexpr std::int64_t L = simd::Vec<double>::lanes;
    constexpr int R = 4;
    const std::int64_t vecs = len_pad / L;
    std::int64_t v = 0;
    for (; v + R <= vecs; v += R) product_tile<R, Q>(a, len_pad, kdim, v * L, in, out);
    for (; v + 2 <= vecs; v += 2) product_tile<2, Q>(a, len_pad, kdim, v * L, in, out);
    for (; v < vecs; ++v) product_tile<1, Q>(a, len_pad, kdim, v * L, in, out);
}

// out[p] = A in[p] for p < count (see product_tile).
inline void shared_products(const double* a, std::int64_t len_pad, std::int64_t kdim, const double* const* in,
                            double* const* out, std::int64_t count) {
    constexpr int Q = 4;
    std::int64_t p = 0;
    for (; p + Q <= count; p += Q) product_rows<Q>(a, len_pad, kdim, in + p, out + p);
    for (; p + 2 <= count; p += 2) product_rows<2>(a, len_pad, kdim, in + p, out + p);
    for (; p < count; ++p) product_rows<1>(a, len_pad, kdim, in + p, out + p);
}

// out_j = exp(h_j - H) with h_j = v_j inv + lw_j and H = max_j h_j (returned);
// 0 where h_j - H < -kClampExp (and for zero weights, lw_j = -inf).
template <class T>
double shifted_exps(const T* __restrict v, const double* __restrict lw, double inv, std::int64_t len,
                    double* __restrict out) {
    double mx = -std::numeric_limits<double>::infinity();
#pragma omp simd reduction(max : mx)
    for (std::int64_t j = 0; j < len; ++j) {
        const double h = double(v[j]) * inv + lw[j];
        out[j] = h;
        mx = std::max(mx, h);
    }
#pragma omp simd
    for (std::int64_t j = 0; j < len; ++j) {
        const double d = out[j] - mx;
        out[j] = pick(d > -kClampExp, fast_exp(d), 0.0);
    }
    return mx;
}

// One problem of a block: its inputs, potentials, controller and buffers.
template <class T>
struct SharedProblem {
    std::int64_t index = 0;
    const T* a = nullptr;
    const T* b = nullptr;
    T* f = nullptr;
    T* g = nullptr;
    double *log_a = nullptr, *log_b = nullptr;
    double *x = nullptr, *s = nullptr, *y = nullptr, *t = nullptr;  // m, n_pad, n_pad, m_pad
    T* f_new = nullptr;
    double shift_x = 0.0, shift_y = 0.0;  // G of x, F of y
    double mass_a = 0.0, mass_b = 0.0;
    double kappa = -1.0;
    SinkhornControl ctl;
};

// The batched form of KernelCache::rate_estimate (the same Lanczos steps on
// A = D_r^{-1/2} P D_c^{-1/2}), for every problem of `group` at once, P of
// problem p being diag(y) K0 diag(x) (a multiple of its plan: A does not
// change). Sets kappa of each (or -1).
template <class T>
void shared_rate_estimates(const SharedKernel& kern, std::vector<SharedProblem<T>*>& group) {
    constexpr int kSteps = 8;
    const std::int64_t n = kern.n, m = kern.m, np = kern.n_pad, mp = kern.m_pad;
    const std::int64_t count = std::int64_t(group.size());
    if (count == 0) return;
    const double inv = 1.0 / kern.eps;
    // Per problem: alpha, s, w (n); q (kSteps n); beta2 (m); products in/out (n_pad, m_pad).
    const std::int64_t per = 3 * np + kSteps * np + mp + np + mp + np;
    AlignedVector<double> work(std::size_t(per * count));
    std::vector<const double*> in(static_cast<std::size_t>(count));
    std::vector<double*> out(static_cast<std::size_t>(count));
    struct Lanczos : RateLanczos<kSteps> {
        double *vn, *vm, *pn;
        bool alive;
    };
    std::vector<Lanczos> lz(static_cast<std::size_t>(count));
    for (std::int64_t c = 0; c < count; ++c) {
        double* base = work.data() + c * per;
        Lanczos& l = lz[std::size_t(c)];
        l.n = n;
        l.m = m;
        l.stride = np;
        l.alpha = base;
        l.s = base + np;
        l.w = base + 2 * np;
        l.q = base + 3 * np;
        l.beta2 = base + (3 + kSteps) * np;
        l.vn = l.beta2 + mp;  // n_pad
        l.vm = l.vn + np;     // m_pad
        l.pn = l.vm + mp;     // n_pad
        l.alive = true;
        SharedProblem<T>& p = *group[std::size_t(c)];
        p.kappa = -1.0;
        // bv = x (from g), av = y (from f); xn = K0 bv, ym = K0^T av.
        shifted_exps(p.g, p.log_b, inv, m, p.x);
        shifted_exps(p.f, p.log_a, inv, n, p.y);
    }
    for (std::int64_t c = 0; c < count; ++c) {
        in[std::size_t(c)] = group[std::size_t(c)]->x;
        out[std::size_t(c)] = lz[std::size_t(c)].pn;
    }
    shared_products(kern.rows_k.data(), np, m, in.data(), out.data(), count);
    for (std::int64_t c = 0; c < count; ++c) {
        in[std::size_t(c)] = group[std::size_t(c)]->y;
        out[std::size_t(c)] = lz[std::size_t(c)].vm;
    }
    shared_products(kern.cols_k.data(), mp, n, in.data(), out.data(), count);
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (std::int64_t c = 0; c < count; ++c) {
        Lanczos& l = lz[std::size_t(c)];
        SharedProblem<T>& p = *group[std::size_t(c)];
        l.alive = l.weigh(p.y, l.pn, p.x, l.vm, 0.0, inf);
        // The start vector sqrt(r) * (f_new - f), the last f-update's step.
        if (l.alive) l.start([&](std::int64_t i) { return double(p.f_new[i]) - double(p.f[i]); });
    }
    const int steps = int(std::min<std::int64_t>(kSteps, std::min(n, m) - 1));
    std::vector<Lanczos*> live;
    for (int step = 0; step < steps; ++step) {
        live.clear();
        for (auto& l : lz)
            if (l.alive && l.running()) live.push_back(&l);
            else l.alive = false;
        if (live.empty()) break;
        const std::int64_t lc = std::int64_t(live.size());
        // w = A A^T q_k = alpha * K0 (beta^2 * K0^T (alpha * q_k))
        for (std::int64_t c = 0; c < lc; ++c) {
            Lanczos& l = *live[std::size_t(c)];
            l.in(l.next(step), l.vn);
            in[std::size_t(c)] = l.vn;
            out[std::size_t(c)] = l.vm;
        }
        shared_products(kern.cols_k.data(), mp, n, in.data(), out.data(), lc);
        for (std::int64_t c = 0; c < lc; ++c) {
            Lanczos& l = *live[std::size_t(c)];
            l.mid(l.vm);
            in[std::size_t(c)] = l.vm;
            out[std::size_t(c)] = l.pn;
        }
        shared_products(kern.rows_k.data(), np, m, in.data(), out.data(), lc);
        for (std::int64_t c = 0; c < lc; ++c) {
            Lanczos& l = *live[std::size_t(c)];
            l.alive = l.take(step, l.pn);
        }
    }
    // The Ritz values, all bisections interleaved (SoA: entry k of matrix c at k * count + c).
    std::vector<double> diag(static_cast<std::size_t>(kSteps * count), 0.0), off(diag.size(), 0.0),
        kappa(static_cast<std::size_t>(count), -1.0);
    std::vector<int> len(static_cast<std::size_t>(count));
    for (std::int64_t c = 0; c < count; ++c) {
        const Lanczos& l = lz[std::size_t(c)];
        len[std::size_t(c)] = l.done;
        for (int k = 0; k < l.done; ++k) {
            diag[std::size_t(k * count + c)] = l.diag[k];
            off[std::size_t(k * count + c)] = l.off[k];
        }
    }
    tridiagonal_max_eigenvalues<kSteps>(diag.data(), off.data(), len.data(), int(count), 1.0, kappa.data());
    for (std::int64_t c = 0; c < count; ++c) {
        const double k = kappa[std::size_t(c)];
        group[std::size_t(c)]->kappa = lz[std::size_t(c)].done > 0 && k >= 0.0 && k < 1.0 ? k : -1.0;
    }
}

// <P, C> and <P, C> + eps KL(P || a x b) of every problem in `done`, three
// products each: P_ij = w_i K0_ij x_j with w_i = exp(f_i / eps + log a_i + G - c_min / eps).
template <class T>
void shared_objectives(const SharedKernel& kern, std::vector<SharedProblem<T>*>& done, AlignedVector<double>& work,
                       double* cost_out, double* objective_out) {
    const std::int64_t n = kern.n, m = kern.m, np = kern.n_pad;
    const std::int64_t count = std::int64_t(done.size());
    if (count == 0) return;
    const double eps = kern.eps, inv = 1.0 / eps;
    work.resize(std::size_t(count * (2 * np + m)));
    std::vector<const double*> in(static_cast<std::size_t>(count));
    std::vector<double*> out(static_cast<std::size_t>(count));
    for (std::int64_t c = 0; c < count; ++c) {
        SharedProblem<T>& p = *done[std::size_t(c)];
        p.shift_x = shifted_exps(p.g, p.log_b, inv, m, p.x);
        in[std::size_t(c)] = p.x;
        out[std::size_t(c)] = p.s;  // K0 x
    }
    shared_products(kern.rows_k.data(), np, m, in.data(), out.data(), count);
    for (std::int64_t c = 0; c < count; ++c) out[std::size_t(c)] = work.data() + c * (2 * np + m);  // (K0 . C) x
    shared_products(kern.rows_kc.data(), np, m, in.data(), out.data(), count);
    for (std::int64_t c = 0; c < count; ++c) {
        SharedProblem<T>& p = *done[std::size_t(c)];
        double* xg = work.data() + c * (2 * np + m) + 2 * np;
        for (std::int64_t j = 0; j < m; ++j) xg[j] = p.x[j] * double(p.g[j]) * inv;
        in[std::size_t(c)] = xg;
        out[std::size_t(c)] = work.data() + c * (2 * np + m) + np;  // K0 (x g / eps)
    }
    shared_products(kern.rows_k.data(), np, m, in.data(), out.data(), count);
    for (std::int64_t c = 0; c < count; ++c) {
        SharedProblem<T>& p = *done[std::size_t(c)];
        const double* rc = work.data() + c * (2 * np + m);
        const double* rg = rc + np;
        const double base = p.shift_x - kern.c_min * inv;
        double sc = 0.0, sm = 0.0, st = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            const double fi = double(p.f[i]) * inv;
            const double w = fast_exp(fi + p.log_a[i] + base);
            sc += w * rc[i];
            sm += w * p.s[i];
            st += w * (fi * p.s[i] + rg[i]);
        }
        st -= sc * inv;
        cost_out[p.index] = sc;
        objective_out[p.index] = sc + eps * (st - sm + p.mass_a * p.mass_b);
    }
}

// Solves problems [begin, end) of the batch side by side (see the head of this file).
template <class T>
void solve_shared_block(const SharedKernel& kern, const T* a, const T* b, std::int64_t begin, std::int64_t end,
                        const SinkhornParams& params, const T* f_init, const T* g_init, const SinkhornOutput<T>& out,
                        Interrupt& interrupt, bool may_poll) {
    const std::int64_t n = kern.n, m = kern.m, np = kern.n_pad, mp = kern.m_pad;
    const std::int64_t count = end - begin;
    const double eps = kern.eps, inv = 1.0 / eps;
    const std::int64_t per = n + m + m + np + np + mp;
    AlignedVector<double> work(std::size_t(per * count));
    AlignedVector<T> f_news(std::size_t(n * count));
    AlignedVector<double> row_err(static_cast<std::size_t>(n)), obj_work;
    AlignedVector<T> g_new(static_cast<std::size_t>(m));
    std::vector<SharedProblem<T>> probs(static_cast<std::size_t>(count));
    const bool estimate = params.overrelax && n * m <= kEstimateEntries && std::min(n, m) >= kEstimateMinSide;
    for (std::int64_t c = 0; c < count; ++c) {
        SharedProblem<T>& p = probs[std::size_t(c)];
        const std::int64_t k = begin + c;
        double* base = work.data() + c * per;
        p.index = k;
        p.a = a + k * n;
        p.b = b + k * m;
        p.f = out.f + k * n;
        p.g = out.g + k * m;
        p.log_a = base;
        p.log_b = base + n;
        p.x = base + n + m;
        p.s = p.x + m;
        p.y = p.s + np;
        p.t = p.y + np;
        p.f_new = f_news.data() + c * n;
        for (std::int64_t i = 0; i < n; ++i) p.f[i] = f_init ? f_init[k * n + i] : T(0);
        for (std::int64_t j = 0; j < m; ++j) p.g[j] = g_init ? g_init[k * m + j] : T(0);
        p.mass_a = log_weights(p.a, n, p.log_a);
        p.mass_b = log_weights(p.b, m, p.log_b);
        p.ctl = SinkhornControl(params, 0.0, p.mass_a, precision_of<T>());
    }
    std::vector<SharedProblem<T>*> live, next, rate_group, finished;
    for (auto& p : probs) live.push_back(&p);
    std::vector<const double*> in;
    std::vector<double*> res;
    const std::int64_t poll_every = std::max<std::int64_t>(1, (std::int64_t(1) << 22) / (n * m * count));
    std::int64_t round = 0;
    auto set_status = [&](SharedProblem<T>& p, SolveStatus st) {
        out.marginal_error[p.index] = p.ctl.marginal_error;
        out.n_iter[p.index] = p.ctl.n_iter;
        out.status[p.index] = static_cast<std::int32_t>(st);
        out.cost[p.index] = out.objective[p.index] = std::numeric_limits<double>::quiet_NaN();
    };
    while (!live.empty()) {
        // The f-updates: S = K0 X.
        in.clear();
        res.clear();
        for (SharedProblem<T>* p : live) {
            p->shift_x = shifted_exps(p->g, p->log_b, inv, m, p->x);
            in.push_back(p->x);
            res.push_back(p->s);
        }
        shared_products(kern.rows_k.data(), np, m, in.data(), res.data(), std::int64_t(live.size()));
        rate_group.clear();
        for (SharedProblem<T>* p : live) {
            const double shift = kern.c_min - eps * p->shift_x;
            const double* s = p->s;
            T* fn = p->f_new;
#pragma omp simd
            for (std::int64_t i = 0; i < n; ++i) fn[i] = T(shift - eps * fast_log(s[i]));
            if (estimate && p->ctl.stage_iter == 1 && p->ctl.omega == 1.0) rate_group.push_back(p);
        }
        // The rate estimate is asked for on a stage's first measured iteration: all at once.
        shared_rate_estimates(kern, rate_group);
        // Each problem's controller decides; the f-updates accepted, the g-updates' X.
        next.clear();
        for (SharedProblem<T>* p : live) {
            SinkhornControl& ctl = p->ctl;
            if (ctl.stage_iter > 0) {
                double weighted_abs_f = 0.0;
                const double measured = row_marginal_error(p->a, p->f, p->f_new, n, eps, row_err.data(), weighted_abs_f);
                const double kappa = p->kappa;
                const auto step = ctl.decide(measured, weighted_abs_f, [kappa] { return kappa; });
                if (step != SinkhornControl::Step::update) {  // stop (one stage only: no next_stage)
                    set_status(*p, ctl.status);
                    finished.push_back(p);
                    continue;
                }
            }
            relax_potential(p->f, p->f_new, n, ctl.omega, inv, ctl.omega_floor);
            p->shift_y = shifted_exps(p->f, p->log_a, inv, n, p->y);
            next.push_back(p);
        }
        live.swap(next);
        if (live.empty()) break;
        // The g-updates: T = K0^T Y.
        in.clear();
        res.clear();
        for (SharedProblem<T>* p : live) {
            in.push_back(p->y);
            res.push_back(p->t);
        }
        shared_products(kern.cols_k.data(), mp, n, in.data(), res.data(), std::int64_t(live.size()));
        for (SharedProblem<T>* p : live) {
            SinkhornControl& ctl = p->ctl;
            const double shift = kern.c_min - eps * p->shift_y;
            const double* t = p->t;
            T* gn = g_new.data();
#pragma omp simd
            for (std::int64_t j = 0; j < m; ++j) gn[j] = T(shift - eps * fast_log(t[j]));
            relax_potential(p->g, gn, m, ctl.omega, inv, ctl.omega_floor);
            ctl.next_iteration();
        }
        if (++round % poll_every == 0 && interrupt.poll(may_poll)) {
            for (SharedProblem<T>* p : live) set_status(*p, SolveStatus::interrupted);
            live.clear();
            break;
        }
    }
    if (!params.objective) return;
    shared_objectives(kern, finished, obj_work, out.cost, out.objective);  // interrupted ones keep NaN
}

// The whole batch on the shared path: blocks of kSharedBlock problems, threads over the blocks.
template <class T>
void solve_shared_batch(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                        std::int64_t m, double c_min, const SinkhornParams& params, const T* f_init, const T* g_init,
                        const SinkhornOutput<T>& out, Interrupt& interrupt) {
    const SharedKernel kern(cost, n, m, params.reg, c_min);
    const std::int64_t blocks = (num_problems + kSharedBlock - 1) / kSharedBlock;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1 && max_threads() > 1)
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
        const std::int64_t begin = blk * kSharedBlock, end = std::min(num_problems, begin + kSharedBlock);
        if (interrupt.requested()) {
            for (std::int64_t p = begin; p < end; ++p) out.status[p] = static_cast<std::int32_t>(SolveStatus::interrupted);
            continue;
        }
        solve_shared_block<T>(kern, a, b, begin, end, params, f_init, g_init, out, interrupt, thread_id() == 0);
    }
}

}  // namespace
}  // namespace emd
