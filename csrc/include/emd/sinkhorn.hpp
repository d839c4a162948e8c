// Entropic optimal transport by Sinkhorn's algorithm, in the log domain.
//
// For weights a (n), b (m) of equal mass and a cost C (n x m), with eps = reg,
//
//     min_P <P, C> + eps KL(P || a x b)   over   P 1 = a, P^T 1 = b, P >= 0,
//
// whose solution is P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps) for the dual
// potentials f, g, the fixed point of the two softmin updates
//
//     f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps)
//     g_j = -eps log sum_i a_i exp((f_i - C_ij) / eps).
//
// Every update is a log-sum-exp over a row (or column) of C, taken in chunks
// (max first, then the sum of exp(. - max), two passes over a cache-resident
// buffer), so nothing overflows or underflows whatever eps is; zero weights
// enter as log 0 = -inf and drop out, while their own potentials stay finite.
//
// One loop serves every cost: it only asks the cost for chunks of a row or of
// a column. DenseCost reads them from the matrix (and its transpose, built
// on first use, so both updates stream memory contiguously); SampleCost recomputes
// them from two point clouds through metrics.hpp, which never forms the n x m
// matrix (memory O((n + m) d)). For dense costs the loop also keeps the kernel
// K_ij = exp((fh_i + gh_j - C_ij) / eps) around reference potentials, which
// turns most updates into matrix-vector products (the log-stabilized scaling
// algorithm); any update whose sums leave the safe range is redone exactly in
// the log domain, so the results and the stability are the log domain's.
// The kernel form reads K once per iteration (the f-update's row products
// also accumulate the next g-update's column sums). Memory of a dense solve:
// K, plus C's transpose only if a log-domain column update is ever needed.
//
// The updates are over-relaxed (omega from the rate of plain Sinkhorn, see SinkhornParams).
// Every decision of the loop (epsilon ladder, stopping, budget, over-relaxation,
// status) is SinkhornControl's (emd/sinkhorn_control.hpp), shared with the CUDA kernels.
//
// References: M. Cuturi, "Sinkhorn distances", NeurIPS 2013; B. Schmitzer,
// "Stabilized sparse scaling algorithms for entropy regularized transport
// problems", SIAM J. Sci. Comput. 41(3), 2019 (log domain, epsilon scaling);
// J. Feydy et al., "Interpolating between optimal transport and MMD using
// Sinkhorn divergences", AISTATS 2019 (the matrix-free softmin).
#pragma once
#include <cstdint>

#include "emd/interrupt.hpp"
#include "emd/metrics.hpp"
#include "emd/sinkhorn_control.hpp"
#include "emd/status.hpp"

namespace emd {

// Per-problem outputs, each an array of num_problems entries (f, g: rows of n, m).
template <class T>
struct SinkhornOutput {
    T* f;
    T* g;
    double* cost;            // <P, C>
    double* objective;       // <P, C> + eps KL(P || a x b)
    double* marginal_error;  // ||P 1 - a||_1 of the returned (f, g)
    std::int64_t* n_iter;
    std::int32_t* status;    // SolveStatus: converged, max_iter_reached, interrupted, resolution_limit
};

// A batch of dense problems: a (B, n), b (B, m), C (n, m) shared by all when
// shared_cost, else (B, n, m). f_init, g_init (B, n), (B, m) or nullptr (zeros).
template <class T>
void sinkhorn_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                    std::int64_t m, bool shared_cost, const SinkhornParams& params, const T* f_init,
                    const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt);

// One problem between point clouds x (n, d) and y (m, d) with weights a (n),
// b (m); the cost is C_ij = metric(x_i, y_j) ** power, computed on the fly.
template <class T>
void sinkhorn_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                      std::int64_t d, Metric metric, double power, double q, const SinkhornParams& params,
                      const T* f_init, const T* g_init, const SinkhornOutput<T>& out, Interrupt& interrupt);

// The plan P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg) of given potentials, (B, n, m).
template <class T>
void sinkhorn_plan_dense(const T* a, const T* b, const T* cost, std::int64_t num_problems, std::int64_t n,
                         std::int64_t m, bool shared_cost, const T* f, const T* g, double reg, T* plan);

template <class T>
void sinkhorn_plan_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                           std::int64_t d, Metric metric, double power, double q, const T* f, const T* g,
                           double reg, T* plan);

// The envelope gradient of OT_eps between clouds in x: grad (n, d) with
// grad_i = sum_j P_ij grad_x c(x_i, y_j) for the plan
// P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg), matrix-free (one pass over the
// pairs, the cost of one Sinkhorn update; memory O((n + m) d)). For the
// metrics whose cost is a power of |x - y|^2: sqeuclidean and euclidean (any
// power > 0); the zero subgradient at coincident points where the power's
// derivative is infinite (euclidean, power < 2). The gradient in y is this
// function of the transposed problem (y, x, b, a, g, f).
template <class T>
void sinkhorn_gradient_samples(const T* x, const T* y, const T* a, const T* b, std::int64_t n, std::int64_t m,
                               std::int64_t d, Metric metric, double power, const T* f, const T* g, double reg,
                               T* grad);

}  // namespace emd
