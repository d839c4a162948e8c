// The Sinkhorn controller: every decision of the Sinkhorn loop, written once
// and compiled for the CPU (csrc/cpu/sinkhorn.cpp) and the GPU
// (csrc/cuda/sinkhorn.cu, in its control kernel and in every thread of the
// batched kernel). The kernels compute; the controller decides:
//
//   * the epsilon ladder: scale, scale s, scale s^2, ... while above reg
//     (at most kMaxScaledStages of them), then reg itself;
//   * the stopping rule: after each f-update the kernel measures the row
//     marginal error ||P 1 - a||_1 of (f, g) and sum_i a_i |f_i|; a stage
//     ends when the error is below its tolerance (tol on the last stage,
//     max(tol, 1e-2 * mass_a) before: they only warm-start the next), or,
//     with stage_iters > 0, an intermediate stage ends after exactly that many
//     iterations, unmeasured (end_fixed_stage; loops that never call it keep
//     the loose tolerance, the same fixed point either way);
//   * the iteration budget: max_iter counts the iterations of all stages,
//     one kept for the last (the result must belong to eps = reg);
//   * over-relaxation f <- f + omega (softmin - f), omega from the rate of
//     plain Sinkhorn (Thibault et al. 2017), with its ascent safeguard
//     (relaxed, relax_floor), back to plain updates on divergence, and the
//     stall rule at the potentials' rounding floor;
//   * resolution_limit: the error is down to what the potentials' precision
//     can resolve while still above tol;
//   * the status.
//
// One iteration of a loop that uses it:
//
//     SinkhornControl ctl(params, scale, mass_a, precision);
//     for (;;) {
//         f_new = softmin of g at ctl.eps                    (the kernel)
//         if (ctl.stage_iter > 0) {
//             measure the error and sum a |f|                 (the kernel)
//             step = ctl.decide(error, weighted_abs_f)
//             if (step == stop) break;
//             if (step == next_stage) continue;               (f_new discarded)
//         }
//         f = relaxed(f, f_new) with ctl.omega, ctl.omega_floor; the same for g
//         ctl.next_iteration();
//     }
#pragma once
#include <cmath>
#include <cstdint>

#include "emd/host_device.hpp"
#include "emd/status.hpp"

namespace emd {

struct SinkhornParams {
    double reg = 1.0;              // the final epsilon (absolute, in cost units)
    double tol = 1e-9;             // stop when ||P 1 - a||_1 < tol after a g-update
    std::int64_t max_iter = 10000; // total iterations (f- then g-update), all stages
    double eps_scaling = 0.0;      // 0: off; in (0, 1): geometric annealing factor
    // Over-relaxed updates f <- f + omega (softmin - f), omega in [1, 2) set from
    // the convergence rate (estimated from a small kernel's spectrum, else
    // observed): same fixed point, far fewer iterations at small eps.
    bool overrelax = true;
    // 0: intermediate epsilon stages run to the loose tolerance above. k > 0:
    // each runs exactly k plain iterations and the tolerance is checked only
    // at eps = reg (an annealing schedule in the manner of GeomLoss: far from
    // reg the stage only warm-starts the next, and measuring its error costs
    // as much as iterating). Loops that do not call end_fixed_stage ignore it.
    std::int64_t stage_iters = 0;
    // The problem is symmetric (C = C^T, a = b: the self terms OT(a, a) of a
    // Sinkhorn divergence). The CPU matrix-free loop then runs the averaged
    // update f <- (f + T(f)) / 2 on one potential (Feydy et al. 2019), one
    // softmin per iteration; other loops ignore it and solve the same problem
    // by alternating updates.
    bool symmetric = false;
    // Plain iterations per half of the rate probe: kappa is measured as
    // (err(2k) / err(k))^(1/k) over the stage's first 2k iterations. Right
    // after a fixed-length annealing schedule the error decays at the linear
    // rate from the first iterations on, and a short probe starts the
    // over-relaxation sooner (set by python/emd for the matrix-free solves).
    std::int64_t rate_probe = 10;
    // Compute <P, C> and the objective at the end (one more pass over the
    // pairs, with a float64 exp); false leaves them NaN (a divergence reads
    // only the potentials).
    bool objective = true;
};

namespace control_detail {
// std::min / std::max's exact semantics (NaN handling included), on both sides.
EMD_HOST_DEVICE inline double dmin(double a, double b) { return b < a ? b : a; }
EMD_HOST_DEVICE inline double dmax(double a, double b) { return a < b ? b : a; }
}  // namespace control_detail

// The over-relaxed update h + omega (h_new - h) of one potential, or the plain
// h_new where over-relaxing would lower the dual objective
//     D(f, g) = <a, f> + <b, g> - eps sum_ij a_i b_j (exp((f_i + g_j - C_ij) / eps) - 1).
// For fixed g, D depends on f_i through a_i eps psi(t_i), psi(t) = t - exp(t),
// t_i = (f_i - fn_i) / eps with fn the softmin (the plain update, the
// maximizer); the relaxed f_i has t = (1 - omega) t_i. That never lowers D
// when t_i >= 0, nor when -t_i = u <= u*(omega) (the positive root of
// exp((omega - 1) u) - exp(-u) = omega u), but it overshoots exponentially
// beyond: a row that holds far too little mass would be given far too much.
// Clamping those rows keeps every step an ascent step, so the relaxed
// iteration cannot cycle far from the solution (it did, at small reg, on a
// few problems per thousand); near the solution (|t| < u*) nothing changes.
// The same holds for g with f fixed. `floor` = -u*(omega) (relax_floor).
// Branch-free in effect (a select between 1 and omega), so loops over it vectorize.
EMD_HOST_DEVICE inline double relaxed(double h, double h_new, double omega, double inv_eps, double floor) {
    const double t = (h - h_new) * inv_eps;
    return h + (t < floor ? 1.0 : omega) * (h_new - h);
}

// -u*(omega) of `relaxed`, by bisection (once per choice of omega).
EMD_HOST_DEVICE inline double relax_floor(double omega) {
    const double s = omega - 1.0;
    if (!(s > 0.0)) return -INFINITY;
    double lo = 0.0, hi = 1.0;
    // excess(u) = exp(s u) - exp(-u) - omega u is < 0 on (0, u*)
    while (exp(s * hi) - exp(-hi) - omega * hi < 0.0 && hi < 1e3) hi *= 2.0;
    for (int it = 0; it < 60; ++it) {
        const double mid = 0.5 * (lo + hi);
        if (exp(s * mid) - exp(-mid) - omega * mid < 0.0) lo = mid;
        else hi = mid;
    }
    return -lo;
}

// The machine epsilon of the potentials' type (std::numeric_limits<T>::epsilon(),
// which device code cannot call): the controller's `precision`.
template <class T>
EMD_HOST_DEVICE constexpr double precision_of() {
    return sizeof(T) == 4 ? 0x1p-23 : 0x1p-52;
}

// No rate estimate at hand: the controller measures the rate over a probe.
struct NoRateEstimate {
    EMD_HOST_DEVICE double operator()() const { return -1.0; }
};

struct SinkhornControl {
    // At most this many scaled epsilons before reg (the ladder's length bound).
    static constexpr int kMaxScaledStages = 200;
    // Iterations without a new low of the error that end over-relaxation at
    // the rounding floor.
    static constexpr std::int64_t kStall = 50;

    enum class Step : int {
        update,      // accept f_new (relaxed with omega), then update g
        next_stage,  // the stage ended: drop f_new, the next f-update runs at the new eps
        stop,        // the loop is done: drop f_new; status and marginal_error are final
    };

    SinkhornParams params;
    double mass_a = 1.0;     // sum of a (the loose tolerance of intermediate stages, the resolution)
    double precision = 0.0;  // machine epsilon of the potentials' type
    // The ladder.
    double eps = 0.0;
    int stage = 0;  // scaled stages entered so far (0 on the first)
    bool last = true;
    double stage_tol = 0.0;
    // Iterations: of this stage, of all.
    std::int64_t stage_iter = 0, n_iter = 0;
    // Over-relaxation (reset at every stage): omega = 1 is plain Sinkhorn.
    double omega = 1.0, omega_floor = -INFINITY, err_probe = 0.0, err_ref = 0.0, err_best = 0.0;
    std::int64_t probe_start = 0, best_iter = 0;
    bool plain_only = false;  // the stall rule fired: plain updates to the end of the stage
    bool g_relaxed = false;   // the last g-update was relaxed: no stop before a plain one
    // Outcome.
    double marginal_error = 0.0;
    SolveStatus status = SolveStatus::max_iter_reached;
    bool done = false;

    SinkhornControl() = default;

    // `scale`: the first epsilon of eps_scaling (an upper bound of the cost);
    // `precision`: the machine epsilon of the potentials (float or double).
    EMD_HOST_DEVICE SinkhornControl(const SinkhornParams& p, double scale, double mass_a_, double precision_)
        : params(p), mass_a(mass_a_), precision(precision_) {
        const bool scaling = p.eps_scaling > 0.0 && p.eps_scaling < 1.0;
        // With max_iter = 1 the one iteration belongs to the last stage (eps = reg).
        if (scaling && scale > p.reg && n_iter + 1 < p.max_iter) enter_stage(scale, false);
        else enter_stage(p.reg, true);
    }

    // After an f-update of this stage's second or later iteration: `measured`
    // = ||P 1 - a||_1 of (f, g), `weighted_abs_f` = sum_i a_i |f_i|.
    // `estimate_rate()` may return plain Sinkhorn's linear rate kappa in
    // (0, 1) (CPU: from a small cached kernel's spectrum), or <= 0 for none;
    // it is called at most once per stage, on its first measured iteration.
    template <class RateEstimate>
    EMD_HOST_DEVICE Step decide(double measured, double weighted_abs_f, RateEstimate&& estimate_rate) {
        // The error measured from (f, f_new) cannot resolve less than
        // precision * sum_i a_i (|f_i| / eps + 1): one rounding of f_new_i (its
        // ulp over eps) and of the row sum it comes from. Below that a
        // measured 0 says nothing (float32 at reg 0.1: 0.0 measured, 7e-8
        // true), so the reported error is at least this bound, and tol below
        // it cannot be certified.
        const double floor_err = precision * (weighted_abs_f / eps + mass_a);
        const double err = control_detail::dmax(measured, floor_err);
        marginal_error = err;
        if (err < stage_tol && !g_relaxed) {
            if (last) status = SolveStatus::converged;
            return end_stage();
        }
        // Within the resolution and still above tol: nothing left to gain.
        if (last && measured <= floor_err && !g_relaxed) {
            status = SolveStatus::resolution_limit;
            return end_stage();
        }
        // The last stage always gets at least one iteration, so the result
        // belongs to eps = reg; the others stop one short of the budget to
        // leave it that iteration.
        if (n_iter + (last ? 0 : 1) >= params.max_iter && !g_relaxed) return end_stage();
        if (err < stage_tol || n_iter + (last ? 1 : 2) >= params.max_iter) {
            omega = 1.0;  // end on a plain g-update: the columns are then exact
        } else if (params.overrelax && !plain_only) {
            adapt_omega(err, weighted_abs_f, estimate_rate);
        }
        return Step::update;
    }

    EMD_HOST_DEVICE Step decide(double measured, double weighted_abs_f) {
        return decide(measured, weighted_abs_f, NoRateEstimate{});
    }

    // Whether this stage's iterations are measured and go through `decide`:
    // always on the last stage; never on a fixed-length intermediate one.
    EMD_HOST_DEVICE bool measures() const { return last || params.stage_iters <= 0; }

    // Before an f-update: a fixed-length intermediate stage (stage_iters > 0)
    // that has run its iterations, or that finds the budget down to the last
    // stage's one iteration, moves on to the next epsilon. True when it did.
    EMD_HOST_DEVICE bool end_fixed_stage() {
        if (last || params.stage_iters <= 0) return false;
        if (stage_iter < params.stage_iters && n_iter + 1 < params.max_iter) return false;
        end_stage();
        return true;
    }

    // After the g-update of an accepted step.
    EMD_HOST_DEVICE void next_iteration() {
        g_relaxed = omega != 1.0;
        ++stage_iter;
        ++n_iter;
    }

   private:
    EMD_HOST_DEVICE void enter_stage(double e, bool is_last) {
        eps = e;
        last = is_last;
        // Intermediate stages only need a warm start for the next one.
        stage_tol = last ? params.tol : control_detail::dmax(params.tol, 1e-2 * mass_a);
        stage_iter = 0;
        omega = 1.0;
        omega_floor = -INFINITY;
        err_probe = err_ref = err_best = 0.0;
        probe_start = best_iter = 0;
        plain_only = false;
        g_relaxed = false;
    }

    // The current stage is over: the next one, or the end.
    EMD_HOST_DEVICE Step end_stage() {
        if (last) {
            done = true;
            return Step::stop;
        }
        const double e = eps * params.eps_scaling;
        ++stage;
        // Stages that find the budget down to the last stage's iteration are skipped.
        if (!(e > params.reg) || stage >= kMaxScaledStages || n_iter + 1 >= params.max_iter) enter_stage(params.reg, true);
        else enter_stage(e, false);
        return Step::next_stage;
    }

    EMD_HOST_DEVICE void set_omega(double w) {
        omega = w;
        omega_floor = relax_floor(w);
    }

    // Estimate the linear rate kappa of plain Sinkhorn (from the caller's
    // estimate, else over params.rate_probe iterations), then take the SOR factor
    // 2 / (1 + sqrt(1 - kappa)) (Thibault et al. 2017). The marginal error of
    // over-relaxed iterations oscillates, so only a hundredfold growth counts
    // as divergence (back to plain Sinkhorn and probe again). Far from the
    // solution `relaxed` keeps every step an ascent step; at the rounding
    // floor of float32 potentials the relaxed steps still cycle (at reg =
    // 1e-4 of the cost, 38 of 60 small problems ran to max_iter): kStall
    // iterations without a new low there end the over-relaxation for the
    // stage, and plain steps settle the last bits.
    template <class RateEstimate>
    EMD_HOST_DEVICE void adapt_omega(double err, double weighted_abs_f, RateEstimate& estimate_rate) {
        using control_detail::dmax;
        using control_detail::dmin;
        if (omega == 1.0 && stage_iter == 1 && probe_start == 0) {
            const double kappa = estimate_rate();
            if (kappa > 0.0) {
                set_omega(dmin(1.9, 2.0 / (1.0 + sqrt(1.0 - kappa))));
                err_ref = err_best = err;
                best_iter = stage_iter;
            }
        }
        if (omega == 1.0) {
            const std::int64_t probe = params.rate_probe;
            if (stage_iter == probe_start + probe) err_probe = err;
            if (stage_iter == probe_start + 2 * probe && err < err_probe && err_probe > 0) {
                const double kappa = pow(err / err_probe, 1.0 / double(probe));
                set_omega(dmin(1.9, 2.0 / (1.0 + sqrt(dmax(0.0, 1.0 - kappa)))));
                err_ref = err_best = err;
                best_iter = stage_iter;
            }
        } else if (best_iter != stage_iter) {
            if (err < 0.999 * err_best) {
                err_best = err;
                best_iter = stage_iter;
            }
            if (!(err < 100.0 * err_ref)) {
                omega = 1.0;
                probe_start = stage_iter;
            } else if (stage_iter - best_iter >= kStall && at_rounding_floor(err_best, weighted_abs_f)) {
                omega = 1.0;
                plain_only = true;
            }
        }
    }

    // Whether the marginal error is down to what the potentials' precision can
    // resolve: (P 1)_i / a_i = exp((f_i - f_new_i) / eps) moves in steps of
    // ulp(f_i) / eps, so errors below ~sum_i a_i ulp(f_i) / eps are noise
    // (float32 at small reg: ulp(f) / eps ~ 6e-4). Over-relaxed steps there only
    // toggle roundings and the error stops falling; plain steps settle the last bits.
    EMD_HOST_DEVICE bool at_rounding_floor(double err_low, double weighted_abs_f) const {
        return err_low < 16.0 * precision * weighted_abs_f / eps;
    }
};

}  // namespace emd
