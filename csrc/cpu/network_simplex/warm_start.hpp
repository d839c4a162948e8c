// Warm starts for batches of small problems that share one cost matrix
// (csrc/cpu/network_simplex.cpp, network_simplex_batch).
//
// The optimal tree of one problem says which arcs an optimal plan of M tends
// to use; with the same M, the next problem's optimal plan uses many of them
// again (all of them where one marginal is shared, as along a row of
// emd.pairwise). So each problem after the first of a chunk starts from a
// greedy basis on the previous problem's optimal tree arcs, cheapest first
// (the matrix-minimum rule restricted to those arcs, as the shortlist's start
// on large problems), finished by the cold solver's row-minimum rule. That
// basis is built by the cold solver's own code (TransportSimplex::
// try_initial_tree): a strongly feasible tree, then the same primal pivots,
// pricing and optimality test on all of M, so each result is exact and
// certified as a cold one; only the basis it ends in may differ where the
// optimum is degenerate (the cost agrees to round-off).
//
// Measured on 1000 problems of 64 x 64 (benchmarks/RESULTS.md, "Warm starts"):
// 334 pivots per problem instead of 374 for independent Dirichlet weights, 135
// instead of 217 along the rows of a pairwise tile; with the small problems'
// wide pricing blocks since (section "Issue 19, batched small exact
// problems"), 211 instead of 231 and 77 instead of 131. The dual network simplex
// from the previous optimal tree (dual feasible for every problem of the batch)
// was tried first: 228 and 92 pivots, but each dual pivot prices the whole cut
// (about 1000 arcs of 4096 against ~64 for a block-search pivot) and ran 2.2x
// the cost of a primal one: slower overall on Dirichlet weights.
//
// Problems with zero-weight bins are left to the cold solver (which removes
// those bins: a basis on them would carry zero flows that can break strong
// feasibility); the chain keeps its last tree for the problems after them.
//
// Included by csrc/cpu/network_simplex.cpp after TransportSimplex (this class
// is its friend: it gives the same tree another start).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace emd {
namespace {

// Batches use warm starts up to this many arcs per problem (below the
// shortlist's and the screening's sizes, whose starts are their own) ...
constexpr index_t k_warm_max_arcs = index_t(1) << 16;
// ... in chunks of this many consecutive problems, each chunk's first one
// solved from the cold start: the chunks, not the threads, fix every
// problem's start, so the results do not depend on the number of threads.
constexpr index_t k_warm_chunk = 32;

// The arcs of the batch's shared M ranked by (cost, arc id), made once per
// batch call and read by every thread's chain: a warm start's seeds (the
// last optimal tree's arcs) are put cheapest first by marking their ranks in
// a bitmap and reading it in order, instead of sorting (cost, index) pairs
// per problem; ties go by arc id (row-major), as the shortlist's greedy.
struct CostRanking {
    std::vector<std::int32_t> arc;   // arc[r]: the arc of rank r
    std::vector<std::int32_t> rank;  // rank[e]: the rank of arc e

    template <class T>
    CostRanking(const T* M, index_t nm) : arc(std::size_t(nm)), rank(std::size_t(nm)) {
        for (index_t e = 0; e < nm; ++e) arc[e] = std::int32_t(e);
        std::sort(arc.begin(), arc.end(), [M](std::int32_t x, std::int32_t y) {
            return M[x] < M[y] || (M[x] == M[y] && x < y);
        });
        for (index_t r = 0; r < nm; ++r) rank[arc[r]] = std::int32_t(r);
    }
};

template <class T>
class WarmStart {
   public:
    // M (n, m), C-contiguous, shared by the batch.
    WarmStart(const T* M, index_t n, index_t m, const CostRanking& ranking)
        : M_(M), n_(n), m_(m), ranking_(ranking), s_(M, n, m, uniform(n).data(), uniform(m).data(), false) {
        s_.seeds_in_order_ = true;
        seed_bits_.assign(std::size_t((n * m + 63) / 64), 0);
        supply_buf_.resize(std::size_t(n));
        demand_buf_.resize(std::size_t(m));
        potential_.resize(std::size_t(n + m));
    }

    // The next problem starts cold (a new chunk).
    void restart() { seeded_ = false; }

    // Solves the problem (a, b) from the last optimal tree. Returns false,
    // with `out` untouched, for problems left to the cold solver (zero-weight
    // bins, or anything short of an optimal tree).
    bool solve(const T* a, const T* b, NetworkSimplexOutput<T>& out, Interrupt& interrupt) {
        auto& s = s_;
        double sa = 0.0, sb = 0.0;
        for (index_t i = 0; i < n_; ++i) {
            if (!(a[i] > 0)) return false;
            sa += double(a[i]);
        }
        for (index_t j = 0; j < m_; ++j) {
            if (!(b[j] > 0)) return false;
            sb += double(b[j]);
        }
        // The seeds: the last optimal tree's real arcs, cheapest first (their
        // ranks marked in seed_bits_, read back in order and cleared).
        s.short_row_.clear();
        s.short_col_.clear();
        if (seeded_) {
            std::uint64_t* bits = seed_bits_.data();
            for (index_t u = 0; u < s.root_; ++u) {
                const index_t e = s.pred_[u];
                if (e >= s.nm_) continue;  // an artificial root arc
                const std::int32_t r = ranking_.rank[e];
                bits[r >> 6] |= std::uint64_t(1) << (r & 63);
            }
            for (std::size_t k = 0; k < seed_bits_.size(); ++k) {
                for (std::uint64_t word = bits[k]; word != 0; word &= word - 1) {
                    const index_t e = ranking_.arc[(k << 6) + std::size_t(__builtin_ctzll(word))];
                    s.short_row_.push_back(std::int32_t(e / m_));
                    s.short_col_.push_back(std::int32_t(e % m_));
                }
                bits[k] = 0;
            }
        }
        seeded_ = false;
        // Supplies and slightly shrunk demands exactly as solve_one sets them.
        const double scale = shrunk_demand_scale(sa, sb);
        for (index_t i = 0; i < n_; ++i) s.supply_[i] = supply_buf_[i] = double(a[i]);
        for (index_t j = 0; j < m_; ++j) s.supply_[n_ + j] = -(demand_buf_[j] = double(b[j]) * scale);
        // try_initial_tree accumulates subtree sizes from these values (as
        // after construction); the row rule alone is the fallback, as in
        // build_initial_tree.
        s.small_screen_ = !s.cost_tol_f_.empty();  // each solve screens first, as a cold one
        bool built = false;
        for (const bool greedy : {true, false}) {
            std::fill(s.succ_num_.begin(), s.succ_num_.end(), index_t(1));
            std::fill(s.last_succ_.begin(), s.last_succ_.end(), index_t(-1));
            if (s.try_initial_tree(supply_buf_.data(), demand_buf_.data(), greedy)) {
                built = true;
                break;
            }
        }
        if (!built) return false;
        // The pricing state as a cold solve starts it: each result depends on
        // its problem and its seeds only.
        s.next_lin_ = 0;
        s.since_recompute_ = 0;
        const index_t first_pivot = s.n_iter_;
        if (s.run(-1, interrupt, false, false) != SolveStatus::optimal) return false;
        seeded_ = true;

        // The plan with the demands unshrunk (write_plan), its cost, the
        // tree's potentials and the duality gap.
        const auto same = [](index_t k) { return k; };
        const double cost = write_plan(s, M_, m_, b, sa / sb, demand_buf_.data(), same, same, out);
        double* u = potential_.data();
        double* v = u + n_;
        s.potentials(u, v);
        double dual = 0.0;
        for (index_t i = 0; i < n_; ++i) dual += double(a[i]) * u[i];
        for (index_t j = 0; j < m_; ++j) dual += double(b[j]) * v[j];
        for (index_t i = 0; i < n_; ++i) out.potential_a[i] = T(u[i]);
        for (index_t j = 0; j < m_; ++j) out.potential_b[j] = T(v[j]);
        out.duality_gap = std::fabs(cost - dual);
        out.n_iter = s.n_iter_ - first_pivot;
        out.status = SolveStatus::optimal;
        return true;
    }

   private:
    static std::vector<double> uniform(index_t k) { return std::vector<double>(std::size_t(k), 1.0 / double(k)); }

    const T* M_;
    index_t n_, m_;
    const CostRanking& ranking_;
    TransportSimplex<T> s_;
    std::vector<std::uint64_t> seed_bits_;  // by rank: the seeds of the next start (zero between solves)
    bool seeded_ = false;  // s_ holds the last problem's optimal tree
    std::vector<double> supply_buf_, demand_buf_, potential_;  // per-problem scratch
};

}  // namespace
}  // namespace emd
