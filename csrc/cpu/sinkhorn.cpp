// Log-domain Sinkhorn: one loop (solve_one) over a pluggable cost (DenseCost,
// SampleCost), threads over rows or over a batch. The layers, bottom up:
//   fast_math.hpp              branch-free exp / log for vectorized loops
//   sinkhorn/vector_ops.hpp    products with K, scaled weights, transposes
//   sinkhorn/costs.hpp         DenseCost, SampleCost, the log-domain softmin
//   sinkhorn/kernel_cache.hpp  the kernel (scaling) form, the rate estimate
//   sinkhorn/shared_batch.hpp  many small problems on one cost: products with a shared kernel
//   emd/sinkhorn_control.hpp   every decision of the loop (shared with CUDA)
//   this file                  the loop, the objective, batches, entry points
#include "emd/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "emd/buffer.hpp"
#include "emd/parallel.hpp"
#include "emd/sinkhorn_control.hpp"
#include "fast_math.hpp"
#include "sinkhorn/costs.hpp"
#include "sinkhorn/kernel_cache.hpp"
#include "sinkhorn/shared_batch.hpp"
#include "sinkhorn/vector_ops.hpp"

namespace emd {
namespace {

struct ProblemResult {
    double cost = 0, objective = 0, marginal_error = 0;
    std::int64_t n_iter = 0;
    SolveStatus status = SolveStatus::max_iter_reached;
};

// One problem's potentials and their updates: the f-update (softmin over
// rows) and the g-update (over columns), through the kernel form when the cost
// allows one and its sums stay in range, else exactly in the log domain; the
// marginal error the controller reads; the plan's cost and objective.
template <class T, class Cost>
class SinkhornUpdates {
   public:
    SinkhornUpdates(const Cost& cost, const T* a, const T* b, std::int64_t n, std::int64_t m, T* f, T* g,
                    bool parallel)
        : cost_(cost), cost_t_{cost}, a_(a), b_(b), n_(n), m_(m), f_(f), g_(g), parallel_(parallel),
          num_threads_(parallel ? max_threads() : 1), scratch_(std::size_t(std::max(1, num_threads_))),
          log_a_(n), log_b_(m), h_rows_(n), h_cols_(m), f_new_(n), g_new_(m), row_err_(n) {
        mass_a = log_weights(a, n, log_a_.data());
        mass_b = log_weights(b, m, log_b_.data());
        kernel_.n = n;
        kernel_.m = m;
        kernel_.scaled.resize(std::size_t(m));
    }

    double mass_a = 0.0, mass_b = 0.0;

    // f_new from g at eps. Returns true when the kernel also summed the next
    // g-update (for f relaxed with the same omega and clamp).
    bool update_f(double eps, double omega, double omega_floor) {
        if constexpr (Cost::kKernelMode) {
            if (kernel_update(true, eps, f_new_.data(), omega, omega_floor)) return kernel_.z_ok;
        }
        const T inv_eps = T(1.0 / eps);
        for (std::int64_t j = 0; j < m_; ++j) h_cols_[j] = g_[j] * inv_eps + log_b_[j];
        softmin(cost_, n_, h_cols_.data(), m_, eps, f_new_.data(), scratch_, parallel_);
        return false;
    }

    // The row marginal error ||P 1 - a||_1 of (f, g) and sum_i a_i |f_i| (row_marginal_error).
    double marginal_error(double eps, double& weighted_abs_f) {
        return row_marginal_error(a_, f_, f_new_.data(), n_, eps, row_err_.data(), weighted_abs_f);
    }

    // Plain Sinkhorn's linear rate from a cache-resident kernel, right after
    // the first iteration (18 products with K, ~6 iterations' time on 64 x 64)
    // instead of measured over the controller's 2 rate_probe plain iterations: on
    // the batched benchmark 34 iterations per problem instead of 59. A kernel
    // read from memory would make the estimate cost as much as the iterations
    // it saves, so larger problems return -1 (none).
    double estimate_rate(double eps) {
        if constexpr (Cost::kKernelMode) {
            if (n_ * m_ <= kEstimateEntries && std::min(n_, m_) >= kEstimateMinSide && kernel_.valid &&
                kernel_.eps == eps) {
                for (std::int64_t i = 0; i < n_; ++i) h_rows_[i] = f_new_[i] - f_[i];
                return kernel_.rate_estimate(a_, b_, f_, g_, h_rows_.data(), parallel_);
            }
        }
        return -1.0;
    }

    // Accept f_new (over-relaxed with omega and its clamp: emd::relaxed), then
    // the g-update from the new f, relaxed the same way.
    void accept(double eps, bool summed, double omega, double omega_floor) {
        if (omega == 1.0) {
            std::copy(f_new_.begin(), f_new_.end(), f_);
            update_g(eps, g_, summed, omega);
            return;
        }
        const double inv_eps = 1.0 / eps;
        relax_potential(f_, f_new_.data(), n_, omega, inv_eps, omega_floor);
        update_g(eps, g_new_.data(), summed, omega);
        relax_potential(g_, g_new_.data(), m_, omega, inv_eps, omega_floor);
    }

    // The symmetric problem (C = C^T, a = b, g = f throughout): accept the
    // averaged update f <- (f + T(f)) / 2 of the f-update's T(f) = f_new.
    // Plain Sinkhorn oscillates on it (f and T(f) straddle the fixed point);
    // the average converges in a few iterations at any eps (Feydy et al. 2019,
    // Section 3.1).
    void accept_symmetric() {
        for (std::int64_t i = 0; i < n_; ++i) {
            f_[i] = T(0.5 * (double(f_[i]) + double(f_new_[i])));
            g_[i] = f_[i];
        }
    }

    // The symmetric solve's result: (f, T(f)), whose columns are exact, so that
    // <a, f> + <b, g> is the dual value at the g-optimal potentials (its error
    // second order in f's). Its row error is at most twice the (f, f) error
    // the loop measured: with u_j = (P(f, f) 1)_j / a_j,
    // P(f, T(f))_ij = P(f, f)_ij / u_j, so ||P(f, T(f)) 1 - a||_1 <=
    // ||P(f, f) 1 - a||_1 + sum_j a_j u_j |1 / u_j - 1| = 2 ||P(f, f) 1 - a||_1.
    void settle_symmetric() { std::copy(f_new_.begin(), f_new_.end(), g_); }

    // <P, C> and <P, C> + reg KL(P || a x b) at eps = reg, with
    // KL = sum P log(P / (a b)) - sum P + sum a sum b and
    // log(P_ij / (a_i b_j)) = (f_i + g_j - C_ij) / reg; per-row partial sums
    // (from the kernel's products when it is at reg), added serially for determinism.
    void objective(double reg, double& cost_out, double& objective_out) {
        const double inv_reg = 1.0 / reg;
        const std::int64_t n = n_, m = m_;
        const T* f = f_;
        const T* g = g_;
        std::vector<double> row_cost(n), row_mass(n), row_plogp(n);
        bool summed = false;
        if constexpr (Cost::kKernelMode) {
            if (kernel_.valid && kernel_.eps == reg)
                summed = kernel_.plan_sums(cost_, a_, b_, f, g, row_cost.data(), row_mass.data(), row_plogp.data(),
                                           parallel_);
        }
#pragma omp parallel for schedule(static) if (parallel_ && !summed)
        for (std::int64_t i = 0; i < n * std::int64_t(!summed); ++i) {
            Scratch<T>& s = scratch_[std::size_t(thread_id())];
            const double fi = double(f[i]) * inv_reg, lai = double(log_a_[i]);
            double sc = 0, sm = 0, st = 0;
            for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                const std::int64_t count = std::min(kChunk, m - j0);
                const T* c = cost_.row(i, j0, count, s);
                const T* gj = g + j0;  // offset pointers: indexing g[j0 + k] made GCC emit gathers
                const T* lbj = log_b_.data() + j0;
#pragma omp simd reduction(+ : sc, sm, st)
                for (std::int64_t k = 0; k < count; ++k) {
                    const double cij = double(c[k]);
                    const double t = fi + double(gj[k]) * inv_reg - cij * inv_reg;
                    const double pij = fast_exp(t + lai + double(lbj[k]));
                    sc += pij * cij;
                    sm += pij;
                    st += pij * t;
                }
            }
            row_cost[i] = sc;
            row_mass[i] = sm;
            row_plogp[i] = st;
        }
        double sc = 0, sm = 0, st = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            sc += row_cost[i];
            sm += row_mass[i];
            st += row_plogp[i];
        }
        cost_out = sc;
        objective_out = sc + reg * (st - sm + mass_a * mass_b);
    }

   private:
    // An update through the kernel (rows: the f-update, fused with the next
    // g-update's sums; else the g-update), rebuilt when stale (eps changed,
    // drift). When even a freshly built kernel's sums leave the range (far
    // from the solution: early iterations, tiny eps), the next two updates go
    // straight to the log domain instead of paying for another build.
    bool kernel_update(bool rows, double eps, T* out, double omega, double omega_floor) {
        if (log_only_ > 0) {
            --log_only_;
            return false;
        }
        bool fresh = false;
        for (;;) {
            if (!kernel_.valid || kernel_.eps != eps) {
                kernel_.build(cost_, f_, g_, eps, scratch_, parallel_);
                fresh = true;
            }
            const bool done = rows ? kernel_.update_rows_fused(a_, b_, f_, g_, out, omega, omega_floor, parallel_,
                                                               num_threads_)
                                   : kernel_.update_cols(a_, f_, out, parallel_);
            if (done) return true;
            kernel_.valid = false;
            if (fresh) {
                log_only_ = 2;
                return false;
            }
        }
    }

    // g_out from f at eps, from the fused sums of the f-update when they were
    // taken with this omega.
    void update_g(double eps, T* g_out, bool summed, double omega) {
        if constexpr (Cost::kKernelMode) {
            if (summed && kernel_.valid && kernel_.eps == eps && kernel_.z_omega == omega) {
                kernel_.cols_from_sums(g_out);
                return;
            }
            if (kernel_update(false, eps, g_out, omega, -std::numeric_limits<double>::infinity())) return;
        }
        const T inv_eps = T(1.0 / eps);
        for (std::int64_t i = 0; i < n_; ++i) h_rows_[i] = f_[i] * inv_eps + log_a_[i];
        softmin(cost_t_, m_, h_rows_.data(), n_, eps, g_out, scratch_, parallel_);
    }

    const Cost& cost_;
    const Transposed<Cost> cost_t_;
    const T* a_;
    const T* b_;
    std::int64_t n_, m_;
    T* f_;
    T* g_;
    bool parallel_;
    int num_threads_;
    std::vector<Scratch<T>> scratch_;
    AlignedVector<T> log_a_, log_b_, h_rows_, h_cols_, f_new_, g_new_;
    AlignedVector<double> row_err_;
    KernelCache<T> kernel_;
    int log_only_ = 0;
};

// The one Sinkhorn loop: the updates compute, the controller
// (emd/sinkhorn_control.hpp) decides. f, g hold the initial potentials and
// receive the result; `scale` is the cost's scale (the first epsilon of eps_scaling).
template <class T, class Cost>
ProblemResult solve_one(const Cost& cost, const T* a, const T* b, std::int64_t n, std::int64_t m,
                        const SinkhornParams& params, double scale, T* f, T* g, bool parallel,
                        bool may_poll, Interrupt& interrupt) {
    SinkhornUpdates<T, Cost> updates(cost, a, b, n, m, f, g, parallel);
    const bool symmetric = params.symmetric;
    SinkhornParams ctl_params = params;
    // The averaged symmetric update is not over-relaxed (it already converges in a few iterations).
    if (symmetric) {
        ctl_params.overrelax = false;
        std::copy(f, f + n, g);
    }
    SinkhornControl ctl(ctl_params, scale, updates.mass_a, precision_of<T>());
    // Poll Ctrl-C about every 4M cost entries of work.
    const std::int64_t poll_every = std::max<std::int64_t>(1, (std::int64_t(1) << 22) / std::max<std::int64_t>(1, n * m));
    ProblemResult res;
    for (;;) {
        ctl.end_fixed_stage();
        const double eps = ctl.eps;
        const bool summed = updates.update_f(eps, ctl.omega, ctl.omega_floor);
        if (ctl.stage_iter > 0 && ctl.measures()) {
            double weighted_abs_f = 0.0;
            double measured = updates.marginal_error(eps, weighted_abs_f);
            // Symmetric: the bound on the error of the (f, T(f)) it returns (settle_symmetric).
            if (symmetric) measured *= 2.0;
            const auto step = ctl.decide(measured, weighted_abs_f, [&] { return updates.estimate_rate(eps); });
            if (step == SinkhornControl::Step::stop) {
                if (symmetric) updates.settle_symmetric();
                break;
            }
            if (step == SinkhornControl::Step::next_stage) continue;  // f_new dropped
        }
        if (symmetric) updates.accept_symmetric();
        else updates.accept(eps, summed, ctl.omega, ctl.omega_floor);
        ctl.next_iteration();
        if (ctl.n_iter % poll_every == 0 && interrupt.poll(may_poll)) {
            res.n_iter = ctl.n_iter;
            res.marginal_error = ctl.marginal_error;
            res.status = SolveStatus::interrupted;
            return res;
        }
    }
    res.n_iter = ctl.n_iter;
    res.marginal_error = ctl.marginal_error;
    res.status = ctl.status;
    if (params.objective) updates.objective(params.reg, res.cost, res.objective);
    else res.cost = res.objective = std::numeric_limits<double>::quiet_NaN();
    return res;
}

void check_params(const SinkhornParams& params) {
    if (!(params.reg > 0.0) || !std::isfinite(params.reg)) throw std::invalid_argument("reg must be > 0 and finite");
    if (!(params.tol > 0.0)) throw std::invalid_argument("tol must be > 0");
    if (params.max_iter < 1) throw std::invalid_argument("max_iter must be >= 1");
}

template <class T, class MakeCost>
void run_batch(const T* a, const T* b, std::int64_t num_problems, std::int64_t n, std::int64_t m,
               const SinkhornParams& params, const T* f_init, const T* g_init, const SinkhornOutput<T>& out,
               Interrupt& interrupt, std::int64_t parallel_entries, MakeCost&& make_cost) {
    check_params(params);
    auto solve = [&](std::int64_t p, bool parallel, bool may_poll) {
        T* f = out.f + p * n;
        T* g = out.g + p * m;
        for (std::int64_t i = 0; i < n; ++i) f[i] = f_init ? f_init[p * n + i] : T(0);
        for (std::int64_t j = 0; j < m; ++j) g[j] = g_init ? g_init[p * m + j] : T(0);
        double scale = 0;
        auto holder = make_cost(p, parallel, params.eps_scaling > 0.0 ? &scale : nullptr);
        const ProblemResult r =
            solve_one<T>(holder.cost, a + p * n, b + p * m, n, m, params, scale, f, g, parallel, may_poll, interrupt);
        out.cost[p] = r.cost;
        out.objective[p] = r.objective;
        out.marginal_error[p] = r.marginal_error;
        out.n_iter[p] = r.n_iter;
        out.status[p] = static_cast<std::int32_t>(r.status);
    };
    const int threads = max_threads();
    // Many problems: one per thread, each stopping on its own. Few: threads over rows.
    const bool over_batch = num_problems > 1 && threads > 1 && (num_problems >= 2 * threads || n * m <= 65536);
    if (over_batch) {
#pragma omp parallel for schedule(dynamic, 1)
        for (std::int64_t p = 0; p < num_problems; ++p) {
            if (interrupt.requested()) {
                out.status[p] = static_cast<std::int32_t>(SolveStatus::interrupted);
                continue;
            }
            solve(p, false, thread_id() == 0);
        }
    } else {
        for (std::int64_t p = 0; p < num_problems; ++p) {
            if (interrupt.requested()) {
                out.status[p] = static_cast<std::int32_t>(SolveStatus::interrupted);
                continue;
            }
            solve(p, n * m >= parallel_entries, true);
        }
    }
}

template <class T>
double max_abs(const T* c, std::int64_t count) {
    double mx = 0;
    for (std::int64_t k = 0; k < count; ++k) mx = std::max(mx, std::fabs(double(c[k])));
    return mx;
}

template <class T>
struct DenseHolder {
    std::unique_ptr<LazyTranspose<T>> own_ct;
    DenseCost<T> cost;
};

template <class T>
struct SampleHolder {
    SampleCost<T> cost;
};

// An upper bound on the cost over all pairs: the metric across the bounding
// box of both clouds (every metric here is monotone in |x_k - y_k|), to the power.
template <class T>
double sample_cost_scale(const T* x, const T* y, std::int64_t n, std::int64_t m, std::int64_t d, Metric metric,
                         double power, double q) {
    std::vector<double> lo(d, std::numeric_limits<double>::infinity()), hi(d, -std::numeric_limits<double>::infinity());
    auto extend = [&](const T* pts, std::int64_t count) {
        for (std::int64_t i = 0; i < count; ++i)
            for (std::int64_t k = 0; k < d; ++k) {
                lo[k] = std::min(lo[k], double(pts[i * d + k]));
                hi[k] = std::max(hi[k], double(pts[i * d + k]));
            }
    };
    extend(x, n);
    extend(y, m);
    return std::pow(metric_distance(metric, lo.data(), hi.data(), d, q), power);
}

template <class T, class Cost>
void plan_rows(const T* a, const T* b, std::int64_t n, std::int64_t m, const T* f, const T* g, double reg,
               T* plan, const Cost& cost) {
    const double inv_reg = 1.0 / reg;
#pragma omp parallel
    {
        Scratch<T> s;
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) {
            const double base = double(f[i]) * inv_reg + std::log(double(a[i]));
            for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                const std::int64_t count = std::min(kChunk, m - j0);
                const T* c = cost.row(i, j0, count, s);
                for (std::int64_t k = 0; k < count; ++k) {
                    const double t = base + double(g[j0 + k]) * inv_reg - double(c[k]) * inv_reg +
                                     std::log(double(b[j0 + k]));
                    plan[i * m + j0 + k] = T(fast_exp(t));
                }
            }
        }
    }
}

}  // namespace

template <class T>
void sinkhorn_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                    std::int64_t m, bool shared_cost, const SinkhornParams& params, const T* f_init,
                    const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt) {
    if (params.symmetric) throw std::invalid_argument("symmetric solves are for sinkhorn_samples only");
    check_params(params);
    // Many small problems on one cost, in range: the batched products (shared_batch.hpp).
    double c_min = 0.0;
    const bool scaling = params.eps_scaling > 0.0 && params.eps_scaling < 1.0;
    if (shared_cost && num_problems > 1 && !scaling && shared_batch_fits(cost, n, m, params.reg, c_min)) {
        solve_shared_batch<T>(a, b, cost, num_problems, n, m, c_min, params, f_init, g_init, out, interrupt);
        return;
    }
    LazyTranspose<T> shared_ct(cost, n, m);
    double shared_scale = 0;
    if (shared_cost && params.eps_scaling > 0.0) shared_scale = max_abs(cost, n * m);
    // A batch on one cost, every problem starting from zero potentials: the
    // first kernel, exp(-C / eps) at the first epsilon, is the same for all.
    KernelCache<T> first;
    const T* k_zero = nullptr;
    double k_zero_eps = 0.0;
    if (shared_cost && num_problems > 1 && !f_init && !g_init && params.reg > 0.0 && std::isfinite(params.reg)) {
        k_zero_eps = params.eps_scaling > 0.0 && shared_scale > params.reg ? shared_scale : params.reg;
        first.n = n;
        first.m = m;
        first.scaled.resize(std::size_t(m));
        std::vector<Scratch<T>> scratch(std::size_t(std::max(1, max_threads())));
        const std::vector<T> zf(std::size_t(n), T(0)), zg(std::size_t(m), T(0));
        first.build(DenseCost<T>{cost, &shared_ct, n, m}, zf.data(), zg.data(), k_zero_eps, scratch,
                    n * m >= DenseCost<T>::kParallelEntries);
        k_zero = first.k.data();
    }
    run_batch<T>(a, b, num_problems, n, m, params, f_init, g_init, out, interrupt, DenseCost<T>::kParallelEntries,
                 [&](std::int64_t p, bool, double* scale) {
                     DenseHolder<T> h;
                     const T* c = shared_cost ? cost : cost + p * n * m;
                     LazyTranspose<T>* ct = &shared_ct;
                     if (!shared_cost) {
                         h.own_ct = std::make_unique<LazyTranspose<T>>(c, n, m);
                         ct = h.own_ct.get();
                     }
                     if (scale) *scale = shared_cost ? shared_scale : max_abs(c, n * m);
                     h.cost = DenseCost<T>{c, ct, n, m, k_zero, k_zero_eps};
                     return h;
                 });
}

template <class T>
void sinkhorn_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                      std::int64_t d, Metric metric, double power, double q, const SinkhornParams& params,
                      const T* f_init, const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt) {
    if (params.symmetric && n != m) throw std::invalid_argument("a symmetric solve needs n == m (y = x, b = a)");
    std::vector<T> xt(std::size_t(n * d)), yt(std::size_t(m * d));
    transpose(x, n, d, xt.data(), false);
    transpose(y, m, d, yt.data(), false);
    run_batch<T>(a, b, 1, n, m, params, f_init, g_init, out, interrupt, SampleCost<T>::kParallelEntries,
                 [&](std::int64_t, bool, double* scale) {
                     if (scale) *scale = sample_cost_scale(x, y, n, m, d, metric, power, q);
                     return SampleHolder<T>{SampleCost<T>{x, y, xt.data(), yt.data(), n, m, d, metric, power, q}};
                 });
}

template <class T>
void sinkhorn_plan_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                         std::int64_t m, bool shared_cost, const T* f, const T* g, double reg, T* plan) {
    for (std::int64_t p = 0; p < num_problems; ++p) {
        const DenseCost<T> c{shared_cost ? cost : cost + p * n * m, nullptr, n, m};
        plan_rows<T>(a + p * n, b + p * m, n, m, f + p * n, g + p * m, reg, plan + p * n * m, c);
    }
}

template <class T>
void sinkhorn_plan_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                           std::int64_t d, Metric metric, double power, double q, const T* f, const T* g,
                           double reg, T* plan) {
    std::vector<T> xt(std::size_t(n * d)), yt(std::size_t(m * d));
    transpose(x, n, d, xt.data(), false);
    transpose(y, m, d, yt.data(), false);
    const SampleCost<T> c{x, y, xt.data(), yt.data(), n, m, d, metric, power, q};
    plan_rows<T>(a, b, n, m, f, g, reg, plan, c);
}

template <class T>
void sinkhorn_gradient_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                               std::int64_t d, Metric metric, double power, const T* f, const T* g, double reg,
                               T* grad) {
    if (metric != Metric::sqeuclidean && metric != Metric::euclidean)
        throw std::invalid_argument("the matrix-free Sinkhorn gradient takes the sqeuclidean and euclidean metrics");
    if (!(reg > 0.0) || !(power > 0.0)) throw std::invalid_argument("reg and power must be > 0");
    // C = s^k for s = |x - y|^2, so grad_x C = 2 k s^(k - 1) (x - y).
    const double k = metric == Metric::sqeuclidean ? power : 0.5 * power;
    const double inv_reg = 1.0 / reg;
    std::vector<T> yt(std::size_t(m * d));
    transpose(y, m, d, yt.data(), false);
    // h_j = g_j / reg + log b_j (-inf for a zero weight: exp gives 0).
    AlignedVector<double> h(m);
    for (std::int64_t j = 0; j < m; ++j) h[j] = double(g[j]) * inv_reg + std::log(double(b[j]));
    const bool parallel = n * m >= SampleCost<T>::kParallelEntries;
#pragma omp parallel if (parallel)
    {
        std::vector<double> s(static_cast<std::size_t>(kChunk)), w(static_cast<std::size_t>(kChunk)),
            acc(static_cast<std::size_t>(d));
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) {
            std::fill(acc.begin(), acc.end(), 0.0);
            if (a[i] > T(0)) {
                const double base = double(f[i]) * inv_reg + std::log(double(a[i]));
                for (std::int64_t j0 = 0; j0 < m; j0 += kChunk) {
                    const std::int64_t count = std::min(kChunk, m - j0);
                    metric_distance_block(Metric::sqeuclidean, x + i * d, yt.data() + j0, m, count, d, 0.0, s.data());
                    const double* hj = h.data() + j0;
                    double* wj = w.data();
                    const double* sj = s.data();
                    if (k == 1.0) {
                        // P_ij in the solver's precision (the exp of T), times 2.
#pragma omp simd
                        for (std::int64_t l = 0; l < count; ++l)
                            wj[l] = 2.0 * double(fast_exp(T(base + hj[l] - sj[l] * inv_reg)));
                    } else {
                        for (std::int64_t l = 0; l < count; ++l) {
                            const double c = std::pow(sj[l], k);
                            const double p = double(fast_exp(T(base + hj[l] - c * inv_reg)));
                            // s = 0: the derivative 2 k s^(k - 1) is 0 (k > 1) or infinite (k < 1, a
                            // cone's tip: the zero subgradient), and x - y = 0 there in any case.
                            wj[l] = sj[l] > 0.0 ? 2.0 * k * std::pow(sj[l], k - 1.0) * p : 0.0;
                        }
                    }
                    for (std::int64_t dim = 0; dim < d; ++dim) {
                        const double xc = double(x[i * d + dim]);
                        const T* yc = yt.data() + dim * m + j0;
                        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
                        for (std::int64_t l = 0; l < count; ++l) sum += wj[l] * (xc - double(yc[l]));
                        acc[std::size_t(dim)] += sum;
                    }
                }
            }
            for (std::int64_t dim = 0; dim < d; ++dim) grad[i * d + dim] = T(acc[std::size_t(dim)]);
        }
    }
}

#define EMD_INSTANTIATE_SINKHORN(T)                                                                              \
    template void sinkhorn_dense<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, bool, \
                                    const SinkhornParams&, const T*, const T*, const SinkhornOutput<T>&,         \
                                    Interrupt&);                                                                 \
    template void sinkhorn_samples<T>(const T*, const T*, const T*, const T*, std::int64_t, std::int64_t,        \
                                      std::int64_t, Metric, double, double, const SinkhornParams&, const T*,    \
                                      const T*, const SinkhornOutput<T>&, Interrupt&);                           \
    template void sinkhorn_plan_dense<T>(const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, \
                                         bool, const T*, const T*, double, T*);                                  \
    template void sinkhorn_plan_samples<T>(const T*, const T*, const T*, const T*, std::int64_t, std::int64_t,   \
                                           std::int64_t, Metric, double, double, const T*, const T*, double, T*); \
    template void sinkhorn_gradient_samples<T>(const T*, const T*, const T*, const T*, std::int64_t, std::int64_t, \
                                               std::int64_t, Metric, double, const T*, const T*, double, T*);

EMD_INSTANTIATE_SINKHORN(float)
EMD_INSTANTIATE_SINKHORN(double)

}  // namespace emd
