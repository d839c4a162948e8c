// The two-thread pricing helper of the network simplex: see
// network_simplex/pricing_helper.hpp.
#include <system_error>
#include <utility>

#include "network_simplex/pricing_helper.hpp"

namespace emd::network_simplex_detail {

PricingHelper::PricingHelper(ScanFn scan) : scan_(std::move(scan)) {
    try {
        helper_ = std::thread([this] { helper_loop(); });
    } catch (const std::system_error&) {
        use_helper_ = false;  // no thread to be had: started() is false
    }
}

PricingHelper::~PricingHelper() {
    open_round_.store(k_quit, std::memory_order_release);
    if (helper_.joinable()) helper_.join();
}

void PricingHelper::helper_loop() {
    index_t seen = k_idle;
    int spins = 0;
    while (true) {
        index_t r = open_round_.load(std::memory_order_acquire);
        if (r == k_quit) return;
        if (r < 0 || r == seen) {
            if (++spins > 64) {
                std::this_thread::yield();
                spins = 0;
            }
            continue;
        }
        seen = r;
        const index_t lin = job_lin_.load(std::memory_order_relaxed);
        const index_t len = job_len_.load(std::memory_order_relaxed);
        if (!open_round_.compare_exchange_strong(r, k_claimed, std::memory_order_acq_rel)) continue;
        job_result_ = len > 0 ? scan_(lin, len) : Scan{};
        done_round_.store(seen, std::memory_order_release);
    }
}

void PricingHelper::scan_two(index_t lin0, index_t len0, index_t lin1, index_t len1, Scan& r0, Scan& r1) {
    const index_t round = round_++;
    if (use_helper_) {
        job_lin_.store(lin1, std::memory_order_relaxed);
        job_len_.store(len1, std::memory_order_relaxed);
        open_round_.store(round, std::memory_order_release);
    }
    const auto t_scan = clock::now();
    r0 = scan_(lin0, len0);
    r1 = Scan{};
    index_t expected = round;
    if (!use_helper_ || open_round_.compare_exchange_strong(expected, k_idle, std::memory_order_acq_rel)) {
        // Block 1 unclaimed: needed only if block 0 holds no improving arc.
        if (r0.e < 0 && len1 > 0) r1 = scan_(lin1, len1);
        return;
    }
    const auto t_wait = clock::now();
    while (done_round_.load(std::memory_order_acquire) != round) std::this_thread::yield();
    const auto t_done = clock::now();
    r1 = job_result_;
    open_round_.store(k_idle, std::memory_order_release);
    waited_ += t_done - t_wait;
    scanned_time_ += t_wait - t_scan;
    if (++helped_ % 256 == 0 && waited_ > scanned_time_ / 2) {
        use_helper_ = false;
        open_round_.store(k_quit, std::memory_order_release);
    }
}

}  // namespace emd::network_simplex_detail
