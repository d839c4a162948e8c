// Exact discrete optimal transport (the Earth Mover's Distance) by the
// primal network simplex on the complete bipartite graph.
//
//     min_{P >= 0} <P, M>   subject to   P 1 = a,  P^T 1 = b
//
// Why this algorithm: it is exact (a basic optimal solution, so at most
// n + m - 1 nonzero plan entries), its final spanning tree is a proof of
// optimality (the potentials it induces are dual feasible), and it is the
// fastest exact method on dense transport problems of this size
// (Kovacs, "Minimum-cost flow algorithms: an experimental evaluation",
// Optimization Methods and Software 30(1), 2015; Schrieber, Schuhmacher and
// Gottschlich, "DOTmark - a benchmark for discrete optimal transport",
// IEEE Access 5, 2017). The tree bookkeeping (parent, thread, successor
// counts) follows LEMON's implementation, used in OT through Bonneel, van de
// Panne, Paris and Heidrich, "Displacement interpolation using Lagrangian
// mass transport", SIGGRAPH Asia 2011 (the solver behind POT's ot.emd).
//
// What differs from that solver, and why it is faster and leaner:
//  * A shortlist phase on large problems (n m >= 2^19; Gottschlich and
//    Schuhmacher, "The shortlist method for fast computation of the Earth
//    Mover's Distance and finding optimal solutions to transportation
//    problems", PLoS ONE 9(10), 2014). Chosen from measurement: on point
//    clouds of 2000 points, streaming all of M for block-search pricing was
//    40-60% of the solve, and the row-minimum start sits ~8x above the
//    optimum. Each source keeps its 16 cheapest arcs (more for heavy sources,
//    plus the cheapest sources of heavy sinks); the initial basis is a
//    greedy on those arcs, cheapest first; pivots price only them (a few
//    hundred kB, cache resident). When none prices negative, one exact
//    pass over all of M adds each source's most violated arcs, and the
//    pivots resume from the same tree; a pass that finds nothing proves
//    optimality on all of M (the same test as the dense pricing). Should
//    the passes keep finding violations at most sources (costs without
//    geometry), the dense pricing below takes over from the current tree.
//    Measured on the benchmark's point clouds (n = m = 2000 and 4000, d = 2
//    and 32, uniform and Dirichlet weights): 1.2-2.2x fewer pivots and
//    1.6-5.7x less CPU time than the dense solver (benchmarks/RESULTS.md, "Exact discrete EMD: the speed work");
//    below 2^19 arcs the dense pricing is already cheap and the set-up does
//    not pay. Costs without such geometry (|x - y| on a line with Dirichlet
//    weights) hand over to the dense pricing and lose 1.4-2.4x.
//  * A guided shortlist between measures that lie apart (a translated cloud:
//    then a source's cheapest arcs hold 2-4% of the optimal support). Detected
//    on a stride-2 sample (over 10% of its demand at sinks in no sampled
//    source's list); the sample is solved exactly (recursively, the same
//    method), its potentials extended to all sinks by the c-transform, and
//    the list, the greedy start and the row rule go by estimated reduced cost
//    (network_simplex/sampled_duals.hpp; Mérigot 2011, Schmitzer 2016 for the
//    multiscale idea). Issue 17's clouds, n = m = 1000 / 2000: 2.7x / 3.2x
//    fewer pivots. Overlapping measures keep the plain list.
//  * Implicit arcs. Arc (i, j) has id i * m + j and its cost is read straight
//    from M; nonbasic arcs carry no flow (no capacities), so no per-arc state,
//    flow, source or target arrays exist. Memory is O(n + m) beyond M, and
//    pricing streams one contiguous row of M against the sink potentials.
//    Its memory: 16 bytes per listed arc, at most about 200 (n + m) arcs
//    (64 per source, 48 per heavy sink, 16 rounds of 8 per source): under
//    26 MB at n = m = 4000, ~6 MB measured.
//  * Screening (dense pricing only, problems of 2^18 to 2^19 arcs) on a
//    float32 copy of a large float64 M (4 bytes per arc, where
//    LEMON keeps about 25): pricing is memory-bound, and the copy halves the
//    traffic; its rounding is covered by a wider tolerance, and once it finds
//    nothing the exact M takes over, so optimality is proved on exact costs.
//  * Block-search pricing (Grigoriadis 1986), vectorized, and shared by two
//    threads on large single solves (same pivots as the serial search, so
//    the same result).
//  * Small problems (up to 2^16 arcs, e.g. the 64 x 64 problems of a batch):
//    the scaled reduced cost is split into a fixed copy c + tol |c| and a
//    per-sink tol |pi_j| - pi_j kept in step with the potentials, so pricing
//    is one add per arc; whole rows are reduced lane by lane, and blocks are
//    ~1024 arcs instead of sqrt(n m): 208 pivots instead of 331 on 64 x 64
//    Dirichlet problems, ~1.1x less time (benchmarks/RESULTS.md, "Issue 19,
//    batched small exact problems").
//  * A cost-aware initial basis (without a shortlist, and to finish the
//    shortlist's greedy): the row-minimum greedy rule builds a
//    feasible forest whose arcs all carry positive flow; every component
//    hangs from the artificial root through a zero-cost, zero-flow arc
//    pointing to the root, so the first tree is strongly feasible without
//    big-M artificial arcs (which cost precision).
//  * Cycling prevention: strongly feasible trees with Cunningham's leaving
//    arc rule (the last blocking arc met from the apex along the cycle's
//    orientation); Cunningham, "A network simplex method", Math.
//    Programming 11, 1976.
//  * Potentials in double for either cost type, recomputed exactly from the
//    tree periodically and before optimality is declared, so round-off from
//    incremental updates never decides optimality.
#pragma once
#include <cstdint>

#include "emd/interrupt.hpp"
#include "emd/status.hpp"

namespace emd {

struct NetworkSimplexParams {
    std::int64_t max_iter = -1;  // pivots; < 0 means no cap (runs to optimality)
};

// One problem's output. Caller-provided buffers:
//   potential_a (n,), potential_b (m,);
//   plan_rows, plan_cols, plan_values (n + m - 1,) (the basic solution).
template <class T>
struct NetworkSimplexOutput {
    T* potential_a;
    T* potential_b;
    std::int64_t* plan_rows;
    std::int64_t* plan_cols;
    T* plan_values;
    std::int64_t num_plan = 0;  // entries written to the plan arrays
    double cost = 0.0;
    double duality_gap = 0.0;
    std::int64_t n_iter = 0;
    SolveStatus status = SolveStatus::optimal;
};

// Solves one problem. a (n,), b (m,) nonnegative with positive, (nearly)
// equal sums; M (n, m) C-contiguous and finite. Zero-weight bins are removed
// before the solve and given feasible potentials afterwards.
// `may_call_back`: whether this thread may poll Python for Ctrl-C.
template <class T>
void network_simplex(const T* a, const T* b, const T* M, std::int64_t n, std::int64_t m,
                     const NetworkSimplexParams& params, NetworkSimplexOutput<T>& out,
                     Interrupt& interrupt, bool may_call_back = true);

// B problems; M is shared ((n, m)) when shared_cost, else (B, n, m). Outputs
// are laid out with a leading batch axis: potentials (B, n) / (B, m), plans
// (B, n + m - 1), scalars (B,), status as SolveStatus values. Problems are spread over threads (one
// problem per thread at a time); only the calling thread polls for Ctrl-C. With a shared M of
// up to 2^16 arcs and no max_iter, problems start warm from the previous problem's optimal tree
// in fixed chunks (csrc/cpu/network_simplex/warm_start.hpp): the same optimal cost, certified,
// not necessarily the same basis as a single solve; independent of the number of threads.
template <class T>
void network_simplex_batch(const T* a, const T* b, const T* M, std::int64_t num_problems, std::int64_t n,
                           std::int64_t m, bool shared_cost, const NetworkSimplexParams& params,
                           T* potential_a, T* potential_b, std::int64_t* plan_rows, std::int64_t* plan_cols,
                           T* plan_values, std::int64_t* num_plan, double* cost, double* duality_gap,
                           std::int64_t* n_iter, std::int32_t* status, Interrupt& interrupt);

}  // namespace emd
