// Block-search pricing shared by two threads (csrc/cpu/network_simplex.cpp).
//
// Each round, the solving thread prices block 0 after the current position
// while a helper thread prices block 1; the first of the two blocks holding
// an improving arc supplies the entering arc, exactly as the serial block
// search would choose it (it would have stopped at that block), so the
// pivots, hence the result, do not depend on the threads. Pricing streams M
// from memory and dominates large solves; a second core adds bandwidth.
//
// The solving thread never waits for a helper that has not started: it
// claims block 1 itself when the helper has not claimed it yet (a busy or
// descheduled helper then costs nothing but its spin). Rounds are claimed
// with a compare-and-swap on the round number, so a late helper can never
// take a round it did not see published.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace emd::network_simplex_detail {

using index_t = std::int64_t;

// The result of pricing a range of arcs.
struct Scan {
    double best = 0.0;  // most negative scaled reduced cost found (0: none)
    index_t e = -1;     // its arc
};

// The most violated arc among arcs [lin, lin + len) (cyclic, row-major); must
// be safe to call from two threads at once (it only reads the solver's state).
using ScanFn = std::function<Scan(index_t lin, index_t len)>;

class PricingHelper {
   public:
    // Starts the helper thread; started() is false when none could be had
    // (then the caller prices alone).
    explicit PricingHelper(ScanFn scan);
    ~PricingHelper();
    PricingHelper(const PricingHelper&) = delete;
    PricingHelper& operator=(const PricingHelper&) = delete;

    bool started() const { return helper_.joinable(); }

    // Prices [lin0, lin0 + len0) here and [lin1, lin1 + len1) on the helper
    // (or here, when the helper has not claimed it and block 0 found nothing).
    // r1 is meaningful only when r0 found no arc.
    void scan_two(index_t lin0, index_t len0, index_t lin1, index_t len1, Scan& r0, Scan& r1);

   private:
    static constexpr index_t k_claimed = -1, k_quit = -2, k_idle = -3;
    using clock = std::chrono::steady_clock;

    void helper_loop();

    ScanFn scan_;
    std::atomic<index_t> open_round_{k_idle}, done_round_{k_idle};
    std::atomic<index_t> job_lin_{0}, job_len_{0};
    Scan job_result_;
    std::thread helper_;
    index_t round_ = 0;
    // On a busy machine the helper may be descheduled mid-scan and waiting
    // for it costs more than it saves: then stop using it.
    clock::duration waited_{0}, scanned_time_{0};
    index_t helped_ = 0;
    bool use_helper_ = true;
};

}  // namespace emd::network_simplex_detail
