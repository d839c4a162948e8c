// The primal network simplex for dense transport problems; see
// emd/network_simplex.hpp for the algorithm, the choices and the papers.
//
// Graph: sources 0..n-1 (supply a_i), sinks n..n+m-1 (supply -b_j), and an
// artificial root R = n + m. Real arc (i, j) has id i * m + j, goes from node
// i to node n + j and costs M[i, j]; artificial arc n * m + i goes from source
// i to the root and costs 0 (it only ever carries round-off excess).
// Potentials pi follow LEMON's sign: the reduced cost of arc s -> t is
// c + pi[s] - pi[t], zero on tree arcs; the dual of the transport LP is then
// potential_a = -pi[source], potential_b = pi[sink].
//
// The layers, bottom up:
//   network_simplex/row_scans.hpp       vectorized minima over a row of M
//   network_simplex/pricing_helper.hpp  block pricing shared by two threads
//                                       (network_simplex_pricing.cpp)
//   TransportSimplex (this file)        the tree, the pivots, the pricing
//                                       strategies (shortlist, dense) and the
//                                       one run loop around them
//   solve_one, network_simplex_batch    zero-weight bins, supplies, plan, batches
#include "emd/network_simplex.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <limits>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "emd/parallel.hpp"
#include "network_simplex/pricing_helper.hpp"
#include "network_simplex/row_scans.hpp"
#include "network_simplex/sampled_duals.hpp"

namespace emd {
namespace {

using index_t = std::int64_t;
using network_simplex_detail::PricingHelper;
using network_simplex_detail::Scan;

// Reduced costs are trusted to this relative accuracy: an arc enters only if
// c + pi_s - pi_t < -k_rc_tol * (|c| + |pi_s| + |pi_t|). Relative to each
// arc's own magnitudes (not to max |M|), so a few huge "forbidden" costs
// (1e30) do not blunt the test for the ordinary ones; 2^-40 ~ 9e-13 sits well
// above the round-off of potentials recomputed from the tree and well below
// the 1e-9 agreement the tests ask of the optimal cost.
constexpr double k_rc_tol = 0x1p-40;

// Screening (see TransportSimplex::screening_): a float32 copy of a float64 M
// is off by at most 2^-24 |c| per entry, so an arc that passes this much
// larger tolerance on the copy truly improves on the exact costs too.
constexpr double k_rc_tol_screen = 0x1p-20;
// A float32 copy is made only for matrices up to this many entries (512 MiB of copy).
constexpr index_t k_screen_max_arcs = index_t(1) << 27;
constexpr index_t k_screen_min_arcs = index_t(1) << 18;

// Potentials are rebuilt from the tree this often (pivots): incremental
// updates drift by round-off, rebuilding costs O(n + m).
constexpr index_t k_recompute_every = 1024;
constexpr index_t k_poll_every = 2048;
// Shortlist phase (see TransportSimplex::shortlist_): each source keeps its
// k_short_len cheapest arcs; used from k_short_min_arcs arcs on (n = m ~ 724)
// and with more than k_short_min_side nodes on each side. Below that the
// dense pricing is already cheap and the shortlist's set-up (one selection
// pass over M, a sort, pricing rounds) does not pay: measured break-even
// between n = m = 500 and 1000 on point clouds.
constexpr index_t k_short_len = 16;
// With a guide (estimate_potentials) the listed arcs are the likely plan's,
// and a longer list pays: measured on the issue-17 clouds (n = m = 1000,
// 2000), 16 -> 24 arcs took 28% and 20% fewer pivots and 8-12% less CPU
// time; 32 no better than 24.
constexpr index_t k_short_len_guided = 24;
constexpr index_t k_short_mass_max = 4;
constexpr index_t k_short_min_side = 2 * k_short_len;
constexpr index_t k_short_min_arcs = index_t(1) << 19;
// Between measures found apart (TransportSimplex's `apart`), the guided
// shortlist pays from far fewer arcs: the subproblems of the guide use it
// down to this size.
constexpr index_t k_guided_min_arcs = index_t(1) << 16;
// Each pricing round over all of M adds up to k_short_add violating arcs per
// source; past k_short_max_rounds rounds' worth of arcs the dense pricing
// takes over (memory stays O((n + m) k)).
constexpr index_t k_short_add = 8;
constexpr index_t k_short_max_rounds = 16;
// Problems with at least this many arcs (n = m ~ 1450) price on two threads.
constexpr index_t k_two_threads_min_arcs = index_t(1) << 21;
// Small dense problems (up to n = m = 256; the warm-started batches' size)
// price on a copy of M with the cost's share of the tolerance folded in
// (see TransportSimplex::cost_tol_): 512 KiB at most ...
constexpr index_t k_small_max_arcs = index_t(1) << 16;
// ... in blocks of whole rows, about this many arcs: a row costs so little
// there that wider blocks than sqrt(n m) pay in fewer pivots. Measured on
// 1000 problems of 64 x 64 (benchmarks/RESULTS.md, "Issue 19, batched small
// exact problems"): 331 pivots at 64 arcs, 258 at 256, 208 at 1024, 180 at
// all 4096 (Dantzig); 1024 took the least time.
constexpr index_t k_small_block_arcs = 1024;

template <class T>
class WarmStart;  // network_simplex/warm_start.hpp: warm starts of this tree in batches

template <class T>
class TransportSimplex {
    friend class WarmStart<T>;

   public:
    // `threads`: whether the whole-M passes of the shortlist phase (building
    // the shortlist, the pricing rounds) may use a helper thread (for_rows);
    // each row is handled alone and the results are merged in row order, so
    // the result does not depend on it.
    //
    // `apart`: the caller found the two measures apart (a guided parent's
    // sample, see estimate_potentials): the guided shortlist is used from
    // k_guided_min_arcs arcs on, without checking again.
    TransportSimplex(const T* M, index_t n, index_t m, const double* supply, const double* demand, bool threads,
                     bool apart = false)
        : M_(M), n_(n), m_(m), nm_(n * m), num_nodes_(n + m + 1), root_(n + m), threads_(threads) {
        const std::size_t N = std::size_t(num_nodes_);
        parent_.assign(N, -1);
        pred_.assign(N, -1);
        thread_.assign(N, -1);
        rev_thread_.assign(N, -1);
        succ_num_.assign(N, 1);
        last_succ_.assign(N, -1);
        forward_.assign(N, 0);
        pi_.assign(N, 0.0);
        pred_flow_.assign(N, 0.0);
        supply_.assign(N, 0.0);
        dirty_revs_.reserve(N);  // a stem is at most N nodes: pivots never allocate (nor throw)
        for (index_t i = 0; i < n; ++i) supply_[i] = supply[i];
        for (index_t j = 0; j < m; ++j) supply_[n + j] = -demand[j];
        // Block size of the block-search pricing: sqrt(#arcs), as in LEMON
        // (smaller blocks trade cheaper scans for more pivots; no net gain measured).
        block_ = std::max<index_t>(index_t(std::sqrt(double(nm_))), 16);
        const bool large = nm_ >= k_short_min_arcs || (apart && nm_ >= k_guided_min_arcs);
        if (large && n_ > k_short_min_side && m_ > k_short_min_side &&
            n_ <= std::numeric_limits<std::int32_t>::max() && m_ <= std::numeric_limits<std::int32_t>::max()) {
            estimate_potentials(supply, demand, apart);
            build_shortlist();
        }
        if (!shortlist_ && nm_ <= k_small_max_arcs) start_small_pricing();
        build_initial_tree(supply, demand);
        for (auto* v : {&short_key_, &guide_g_, &guide_f_}) std::vector<double>().swap(*v);  // set-up only
        if (!shortlist_) start_screening();
    }

    // The folded costs and the sinks' share of the tolerance (see cost_tol_).
    void start_small_pricing() {
        cost_tol_.resize(std::size_t(nm_));
        for (index_t e = 0; e < nm_; ++e) {
            const double c = double(M_[e]);
            cost_tol_[e] = c + k_rc_tol * std::fabs(c);
        }
        pi_tol_.assign(std::size_t(m_), 0.0);
        block_ = m_ * std::max<index_t>(k_small_block_arcs / m_, 1);  // whole rows (scan_range_small)
        if (m_ % simd::Vec<float>::lanes == 0) {  // the float32 screen (see small_screen_)
            cost_tol_f_.resize(std::size_t(nm_));
            double cmax = 0.0;
            for (index_t e = 0; e < nm_; ++e) {
                cost_tol_f_[e] = float(cost_tol_[e]);
                cmax = std::max(cmax, std::fabs(cost_tol_[e]));
            }
            cost_max_ = cmax;
            pi_tol_f_.assign(std::size_t(m_), 0.0f);
            small_screen_ = true;
        }
    }

    // The float32 copy for screening (see screening_), where it pays.
    void start_screening() {
        if constexpr (sizeof(T) > sizeof(float)) {
            if (nm_ >= k_screen_min_arcs && nm_ <= k_screen_max_arcs) {
                Mf_.resize(std::size_t(nm_));
                for (index_t e = 0; e < nm_; ++e) Mf_[e] = float(M_[e]);
                screening_ = true;
            }
        }
    }

    // Runs pivots until optimal, `max_iter` pivots (< 0: no cap) or Ctrl-C:
    // one run loop over two pricing strategies, the shortlist's first (where
    // it applies) and then the dense block search, shared by two threads with
    // `two_threads` (PricingHelper; the sequence of pivots, hence the result,
    // is the same either way).
    SolveStatus run(index_t max_iter, Interrupt& interrupt, bool may_call_back, bool two_threads) {
        if (shortlist_) {
            short_cap_ = index_t(short_row_.size()) + k_short_max_rounds * n_ * k_short_add;
            bool handed_over = false;
            const SolveStatus st =
                run_loop(max_iter, interrupt, may_call_back, [&] { return price_shortlist(handed_over); });
            if (!handed_over) return st;
            // Handed over (see price_shortlist): the dense pricing below goes
            // on from the current tree and decides optimality on all of M.
            start_screening();
        }
        std::unique_ptr<PricingHelper> helper;
        if (two_threads) {
            helper = std::make_unique<PricingHelper>([this](index_t lin, index_t len) { return scan_range(lin, len); });
            if (!helper->started()) helper.reset();  // no thread to be had: price alone
        }
        return run_loop(max_iter, interrupt, may_call_back, [&] { return price_dense(helper.get()); });
    }

   private:
    // What a pricing strategy tells the run loop.
    enum class Priced {
        entering,  // in_arc_ enters: pivot
        again,     // nothing yet, but the strategy changed (screening off, arcs added): price again
        optimal,   // nothing can enter (or, for the shortlist, handed over): stop
    };

    // The one run loop: the budget, Ctrl-C, the pivots and the periodic
    // recomputation of the potentials, around the pricing strategy `price`.
    template <class Price>
    SolveStatus run_loop(index_t max_iter, Interrupt& interrupt, bool may_call_back, Price&& price) {
        while (true) {
            if (max_iter >= 0 && n_iter_ >= max_iter) {
                // Optimal anyway if nothing can enter (exact pricing on all of M).
                shortlist_ = false;
                screening_ = false;
                small_screen_ = false;
                recompute_potentials();
                return find_entering_arc() ? SolveStatus::max_iter_reached : SolveStatus::optimal;
            }
            if (n_iter_ % k_poll_every == 0 && n_iter_ > 0 && interrupt.poll(may_call_back))
                return SolveStatus::interrupted;
            const Priced priced = price();
            if (priced == Priced::again) continue;
            if (priced == Priced::optimal) return SolveStatus::optimal;
            if (!pivot()) return SolveStatus::infeasible;  // no blocking arc: cannot happen here
            ++n_iter_;
            if (++since_recompute_ >= k_recompute_every) recompute();
        }
    }

    void recompute() {
        recompute_potentials();
        since_recompute_ = 0;
    }

    // The dense pricing (block search over all of M, on the float32 copy while
    // screening). Optimality is declared only when exact potentials, rebuilt
    // from the tree, and exact costs find nothing.
    Priced price_dense(PricingHelper* helper) {
        if (find_entering_arc(helper)) return Priced::entering;
        if (screening_ || small_screen_) {  // nothing more on the float32 copy: price exactly from now on
            screening_ = false;
            small_screen_ = false;
            return Priced::again;
        }
        recompute();
        return find_entering_arc(helper) ? Priced::entering : Priced::optimal;
    }

    // The shortlist's pricing: its arcs until none prices negative; then one
    // exact pass over all of M with potentials rebuilt from the tree adds the
    // violating arcs, and a pass that adds none proves optimality on all of M.
    // Sets `handed_over` (and stops) when the dense pricing should go on from
    // the current tree instead.
    Priced price_shortlist(bool& handed_over) {
        if (find_entering_arc_short()) return Priced::entering;
        recompute();
        // Hand over to the dense pricing past the cap, or when the arcs the
        // last pass added made no pivot (they should price negative here too;
        // should rounding ever say otherwise, the dense pricing, which uses
        // the pass's own test, goes on, so no pass can repeat itself).
        if (index_t(short_row_.size()) > short_cap_ || n_iter_ == iter_at_pass_) {
            shortlist_ = false;
            handed_over = true;
            return Priced::optimal;
        }
        iter_at_pass_ = n_iter_;
        const index_t added = add_violating_arcs();
        if (added == 0) {
            shortlist_ = false;
            return Priced::optimal;  // proved on all of M
        }
        // Past the first round, a round that still fills over a quarter of
        // its room says the optimal plan leaves the cheap arcs (costs not of
        // point clouds, e.g. long-range moves on a line; point clouds measured
        // at <= 10%): the dense pricing is faster from here.
        if (++short_rounds_ > 1 && 4 * added > n_ * k_short_add) {
            shortlist_ = false;
            handed_over = true;
            return Priced::optimal;
        }
        return Priced::again;
    }

   public:
    index_t n_iter() const { return n_iter_; }
    index_t num_sinks() const { return m_; }

    // Exact potentials of the final tree, in the transport LP's sign.
    void potentials(double* u, double* v) {
        recompute_potentials();
        for (index_t i = 0; i < n_; ++i) u[i] = -pi_[i];
        for (index_t j = 0; j < m_; ++j) v[j] = pi_[n_ + j];
    }

    // New demands for the sinks, for the plan only (for_each_plan_entry): the
    // tree stays as it is.
    void set_demands(const double* demand) {
        for (index_t j = 0; j < m_; ++j) supply_[n_ + j] = -demand[j];
    }

    // Tree flows recomputed from the supplies (the subtree of u must export
    // its net supply through u's tree arc), so the plan's marginals carry one
    // rounding per node instead of the pivots' accumulated round-off.
    template <class Emit>
    void for_each_plan_entry(Emit emit) {
        std::vector<double> excess(supply_);
        for (index_t u = rev_thread_[root_]; u != root_; u = rev_thread_[u]) {
            const index_t p = parent_[u];
            const double f = forward_[u] ? excess[u] : -excess[u];
            excess[p] += excess[u];
            const index_t e = pred_[u];
            if (e < nm_ && f > 0) emit(e / m_, e % m_, f);
        }
    }

   private:
    const T* M_;
    index_t n_, m_, nm_, num_nodes_, root_;
    bool threads_;
    index_t block_;
    // Screening: while true, pricing reads a float32 copy of a float64 M
    // (half the memory traffic; pricing is bandwidth-bound on large
    // problems) with a tolerance that covers the copy's rounding. Once it
    // finds no improving arc, pricing switches to the exact M for good, so
    // optimality is always established on the exact costs.
    bool screening_ = false;
    std::vector<float> Mf_;
    // Small problems (up to k_small_max_arcs arcs, no shortlist): the scaled
    // reduced cost c - p_j + tol (|c| + |p_j|) of the dense scan, split as
    // cost_tol_[e] = c + tol |c| (fixed) plus, for sink j, pi_tol_[j] =
    // tol |p_j| - p_j (p_j = pi_[n + j]; refreshed from pi_ at the start of
    // each pricing call, see refresh_sink_shares, which was cheaper than
    // keeping it in step in every potential update),
    // so the scan costs one add per arc instead of six operations. The split
    // rounds differently from the whole expression by a few ulps of the
    // terms, 2^-12 of the tolerance itself: the same acceptance test. Empty
    // otherwise. (Measured: benchmarks/RESULTS.md, "Issue 19, batched small
    // exact problems".)
    std::vector<double> cost_tol_, pi_tol_;
    // Small problems whose m is a multiple of the float vector width: while
    // small_screen_, the whole-row scan runs on float32 copies of cost_tol_
    // and pi_tol_ (twice the lanes, half the bytes) and only screens: a row
    // is taken only if its float minimum is below -screen_thr_ (2^-20 of the
    // magnitudes, well above float32's rounding of the sum), and its entering
    // arc is then found and checked on the exact (double) values; should the
    // check fail, the block is scanned exactly. A full sweep that finds
    // nothing ends the screen for that solve, so optimality is always decided
    // by the exact scan. Empty otherwise.
    std::vector<float> cost_tol_f_, pi_tol_f_;
    bool small_screen_ = false;
    double cost_max_ = 0.0, screen_thr_ = 0.0;
    index_t next_lin_ = 0;  // where the pricing resumes (row-major arc index)
    // Shortlist phase (Gottschlich and Schuhmacher, "The shortlist method for
    // fast computation of the Earth Mover's Distance and finding optimal
    // solutions to transportation problems", PLoS ONE 9(10), 2014): the
    // optimal plan of a point-cloud problem uses almost only arcs among each
    // source's few cheapest ones. While true, pricing scans only the listed
    // arcs (short_row_, short_col_, short_cost_; cache resident) instead of
    // streaming all of M, and the initial basis is a greedy on them. Once no
    // listed arc prices negative, an exact pass over M appends the violating
    // arcs (the paper's "add the violating arcs and re-solve", done by the
    // same simplex from the same tree); a pass that finds none proves
    // optimality on the whole of M (price_shortlist).
    bool shortlist_ = false;
    index_t next_short_ = 0;
    // The shortlist's budget of arcs, its pricing rounds, the pivot count at its last pass.
    index_t short_cap_ = 0, short_rounds_ = 0, iter_at_pass_ = -1;
    index_t since_recompute_ = 0;  // pivots since the potentials were rebuilt
    std::vector<std::int32_t> short_row_, short_col_;
    std::vector<double> short_cost_;
    // The guide (see estimate_potentials): estimated potentials of the sinks
    // (guide_g_) and sources (guide_f_, the row minima of c - guide_g_),
    // empty without one; short_key_: each listed arc's estimated reduced cost
    // (its cost without a guide), the greedy start's order. Set-up only.
    std::vector<double> guide_g_, guide_f_, short_key_;
    index_t n_iter_ = 0;

    std::vector<index_t> parent_, pred_, thread_, rev_thread_, succ_num_, last_succ_;
    std::vector<signed char> forward_;  // 1: u's tree arc points from u to its parent
    std::vector<double> pi_, pred_flow_, supply_;
    std::vector<index_t> dirty_revs_;
    // try_initial_tree's scratch: kept by the instance, so that the solves
    // of a warm chain (one instance per thread of a batch, WarmStart) build
    // their start bases without allocating fourteen vectors each (with the
    // seeds' ranking, see CostRanking: 1.04x on 1000 problems of 64 x 64,
    // benchmarks/RESULTS.md, "..., third round").
    struct StartScratch {
        struct Alloc {
            index_t i, j;
            double x;
        };
        std::vector<double> ra, rb, dead, adj_flow;
        std::vector<Alloc> allocs;
        std::vector<index_t> num_arcs_sink, start, adj_node, adj_arc, fill, order, stack;
        std::vector<char> seen;
        std::vector<std::pair<double, index_t>> by_key;
    };
    StartScratch start_scratch_;
    // The greedy start takes the listed arcs in their stored order (a warm
    // start's seeds, already cheapest first) instead of sorting short_key_.
    bool seeds_in_order_ = false;

    // Pivot state.
    index_t in_arc_ = -1, join_ = -1, u_in_ = -1, v_in_ = -1, u_out_ = -1;
    double delta_ = 0.0;

    index_t arc_source(index_t e) const { return e < nm_ ? e / m_ : e - nm_; }
    index_t arc_target(index_t e) const { return e < nm_ ? n_ + e % m_ : root_; }
    double arc_cost(index_t e) const { return e < nm_ ? double(M_[e]) : 0.0; }
    bool is_tree_arc(index_t i, index_t j) const {
        const index_t e = i * m_ + j;
        return pred_[i] == e || pred_[n_ + j] == e;
    }

    // Initial basis. With a shortlist, first a greedy on its arcs taken
    // cheapest first (the matrix-minimum rule restricted to the shortlist:
    // far closer to the optimum than the row rule on point clouds, hence
    // fewer pivots); then, and alone without a shortlist, the row-minimum
    // rule: each source with supply left ships to its cheapest sink with
    // demand left. Every allocation exhausts a source or a sink, so the
    // allocated arcs form a forest and all carry positive flow. Each forest
    // component hangs from the root through the zero-cost arc of its source
    // holding leftover supply (round-off only), which points to the root: a
    // strongly feasible tree. Should round-off leave leftovers at two sources
    // of one component, the greedy start is dropped for the row rule alone.
    void build_initial_tree(const double* supply, const double* demand) {
        if (shortlist_ && try_initial_tree(supply, demand, true)) return;
        std::fill(succ_num_.begin(), succ_num_.end(), index_t(1));
        std::fill(last_succ_.begin(), last_succ_.end(), index_t(-1));
        if (!try_initial_tree(supply, demand, false))
            throw std::logic_error("network_simplex: initial tree does not span");
    }

    bool try_initial_tree(const double* supply, const double* demand, bool greedy) {
        StartScratch& w = start_scratch_;
        const std::size_t N = std::size_t(num_nodes_);
        w.ra.assign(supply, supply + n_);
        w.rb.assign(demand, demand + m_);
        double* ra = w.ra.data();
        double* rb = w.rb.data();
        // +inf once sink j is exhausted; before, -g_j with a guide, so that the
        // row rule ships to the sink of least estimated reduced cost (by raw
        // cost, the sources left over by the greedy went to their near
        // neighbours, the wrong sinks between measures apart).
        w.dead.assign(std::size_t(m_), 0.0);
        double* dead = w.dead.data();
        if (!guide_g_.empty())
            for (index_t j = 0; j < m_; ++j) dead[j] = -guide_g_[j];
        auto& allocs = w.allocs;
        allocs.clear();
        w.num_arcs_sink.assign(std::size_t(m_), 0);
        index_t* num_arcs_sink = w.num_arcs_sink.data();
        index_t alive = m_;
        const double inf = std::numeric_limits<double>::infinity();
        auto allocate = [&](index_t i, index_t jb) {
            const double x = std::min(ra[i], rb[jb]);
            allocs.push_back({i, jb, x});
            ++num_arcs_sink[jb];
            if (x == rb[jb]) {
                rb[jb] = 0.0;
                dead[jb] = inf;
                --alive;
            } else {
                rb[jb] -= x;
            }
            ra[i] = (x == ra[i]) ? 0.0 : ra[i] - x;
        };
        if (greedy) {
            const index_t total = index_t(short_row_.size());
            auto take = [&](index_t q) {
                const index_t i = short_row_[q], j = short_col_[q];
                if (ra[i] > 0 && rb[j] > 0) allocate(i, j);
            };
            if (seeds_in_order_) {
                // Already cheapest first (a warm start's seeds, ordered by the
                // batch's ranking of M: see CostRanking).
                for (index_t q = 0; q < total && alive > 0; ++q) take(q);
            } else {
                auto& order = w.by_key;
                order.resize(std::size_t(total));
                for (index_t q = 0; q < total; ++q) order[q] = {short_key_[q], q};
                // By estimated reduced cost (by cost without a guide), ties by
                // position (row-major): deterministic.
                std::sort(order.begin(), order.end());
                for (index_t t = 0; t < total && alive > 0; ++t) take(order[t].second);
            }
        }
        for (index_t i = 0; i < n_ && alive > 0; ++i) {
            const T* row = M_ + i * m_;
            while (ra[i] > 0 && alive > 0) {
                index_t jb = -1;
                if constexpr (std::is_same_v<T, double>) {
                    if (m_ % simd::Vec<double>::lanes == 0) {  // the same first cheapest sink, in one pass
                        allocate(i, sum_segment_min_at(row, dead, m_).at);
                        continue;
                    }
                }
                const double best = masked_row_min(row, dead, m_);
                for (index_t j = 0; j < m_; ++j) {
                    if (double(row[j]) + dead[j] == best) {
                        jb = j;
                        break;
                    }
                }
                allocate(i, jb);
            }
        }
        // A sink left without any arc can only come from round-off in the
        // totals (the caller makes sum(b) <= sum(a)); tie it to its cheapest
        // source so the tree spans every node.
        for (index_t j = 0; j < m_; ++j) {
            if (num_arcs_sink[j] > 0) continue;
            index_t ib = 0;
            for (index_t i = 1; i < n_; ++i)
                if (M_[i * m_ + j] < M_[ib * m_ + j]) ib = i;
            allocs.push_back({ib, j, rb[j]});
        }

        // Adjacency (CSR) of the forest.
        w.start.assign(N + 1, 0);
        index_t* start = w.start.data();
        w.adj_node.resize(2 * allocs.size());
        w.adj_arc.resize(2 * allocs.size());
        w.adj_flow.resize(2 * allocs.size());
        for (const auto& al : allocs) {
            ++start[al.i + 1];
            ++start[n_ + al.j + 1];
        }
        for (std::size_t k = 0; k < N; ++k) start[k + 1] += start[k];
        {
            w.fill.assign(start, start + N);
            index_t* fill = w.fill.data();
            for (const auto& al : allocs) {
                const index_t e = al.i * m_ + al.j;
                index_t s = al.i, t = n_ + al.j;
                w.adj_node[fill[s]] = t, w.adj_arc[fill[s]] = e, w.adj_flow[fill[s]] = al.x, ++fill[s];
                w.adj_node[fill[t]] = s, w.adj_arc[fill[t]] = e, w.adj_flow[fill[t]] = al.x, ++fill[t];
            }
        }

        // Depth-first preorder from the root; components entered first from
        // the sources holding leftover supply (highest-numbered first), then
        // from the other sources.
        auto& order = w.order;
        order.clear();
        order.push_back(root_);
        w.seen.assign(N, 0);
        char* seen = w.seen.data();
        seen[root_] = 1;
        auto& stack = w.stack;
        stack.clear();
        for (int pass = 0; pass < 2; ++pass) {
            for (index_t s0 = n_ - 1; s0 >= 0; --s0) {
                if (seen[s0] || (pass == 0 && !(ra[s0] > 0))) continue;
                seen[s0] = 1;
                parent_[s0] = root_;
                pred_[s0] = nm_ + s0;
                forward_[s0] = 1;
                pred_flow_[s0] = ra[s0];
                stack.push_back(s0);
                while (!stack.empty()) {
                    const index_t u = stack.back();
                    stack.pop_back();
                    order.push_back(u);
                    if (u != s0 && u < n_ && ra[u] > 0) return false;  // a second leftover here
                    for (index_t k = start[u]; k < start[u + 1]; ++k) {
                        const index_t v = w.adj_node[k];
                        if (seen[v]) continue;
                        seen[v] = 1;
                        parent_[v] = u;
                        pred_[v] = w.adj_arc[k];
                        forward_[v] = (v < n_) ? 1 : 0;  // arcs point source -> sink
                        pred_flow_[v] = w.adj_flow[k];
                        stack.push_back(v);
                    }
                }
            }
        }
        if (index_t(order.size()) != num_nodes_) return false;

        for (std::size_t k = 0; k < N; ++k) {
            const index_t u = order[k], v = order[(k + 1) % N];
            thread_[u] = v;
            rev_thread_[v] = u;
        }
        for (std::size_t k = N; k-- > 0;) {
            const index_t u = order[k];
            if (last_succ_[u] == -1) last_succ_[u] = u;
            if (u == root_) break;
            const index_t p = parent_[u];
            succ_num_[p] += succ_num_[u];
            if (last_succ_[p] == -1) last_succ_[p] = last_succ_[u];
        }
        recompute_potentials();
        return true;
    }

    // pi from the tree: zero reduced cost on every tree arc, pi[root] = 0.
    void recompute_potentials() {
        pi_[root_] = 0.0;
        for (index_t u = thread_[root_]; u != root_; u = thread_[u]) {
            const index_t p = parent_[u];
            const double c = arc_cost(pred_[u]);
            const double sign[2] = {1.0, -1.0};  // pi_p - c = pi_p + (-c) exactly: no branch on the direction
            pi_[u] = pi_[p] + sign[forward_[u]] * c;
        }
        if (!pi_tol_f_.empty()) {
            double pi_max = 0.0;
            for (index_t u = 0; u < num_nodes_; ++u) pi_max = std::max(pi_max, std::fabs(pi_[u]));
            // Potentials drift between rebuilds; the threshold only decides
            // what the screen may miss (found by the exact sweep after it).
            screen_thr_ = 0x1p-20 * (cost_max_ + 2.0 * pi_max);
        }
    }

    static double pi_tol(double p) { return k_rc_tol * std::fabs(p) - p; }

    // The most violated non-tree arc among arcs [lin, lin + len) in row-major
    // order (cyclic). Each row segment is first reduced by a vectorized min of
    // the scaled reduced cost; the argmin is then located by value (tree arcs,
    // whose reduced cost is zero up to round-off, may never enter).
    Scan scan_range(index_t lin, index_t len) const {
        // Screening also asks for a tiny absolute margin: float32 flushes
        // costs below ~1e-38 to zero, which no relative tolerance covers.
        if (screening_) return scan_range_in(Mf_.data(), k_rc_tol_screen, -1e-37, lin, len);
        if (small_screen_) return scan_range_small_screen(lin, len);
        if (!cost_tol_.empty()) return scan_range_small(lin, len);
        return scan_range_in(M_, k_rc_tol, 0.0, lin, len);
    }

    // scan_range_small on the float32 copies (see small_screen_): whole-row
    // blocks only; the winner's row is searched and checked exactly.
    Scan scan_range_small_screen(index_t lin, index_t len) const {
        if (lin % m_ != 0 || len % m_ != 0) return scan_range_small(lin, len);
        const index_t i0 = lin / m_, rows = len / m_, first = std::min(rows, n_ - i0);
        const float* qf = pi_tol_f_.data();
        const RowsMin r0 = rows_min(cost_tol_f_.data() + i0 * m_, m_, qf, pi_.data() + i0, k_rc_tol, first);
        const RowsMin r1 = rows_min(cost_tol_f_.data(), m_, qf, pi_.data(), k_rc_tol, rows - first);
        const bool second = r1.value < r0.value;
        if (!((second ? r1.value : r0.value) < -screen_thr_)) return Scan{};
        const index_t i = second ? r1.row : i0 + r0.row;
        const double* row = cost_tol_.data() + i * m_;
        const double* q = pi_tol_.data();
        const SegmentMin sm = sum_segment_min_at(row, q, m_);
        const double best = sm.value + (pi_[i] + k_rc_tol * std::fabs(pi_[i]));
        if (best < 0.0) {
            const index_t k = sm.at;
            if (!is_tree_arc(i, k)) {
                Scan r;
                r.best = best;
                r.e = i * m_ + k;
                return r;
            }
        }
        return scan_range_small(lin, len);
    }

    // scan_range_in on the folded costs (see cost_tol_): the same test, one
    // add per arc. Only each row segment's minimum is taken during the scan;
    // the entering arc is located once, in the best segment, at the end (a
    // segment that improves on the best so far is no longer searched on the
    // spot: on wide blocks that happened several times per scan).
    Scan scan_range_small(index_t lin, index_t len) const {
        const double* q = pi_tol_.data();
        Scan r;
        index_t best_i = -1, best_j = 0, best_seg = 0;
        double best_min = 0.0;
        const index_t i0 = lin / m_;
        if (m_ % simd::Vec<double>::lanes == 0 && lin % m_ == 0 && len % m_ == 0) {
            // Whole rows, in at most two runs (the range is cyclic).
            const index_t rows = len / m_, first = std::min(rows, n_ - i0);
            const RowsMin r0 = rows_min(cost_tol_.data() + i0 * m_, m_, q, pi_.data() + i0, k_rc_tol, first);
            const RowsMin r1 = rows_min(cost_tol_.data(), m_, q, pi_.data(), k_rc_tol, rows - first);
            const bool second = r1.value < r0.value;
            if (!((second ? r1.value : r0.value) < 0.0)) return r;
            best_i = second ? r1.row : i0 + r0.row;
            const SegmentMin sm = sum_segment_min_at(cost_tol_.data() + best_i * m_, q, m_);
            r.best = second ? r1.value : r0.value;
            if (!is_tree_arc(best_i, sm.at)) {
                r.e = best_i * m_ + sm.at;
                return r;
            }
            best_seg = m_;
            best_min = sm.value;
        } else {
            for_each_row_segment(lin, len, [&](index_t i, index_t j, index_t seg) {
                const double shift = pi_[i] + k_rc_tol * std::fabs(pi_[i]);
                const double seg_min = sum_segment_min(cost_tol_.data() + i * m_ + j, q + j, seg);
                if (seg_min + shift < r.best) {
                    r.best = seg_min + shift;
                    best_i = i, best_j = j, best_seg = seg, best_min = seg_min;
                }
            });
            if (best_i < 0) return r;
        }
        const index_t k = sum_segment_argmin(cost_tol_.data() + best_i * m_ + best_j, q + best_j, best_seg, best_min);
        if (!is_tree_arc(best_i, best_j + k)) {
            r.e = best_i * m_ + best_j + k;
            return r;
        }
        // A tree arc (reduced cost zero up to round-off) came out least:
        // the whole range again, arc by arc, tree arcs skipped.
        r = Scan{};
        for_each_row_segment(lin, len, [&](index_t i, index_t j, index_t seg) {
            const double shift = pi_[i] + k_rc_tol * std::fabs(pi_[i]);
            const double* row = cost_tol_.data() + i * m_;
            for (index_t t = j; t < j + seg; ++t) {
                const double val = (row[t] + q[t]) + shift;
                if (val < r.best && !is_tree_arc(i, t)) {
                    r.best = val;
                    r.e = i * m_ + t;
                }
            }
        });
        return r;
    }

    // fn(i, j, seg) over the row segments of arcs [lin, lin + len) in
    // row-major order, cyclic: row i, columns [j, j + seg).
    template <class F>
    void for_each_row_segment(index_t lin, index_t len, F&& fn) const {
        index_t i = lin / m_, j = lin - (lin / m_) * m_;
        while (len > 0) {
            const index_t seg = std::min(m_ - j, len);
            fn(i, j, seg);
            len -= seg;
            j += seg;
            if (j == m_) {
                j = 0;
                if (++i == n_) i = 0;
            }
        }
    }

    template <class U>
    Scan scan_range_in(const U* Mat, double tol, double floor, index_t lin, index_t len) const {
        const double* pi_b = pi_.data() + n_;
        Scan r;
        r.best = floor;
        index_t i = lin / m_, j = lin - (lin / m_) * m_;
        while (len > 0) {
            const index_t seg = std::min(m_ - j, len);
            const U* row = Mat + i * m_;
            const double pi_i = pi_[i];
            // Scaled reduced cost: rc + tol * (|c| + |pi_i| + |pi_j|) < 0 iff the arc may enter.
            const double shift = pi_i + tol * std::fabs(pi_i);
            const double seg_min = scaled_segment_min(row + j, pi_b + j, seg, tol);
            if (seg_min + shift < r.best) {
                const index_t k = segment_argmin(row + j, pi_b + j, seg, seg_min, tol);
                if (k >= 0 && !is_tree_arc(i, j + k)) {
                    r.best = seg_min + shift;
                    r.e = i * m_ + j + k;
                } else {
                    for (index_t q = j; q < j + seg; ++q) {
                        const double val = scaled_rc(row[q], pi_b[q], tol) + shift;
                        if (val < r.best && !is_tree_arc(i, q)) {
                            r.best = val;
                            r.e = i * m_ + q;
                        }
                    }
                }
            }
            len -= seg;
            j += seg;
            if (j == m_) {
                j = 0;
                if (++i == n_) i = 0;
            }
        }
        return r;
    }

    // The sinks' pi_tol_ (and its float copy while screening), once per
    // pricing call (the potentials do not move during one): m updates,
    // cheaper than keeping them in step in every pivot's potential update
    // (benchmarks/RESULTS.md, "..., second round").
    void refresh_sink_shares() {
        if (pi_tol_.empty()) return;
        const double* p = pi_.data() + n_;
        for (index_t j = 0; j < m_; ++j) pi_tol_[j] = pi_tol(p[j]);
        if (!small_screen_) return;
        for (index_t j = 0; j < m_; ++j) pi_tol_f_[j] = float(pi_tol_[j]);
    }

    // Block search (Grigoriadis 1986): scan `block_` arcs from where the last
    // search stopped, take the most violated one if any, else the next block.
    bool find_entering_arc() {
        refresh_sink_shares();
        for (index_t swept = 0; swept < nm_;) {
            const index_t len = std::min(block_, nm_ - swept);
            const Scan r = scan_range(next_lin_, len);
            next_lin_ = (next_lin_ + len) % nm_;
            swept += len;
            if (r.e >= 0) {
                in_arc_ = r.e;
                return true;
            }
        }
        return false;
    }

    // The same block search with two blocks priced at a time, the second on
    // the helper's thread: the entering arc is the serial search's.
    bool find_entering_arc(PricingHelper* helper) {
        if (!helper) return find_entering_arc();
        refresh_sink_shares();
        for (index_t swept = 0; swept < nm_;) {
            const index_t len0 = std::min(block_, nm_ - swept);
            const index_t len1 = std::min(block_, nm_ - swept - len0);
            Scan r0, r1;
            helper->scan_two(next_lin_, len0, (next_lin_ + len0) % nm_, len1, r0, r1);
            if (r0.e >= 0) {
                next_lin_ = (next_lin_ + len0) % nm_;
                in_arc_ = r0.e;
                return true;
            }
            next_lin_ = (next_lin_ + len0 + len1) % nm_;
            swept += len0 + len1;
            if (r1.e >= 0) {
                in_arc_ = r1.e;
                return true;
            }
        }
        return false;
    }

    // fn(lo, hi) over the rows [0, n): with threads_, the second half on a
    // helper thread (each row's result is its own, so the split does not
    // change it). A plain thread rather than an OpenMP team: no worker is
    // left spinning after the pass to compete with the pivots on a busy
    // machine (measured: OpenMP's spin-wait cost more than the pass saved).
    template <class F>
    void for_rows(F&& fn) {
        if (!threads_ || n_ < 2) {
            fn(index_t(0), n_);
            return;
        }
        const index_t half = n_ / 2;
        std::exception_ptr error = nullptr;
        std::thread helper;
        try {
            helper = std::thread([&] {
                try {
                    fn(half, n_);
                } catch (...) {
                    error = std::current_exception();
                }
            });
        } catch (const std::system_error&) {
            fn(index_t(0), n_);  // no thread to be had
            return;
        }
        try {
            fn(index_t(0), half);
        } catch (...) {
            helper.join();
            throw;
        }
        helper.join();
        if (error) std::rethrow_exception(error);
    }

    // The guide of the shortlist (network_simplex/sampled_duals.hpp): the
    // sinks' potentials estimated from an exact solve of a stride sample of
    // the problem (by this same class, recursively on large problems),
    // extended to every sink by the c-transform. Only which arcs are listed
    // and the greedy start's order depend on it; without it (measures that
    // overlap, see uncovered_demand, or a subproblem that did not reach
    // optimality) the shortlist is by cost. The subsolve does not poll for
    // Ctrl-C: it is a quarter of the arcs, and the main solve polls right after.
    void estimate_potentials(const double* supply, const double* demand, bool apart) {
        if (!apart) {
            // The sample's rows keep as many of its columns as the plain shortlist keeps of M's.
            const index_t k = std::max<index_t>(k_short_len / k_sample_stride, 1);
            if (uncovered_demand(M_, m_, stride_sample(n_), stride_sample(m_), demand, k) <= k_guide_min_uncovered)
                return;
        }
        SampledProblem<T> sample(M_, n_, m_, supply, demand);
        const index_t ns = index_t(sample.rows.size()), ms = index_t(sample.cols.size());
        if (ns < 2 || ms < 2) return;
        TransportSimplex<T> sub(sample.cost.data(), ns, ms, sample.supply.data(), sample.demand.data(), threads_, true);
        Interrupt never;
        if (sub.run(-1, never, false, false) != SolveStatus::optimal) return;
        std::vector<double> f(static_cast<std::size_t>(ns)), g(static_cast<std::size_t>(ms));
        sub.potentials(f.data(), g.data());
        guide_g_ = sink_potentials_from_rows(M_, m_, sample.rows, f);
    }

    // The k_i cheapest arcs of every source, by (cost, column), one pass over
    // each row; with a guide (estimate_potentials), the k_i of smallest
    // estimated reduced cost c_ij - g_j instead. Then the heavy sinks' arcs.
    void build_shortlist() {
        const bool guided = !guide_g_.empty();
        if (guided) guide_f_.assign(std::size_t(n_), 0.0);
        // Row i keeps k_i = k_short_len * min(ceil(a_i / mean a), k_short_mass_max)
        // arcs: a heavy source ships to many sinks.
        std::vector<index_t> start(static_cast<std::size_t>(n_ + 1), 0);
        double total_supply = 0.0;
        for (index_t i = 0; i < n_; ++i) total_supply += supply_[i];
        const double mean = total_supply / double(n_);
        for (index_t i = 0; i < n_; ++i) {
            const double r = std::ceil(supply_[i] / mean * (1.0 - 1e-9));  // equal weights: 1, not 2
            const index_t mult = r >= double(k_short_mass_max) ? k_short_mass_max : std::max<index_t>(index_t(r), 1);
            start[i + 1] = start[i] + std::min((guided ? k_short_len_guided : k_short_len) * mult, m_);
        }
        const std::size_t total = std::size_t(start[n_]);
        short_row_.resize(total);
        short_col_.resize(total);
        short_cost_.resize(total);
        short_key_.resize(total);
        for_rows([&](index_t lo, index_t hi) {
            std::vector<std::pair<double, std::int32_t>> buf;
            for (index_t i = lo; i < hi; ++i) {
                const index_t k = start[i + 1] - start[i], off = start[i];
                const T* row = M_ + i * m_;
                if (guided) {
                    smallest_k([&](index_t j) { return double(row[j]) - guide_g_[j]; }, m_, k, buf);
                } else {
                    smallest_k([&](index_t j) { return double(row[j]); }, m_, k, buf);
                }
                // f_i = min_j (c_ij - g_j): the row's first listed arc.
                const double fi = guided ? buf[0].first : 0.0;
                if (guided) guide_f_[i] = fi;
                for (index_t q = 0; q < k; ++q) {
                    short_cost_[off + q] = double(row[buf[q].second]);
                    short_key_[off + q] = buf[q].first - fi;
                    short_col_[off + q] = buf[q].second;
                    short_row_[off + q] = std::int32_t(i);
                }
            }
        });
        add_heavy_sink_arcs();
        shortlist_ = true;
    }

    // Heavy sinks (b_j above the mean) receive from many sources: each gets
    // its k_short_len * (min(ceil(b_j / mean b), k_short_mass_max) - 1) cheapest
    // sources' arcs too (smallest c_ij - f_i with a guide) (the rows' lists already give every sink about
    // k_short_len). One pass over M by rows, one bounded heap per heavy sink;
    // ties by row, so the lists are unique.
    void add_heavy_sink_arcs() {
        double total_demand = 0.0;
        for (index_t j = 0; j < m_; ++j) total_demand -= supply_[n_ + j];
        const double mean = total_demand / double(m_);
        std::vector<index_t> heavy, kcol;
        for (index_t j = 0; j < m_; ++j) {
            const double r = std::ceil(-supply_[n_ + j] / mean * (1.0 - 1e-9));
            const index_t mult = r >= double(k_short_mass_max) ? k_short_mass_max : std::max<index_t>(index_t(r), 1);
            if (mult > 1) {
                heavy.push_back(j);
                kcol.push_back(std::min(k_short_len * (mult - 1), n_));
            }
        }
        if (heavy.empty()) return;
        const std::size_t H = heavy.size();
        std::vector<std::vector<std::pair<double, std::int32_t>>> heaps(H);
        std::vector<double> top(H, std::numeric_limits<double>::infinity());
        for (std::size_t h = 0; h < H; ++h) heaps[h].reserve(std::size_t(kcol[h]));
        for (index_t i = 0; i < n_; ++i) {
            const T* row = M_ + i * m_;
            for (std::size_t h = 0; h < H; ++h) {
                const double c = double(row[heavy[h]]) - (guide_f_.empty() ? 0.0 : guide_f_[i]);
                if (c >= top[h]) continue;  // ties keep the lower row
                auto& hp = heaps[h];
                if (index_t(hp.size()) < kcol[h]) {
                    hp.emplace_back(c, std::int32_t(i));
                    std::push_heap(hp.begin(), hp.end());
                    if (index_t(hp.size()) == kcol[h]) top[h] = hp.front().first;
                } else {
                    std::pop_heap(hp.begin(), hp.end());
                    hp.back() = {c, std::int32_t(i)};
                    std::push_heap(hp.begin(), hp.end());
                    top[h] = hp.front().first;
                }
            }
        }
        for (std::size_t h = 0; h < H; ++h) {
            std::sort(heaps[h].begin(), heaps[h].end());
            const double gj = guide_g_.empty() ? 0.0 : guide_g_[heavy[h]];
            for (const auto& e : heaps[h]) {
                short_row_.push_back(e.second);
                short_col_.push_back(std::int32_t(heavy[h]));
                short_cost_.push_back(double(M_[index_t(e.second) * m_ + heavy[h]]));
                short_key_.push_back(e.first - gj);
            }
        }
    }

    // One exact pricing pass over all of M (the dense pricing's acceptance
    // test): appends to the candidates up to k_short_add of each source's
    // most violated arcs. Returns how many were added.
    index_t add_violating_arcs() {
        const double* pi_b = pi_.data() + n_;
        const double tol = k_rc_tol;
        const index_t ka = k_short_add;
        std::vector<std::int32_t> slot_col(static_cast<std::size_t>(n_ * ka));
        std::vector<index_t> slot_num(static_cast<std::size_t>(n_), 0);
        for_rows([&](index_t lo, index_t hi) {
            std::vector<std::pair<double, std::int32_t>> found;
            for (index_t i = lo; i < hi; ++i) {
                const T* row = M_ + i * m_;
                const double pi_i = pi_[i];
                const double shift = pi_i + tol * std::fabs(pi_i);
                if (scaled_segment_min(row, pi_b, m_, tol) + shift >= 0.0) continue;
                found.clear();
                for (index_t j = 0; j < m_; ++j) {
                    const double val = scaled_rc(row[j], pi_b[j], tol) + shift;
                    if (val < 0.0 && !is_tree_arc(i, j)) found.emplace_back(val, std::int32_t(j));
                }
                if (index_t(found.size()) > ka) {
                    std::nth_element(found.begin(), found.begin() + ka, found.end());
                    found.resize(std::size_t(ka));
                }
                for (std::size_t q = 0; q < found.size(); ++q) slot_col[std::size_t(i * ka) + q] = found[q].second;
                slot_num[i] = index_t(found.size());
            }
        });
        index_t added = 0;
        for (index_t i = 0; i < n_; ++i) {
            for (index_t q = 0; q < slot_num[i]; ++q) {
                const std::int32_t j = slot_col[i * ka + q];
                short_row_.push_back(std::int32_t(i));
                short_col_.push_back(j);
                short_cost_.push_back(double(M_[i * m_ + j]));
            }
            added += slot_num[i];
        }
        return added;
    }

    // Block search over the shortlist's arcs, exact costs, the same
    // acceptance test as the dense pricing.
    bool find_entering_arc_short() {
        const index_t total = index_t(short_row_.size());
        // A quarter of sqrt(#candidates): measured 10-25% faster than the
        // dense pricing's sqrt on 2000-4000-point clouds (more pivots, but
        // cheaper ones: arcs found close to the last one re-hang smaller subtrees).
        const index_t block = std::max<index_t>(index_t(0.25 * std::sqrt(double(total))), 16);
        const double* pi_b = pi_.data() + n_;
        const double tol = k_rc_tol;
        if (next_short_ >= total) next_short_ = 0;
        for (index_t swept = 0; swept < total;) {
            const index_t len = std::min(block, total - swept);
            double best = 0.0;
            index_t eb = -1;
            index_t q = next_short_;
            for (index_t t = 0; t < len; ++t) {
                const index_t i = short_row_[q];
                const double c = short_cost_[q];
                const index_t j = short_col_[q];
                const double pii = pi_[i];
                // The dense scan's expression, term for term.
                const double val = scaled_rc(c, pi_b[j], tol) + (pii + tol * std::fabs(pii));
                if (val < best && !is_tree_arc(i, j)) {
                    best = val;
                    eb = i * m_ + j;
                }
                if (++q == total) q = 0;
            }
            next_short_ = q;
            swept += len;
            if (eb >= 0) {
                in_arc_ = eb;
                return true;
            }
        }
        return false;
    }

    // The join node (the apex of the cycle the entering arc closes) and the
    // leaving arc, in one climb of the two paths: the side with the smaller
    // subtree climbs (it cannot be the join), and each side keeps its own
    // least blocking flow as it goes. Cunningham's rule: of the blocking
    // arcs, the last one met when walking the cycle from the join node in
    // the direction of the entering arc (join, down to its source, across,
    // up from its target to the join): on the target's path the least one
    // nearest the join (<= while climbing), if it is no larger than the
    // source path's least one nearest the source (strict <); this keeps the
    // tree strongly feasible and rules out cycling in degenerate pivots.
    // Each path is climbed in the same order as by LEMON's separate walks
    // after the join search, so the same arc leaves (the walk it saves was
    // ~4% of a 64 x 64 batch).
    bool find_join_and_leaving_arc() {
        const index_t first = arc_source(in_arc_), second = arc_target(in_arc_);
        const double inf = std::numeric_limits<double>::infinity();
        double d1 = inf, d2 = inf;
        index_t out1 = -1, out2 = -1;
        // An arc blocks where it points against the cycle's flow change: up
        // on the source's path, down on the target's. Its flow, else +inf,
        // as the max with a looked-up 0 or +inf (flows are >= 0): no branch
        // on the direction.
        const double blocks_if_up[2] = {inf, 0.0}, blocks_if_down[2] = {0.0, inf};
        index_t u = first, v = second;
        while (u != v) {
            if (succ_num_[u] < succ_num_[v]) {
                const double d = std::max(pred_flow_[u], blocks_if_up[forward_[u]]);
                if (d < d1) d1 = d, out1 = u;
                u = parent_[u];
            } else {
                const double d = std::max(pred_flow_[v], blocks_if_down[forward_[v]]);
                if (d <= d2) d2 = d, out2 = v;
                v = parent_[v];
            }
        }
        join_ = u;
        if (out2 >= 0 && d2 <= d1) {
            delta_ = d2, u_out_ = out2;
            u_in_ = second;
            v_in_ = first;
            return true;
        }
        if (out1 < 0) return false;
        delta_ = d1, u_out_ = out1;
        u_in_ = first;
        v_in_ = second;
        return true;
    }

    // Re-hang the subtree: LEMON's update of parent, thread, rev_thread,
    // succ_num and last_succ along the stem from u_in to u_out, with the
    // tree-arc flows (stored per child node) moved along with pred.
    //
    // The flow change around the cycle is done here too, in the walks that
    // visit the cycle's arcs anyway (LEMON walks both paths once more for
    // it first): the stem's arcs as they move, the rest of u_in's side
    // (v_out to the join) and v_in's side (v_in to the join) with succ_num.
    // An arc on the path from the entering arc's source gains delta against
    // its direction (x -= delta where it points up, to the join); on the
    // path from its target, with it. The leaving arc reaches 0 and leaves.
    // Each flow gets the same single addition as in a separate pass, so
    // the result is the same to the bit; the others stay >= 0 because
    // rounding is monotone and they were >= delta.
    void update_tree_structure() {
        // The change of an arc pointing up (to the join) on u_in's side of
        // the cycle: -delta on the source's path, +delta on the target's;
        // the opposite for an arc pointing down, and on v_in's side.
        const double up_in = (u_in_ == arc_source(in_arc_)) ? -delta_ : delta_;
        // The change of an arc's flow by its direction (forward_, 0 or 1),
        // looked up rather than branched on: the directions along a path
        // are data, and a branch on them mispredicted about once a path.
        const double on_in_side[2] = {-up_in, up_in}, on_v_in_side[2] = {up_in, -up_in};
        index_t u, w;
        const index_t old_rev_thread = rev_thread_[u_out_];
        const index_t old_succ_num = succ_num_[u_out_];
        const index_t old_last_succ = last_succ_[u_out_];
        const index_t v_out = parent_[u_out_];

        u = last_succ_[u_in_];
        index_t right = thread_[u];
        const index_t last = (old_rev_thread == v_in_) ? thread_[last_succ_[u_out_]] : thread_[v_in_];

        index_t stem = u_in_, par_stem = v_in_, new_stem;
        thread_[v_in_] = stem;
        dirty_revs_.clear();
        dirty_revs_.push_back(v_in_);
        while (stem != u_out_) {
            new_stem = parent_[stem];
            thread_[u] = new_stem;
            dirty_revs_.push_back(u);
            w = rev_thread_[stem];
            thread_[w] = right;
            rev_thread_[right] = w;
            parent_[stem] = par_stem;
            par_stem = stem;
            stem = new_stem;
            const index_t ls = last_succ_[stem], rt = rev_thread_[par_stem];  // both loaded: a select, not a branch
            u = ls == last_succ_[par_stem] ? rt : ls;
            right = thread_[u];
        }
        parent_[u_out_] = par_stem;
        thread_[u] = last;
        rev_thread_[last] = u;
        last_succ_[u_out_] = u;

        if (old_rev_thread != v_in_) {
            thread_[old_rev_thread] = right;
            rev_thread_[right] = old_rev_thread;
        }
        for (const index_t d : dirty_revs_) rev_thread_[thread_[d]] = d;

        index_t tmp_sc = 0;
        const index_t tmp_ls = last_succ_[u_out_];
        for (u = u_out_; u != u_in_; u = w) {
            w = parent_[u];
            pred_[u] = pred_[w];
            pred_flow_[u] = pred_flow_[w] + on_in_side[forward_[w]];  // forward_[w]: still w's old arc
            forward_[u] = !forward_[w];
            tmp_sc += succ_num_[u] - succ_num_[w];
            succ_num_[u] = tmp_sc;
            last_succ_[w] = tmp_ls;
        }
        pred_[u_in_] = in_arc_;
        pred_flow_[u_in_] = delta_;
        forward_[u_in_] = (u_in_ == arc_source(in_arc_));
        succ_num_[u_in_] = old_succ_num;

        // last_succ, succ_num and the flows on the two paths to the join, in
        // one walk per path (LEMON walks each twice): last_succ changes on
        // a prefix of each path (while it equals v_in, resp. the old
        // last_succ of u_out), which may run on above the join, on one
        // path at most (the one whose prefix reaches the join's last_succ).
        const index_t new_last = last_succ_[u_out_];
        const bool in_past_join = last_succ_[join_] == v_in_;
        bool in_prefix = true;
        for (u = v_in_; u != join_; u = parent_[u]) {
            in_prefix = in_prefix && last_succ_[u] == v_in_;
            last_succ_[u] = in_prefix ? new_last : last_succ_[u];
            succ_num_[u] += old_succ_num;
            pred_flow_[u] += on_v_in_side[forward_[u]];
        }
        if (in_prefix && in_past_join)
            for (; u != -1 && last_succ_[u] == v_in_; u = parent_[u]) last_succ_[u] = new_last;
        const index_t out_last =
            (join_ != old_rev_thread && v_in_ != old_rev_thread) ? old_rev_thread : new_last;
        bool out_prefix = true;
        for (u = v_out; u != join_; u = parent_[u]) {
            out_prefix = out_prefix && last_succ_[u] == old_last_succ;
            last_succ_[u] = out_prefix ? out_last : last_succ_[u];
            succ_num_[u] -= old_succ_num;
            pred_flow_[u] += on_in_side[forward_[u]];
        }
        if (out_prefix && !in_past_join)
            for (; u != -1 && last_succ_[u] == old_last_succ; u = parent_[u]) last_succ_[u] = out_last;
    }

    void update_potential() {
        const double c = arc_cost(pred_[u_in_]);
        const double sigma = forward_[u_in_] ? pi_[v_in_] - pi_[u_in_] - c : pi_[v_in_] - pi_[u_in_] + c;
        const index_t end = thread_[last_succ_[u_in_]];
        double* pi = pi_.data();
        const index_t* th = thread_.data();
        if (2 * succ_num_[u_in_] <= num_nodes_) {
            // The subtree is the thread from u_in to last_succ[u_in]: walked
            // from both ends at once (thread forward, rev_thread backward)
            // until they meet. Each step is a dependent load; two chains in
            // flight halve the latency-bound walk (Dirichlet weights make
            // subtrees of hundreds of nodes).
            const index_t* rth = rev_thread_.data();
            index_t a = u_in_, z = last_succ_[u_in_];
            while (true) {
                pi[a] += sigma;
                if (a == z) break;
                pi[z] += sigma;
                a = th[a];
                if (a == z) break;
                z = rth[z];
            }
        } else {
            // Potentials matter only up to a common constant: shifting the
            // complement by -sigma is the same update, on the smaller side;
            // its two stretches of the thread are walked at once.
            index_t a = root_, z = end;
            while (a != u_in_ && z != root_) {
                pi[a] -= sigma;
                pi[z] -= sigma;
                a = th[a];
                z = th[z];
            }
            for (; a != u_in_; a = th[a]) pi[a] -= sigma;
            for (; z != root_; z = th[z]) pi[z] -= sigma;
        }
    }

    bool pivot() {
        if (!find_join_and_leaving_arc()) return false;
        update_tree_structure();  // with the flow change around the cycle
        update_potential();
        return true;
    }
};

// The plan of a solved tree, read with the demands unshrunk: b * ratio,
// ratio = sa / sb (`demand`: room for the tree's columns). With the shrunk
// ones the few ulps of excess must leave each source through real arcs to
// the source that hangs from the root, so identical clouds came out at
// ~1e-15 instead of 0 (and W_p = cost^(1/p) magnifies that: 0.02 at p = 8).
// The tree stays optimal (its potentials do not depend on the demands);
// only arcs whose flow was within those ulps of 0 can turn negative, and
// they are left out of the plan (for_each_plan_entry keeps flows > 0).
// row(r), col(c): the problem's row and column of the tree's source r and
// sink c. Writes the plan, its size and its cost into `out`; returns the cost.
template <class T, class Row, class Col>
double write_plan(TransportSimplex<T>& simplex, const T* M, index_t m, const T* b, double ratio, double* demand,
                  Row row, Col col, NetworkSimplexOutput<T>& out) {
    for (index_t c = 0; c < simplex.num_sinks(); ++c) demand[c] = double(b[col(c)]) * ratio;
    simplex.set_demands(demand);
    double cost = 0.0;
    index_t k = 0;
    simplex.for_each_plan_entry([&](index_t r, index_t c, double f) {
        const index_t i = row(r), j = col(c);
        out.plan_rows[k] = i;
        out.plan_cols[k] = j;
        out.plan_values[k] = T(f);
        cost += f * double(M[i * m + j]);
        ++k;
    });
    out.num_plan = k;
    out.cost = cost;
    return cost;
}

// Solve one problem on the active (positive-weight) bins. Buffers are the
// caller's; `sub` is per-thread scratch for a compacted cost matrix.
template <class T>
void solve_one(const T* a, const T* b, const T* M, index_t n, index_t m, const NetworkSimplexParams& params,
               NetworkSimplexOutput<T>& out, Interrupt& interrupt, bool may_call_back, bool allow_threads,
               std::vector<T>& sub) {
    out.num_plan = 0;
    out.cost = 0.0;
    out.duality_gap = 0.0;
    out.n_iter = 0;
    if (interrupt.requested()) {
        out.status = SolveStatus::interrupted;
        return;
    }
    std::vector<index_t> ia, ib;
    ia.reserve(std::size_t(n));
    ib.reserve(std::size_t(m));
    double sa = 0.0, sb = 0.0;
    for (index_t i = 0; i < n; ++i)
        if (a[i] > 0) ia.push_back(i), sa += double(a[i]);
    for (index_t j = 0; j < m; ++j)
        if (b[j] > 0) ib.push_back(j), sb += double(b[j]);
    if (ia.empty() || ib.empty()) throw std::invalid_argument("network_simplex: a and b need positive total mass");
    const index_t na = index_t(ia.size()), mb = index_t(ib.size());

    const T* Ms = M;
    if (na != n || mb != m) {
        sub.resize(std::size_t(na * mb));
        for (index_t r = 0; r < na; ++r) {
            const T* src = M + ia[r] * m;
            T* dst = sub.data() + r * mb;
            for (index_t c = 0; c < mb; ++c) dst[c] = src[ib[c]];
        }
        Ms = sub.data();
    }

    // Supplies in double; the demands scaled a few ulps short of them (shrunk_demand_scale).
    std::vector<double> supply(static_cast<std::size_t>(na)), demand(static_cast<std::size_t>(mb));
    for (index_t r = 0; r < na; ++r) supply[r] = double(a[ia[r]]);
    const double scale = shrunk_demand_scale(sa, sb);
    for (index_t c = 0; c < mb; ++c) demand[c] = double(b[ib[c]]) * scale;

    // Two pricing threads pay off once a block (sqrt(n m) arcs) outweighs a
    // barrier; batches already use one thread per problem.
    const bool two_threads = allow_threads && max_threads() >= 2 && na * mb >= k_two_threads_min_arcs;
    TransportSimplex<T> simplex(Ms, na, mb, supply.data(), demand.data(), two_threads);
    out.status = simplex.run(params.max_iter, interrupt, may_call_back, two_threads);
    out.n_iter = simplex.n_iter();
    if (out.status == SolveStatus::interrupted) return;

    std::vector<double> u(static_cast<std::size_t>(na)), v(static_cast<std::size_t>(mb));
    simplex.potentials(u.data(), v.data());

    const double cost = write_plan(simplex, M, m, b, sa / sb, demand.data(), [&](index_t r) { return ia[r]; },
                                   [&](index_t c) { return ib[c]; }, out);

    // Potentials of the full problem. Zero-weight sources get the largest
    // feasible value against the active sinks, then zero-weight sinks against
    // every source: all constraints f_i + g_j <= M_ij hold, and the dual
    // objective is unchanged (their weights are 0).
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> f(static_cast<std::size_t>(n), nan), g(static_cast<std::size_t>(m), nan);
    for (index_t r = 0; r < na; ++r) f[ia[r]] = u[r];
    for (index_t c = 0; c < mb; ++c) g[ib[c]] = v[c];
    if (na != n) {
        for (index_t i = 0; i < n; ++i) {
            if (a[i] > 0) continue;
            double best = std::numeric_limits<double>::infinity();
            for (index_t c = 0; c < mb; ++c) best = std::min(best, double(M[i * m + ib[c]]) - v[c]);
            f[i] = best;
        }
    }
    if (mb != m) {
        for (index_t j = 0; j < m; ++j) {
            if (b[j] > 0) continue;
            double best = std::numeric_limits<double>::infinity();
            for (index_t i = 0; i < n; ++i) best = std::min(best, double(M[i * m + j]) - f[i]);
            g[j] = best;
        }
    }
    double dual = 0.0;
    for (index_t r = 0; r < na; ++r) dual += double(a[ia[r]]) * u[r];
    for (index_t c = 0; c < mb; ++c) dual += double(b[ib[c]]) * v[c];
    out.duality_gap = std::fabs(cost - dual);
    for (index_t i = 0; i < n; ++i) out.potential_a[i] = T(f[i]);
    for (index_t j = 0; j < m; ++j) out.potential_b[j] = T(g[j]);
}

}  // namespace
}  // namespace emd

// After TransportSimplex, whose tree it starts from other bases.
#include "network_simplex/warm_start.hpp"

namespace emd {

template <class T>
void network_simplex(const T* a, const T* b, const T* M, std::int64_t n, std::int64_t m,
                     const NetworkSimplexParams& params, NetworkSimplexOutput<T>& out, Interrupt& interrupt,
                     bool may_call_back) {
    std::vector<T> sub;
    solve_one(a, b, M, n, m, params, out, interrupt, may_call_back, true, sub);
}

template <class T>
void network_simplex_batch(const T* a, const T* b, const T* M, std::int64_t num_problems, std::int64_t n,
                           std::int64_t m, bool shared_cost, const NetworkSimplexParams& params,
                           T* potential_a, T* potential_b, std::int64_t* plan_rows, std::int64_t* plan_cols,
                           T* plan_values, std::int64_t* num_plan, double* cost, double* duality_gap,
                           std::int64_t* n_iter, std::int32_t* status, Interrupt& interrupt) {
    const index_t plan_cap = n + m - 1;
    std::exception_ptr error = nullptr;
    auto solve_k = [&](index_t k, std::vector<T>& sub, bool allow_threads, WarmStart<T>* warm) {
        NetworkSimplexOutput<T> out{potential_a + k * n, potential_b + k * m, plan_rows + k * plan_cap,
                                    plan_cols + k * plan_cap, plan_values + k * plan_cap};
        const T* Mk = shared_cost ? M : M + k * n * m;
        if (!warm || interrupt.requested() || !warm->solve(a + k * n, b + k * m, out, interrupt))
            solve_one(a + k * n, b + k * m, Mk, n, m, params, out, interrupt, thread_id() == 0, allow_threads, sub);
        num_plan[k] = out.num_plan;
        cost[k] = out.cost;
        duality_gap[k] = out.duality_gap;
        n_iter[k] = out.n_iter;
        status[k] = static_cast<std::int32_t>(out.status);
    };
    if (num_problems == 1) {
        std::vector<T> sub;
        solve_k(0, sub, true, nullptr);
        return;
    }
    // Small problems sharing M, run to optimality, start warm (see
    // network_simplex/warm_start.hpp): in fixed chunks of consecutive
    // problems, each chunk on one thread from a fresh tree, so every result
    // depends on the input alone (not on the threads or their schedule).
    const bool warm = shared_cost && params.max_iter < 0 && n * m <= k_warm_max_arcs;
    const index_t chunk = warm ? k_warm_chunk : 1;
    const index_t num_chunks = (num_problems + chunk - 1) / chunk;
    std::unique_ptr<const CostRanking> ranking;
    if (warm) {
        try {
            ranking = std::make_unique<const CostRanking>(M, n * m);
        } catch (const std::bad_alloc&) {
            // every problem cold
        }
    }
#if defined(EMD_HAVE_OPENMP)
#pragma omp parallel
#endif
    {
        std::vector<T> sub;
        std::unique_ptr<WarmStart<T>> chain;
#if defined(EMD_HAVE_OPENMP)
#pragma omp for schedule(dynamic, 1)
#endif
        for (index_t c = 0; c < num_chunks; ++c) {
            if (ranking && !interrupt.poll(thread_id() == 0)) {
                try {
                    if (chain) {
                        chain->restart();
                    } else {
                        chain = std::make_unique<WarmStart<T>>(M, n, m, *ranking);
                    }
                } catch (...) {
                    chain.reset();  // cold solves for this chunk
                }
            }
            for (index_t k = c * chunk; k < std::min(num_problems, (c + 1) * chunk); ++k) {
                try {
                    solve_k(k, sub, false, chain.get());
                } catch (...) {
#if defined(EMD_HAVE_OPENMP)
#pragma omp critical(emd_network_simplex_error)
#endif
                    if (!error) error = std::current_exception();
                    status[k] = static_cast<std::int32_t>(SolveStatus::infeasible);
                }
            }
        }
    }
    if (error) std::rethrow_exception(error);
}

#define EMD_INSTANTIATE(T)                                                                                      \
    template void network_simplex<T>(const T*, const T*, const T*, std::int64_t, std::int64_t,                 \
                                     const NetworkSimplexParams&, NetworkSimplexOutput<T>&, Interrupt&, bool); \
    template void network_simplex_batch<T>(const T*, const T*, const T*, std::int64_t, std::int64_t,           \
                                           std::int64_t, bool, const NetworkSimplexParams&, T*, T*,            \
                                           std::int64_t*, std::int64_t*, T*, std::int64_t*, double*, double*,  \
                                           std::int64_t*, std::int32_t*, Interrupt&);
EMD_INSTANTIATE(float)
EMD_INSTANTIATE(double)
#undef EMD_INSTANTIATE

}  // namespace emd
