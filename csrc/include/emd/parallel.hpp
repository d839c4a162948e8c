// Thin OpenMP helpers so kernels compile (serially) without OpenMP, and
// claim_each: work shared with helper threads whose late start costs nothing.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#if defined(EMD_HAVE_OPENMP)
#include <omp.h>
#endif

namespace emd {

inline int max_threads() {
#if defined(EMD_HAVE_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

inline int thread_id() {
#if defined(EMD_HAVE_OPENMP)
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// claim_each(count, helpers, make_worker): make_worker() returns a callable
// worker(k) (holding its thread's scratch); worker(k) runs once for every
// k < count. The calling thread and up to `helpers` fresh threads claim the
// k's from one counter; the caller waits only for helpers that claimed one.
//
// Why not an OpenMP team: a team's join waits for every member, and on a busy
// machine a member that the scheduler has not run yet holds the join for a
// time slice (3-6 ms measured) though the caller has done all the work by
// itself meanwhile. Here a helper that starts late finds nothing left to claim
// and exits without touching the caller's data: it only holds the shared
// counter, so the call returns as soon as the claimed work is done. Helper
// threads are detached and never outlive anything they use.
template <class MakeWorker>
void claim_each(std::int64_t count, int helpers, const MakeWorker& make_worker) {
    struct Shared {
        std::atomic<std::int64_t> next{0};
        std::atomic<int> active{0};  // helpers between their first claim and their exit
        std::mutex mutex;
        std::condition_variable idle;
        std::exception_ptr error;
    };
    auto shared = std::make_shared<Shared>();
    // A helper counts itself active before each claim, so a caller that has
    // seen the counter pass `count` and then `active == 0` knows no helper is
    // inside make_worker or a worker (the atomics are sequentially consistent).
    const auto help = [shared, count, &make_worker] {
        shared->active.fetch_add(1);
        std::int64_t k = shared->next.fetch_add(1);
        if (k < count) {
            try {
                auto worker = make_worker();
                for (; k < count; k = shared->next.fetch_add(1)) worker(k);
            } catch (...) {
                shared->next.store(count);  // nobody starts another k
                std::lock_guard<std::mutex> lock(shared->mutex);
                if (!shared->error) shared->error = std::current_exception();
            }
        }
        std::lock_guard<std::mutex> lock(shared->mutex);
        if (shared->active.fetch_sub(1) == 1) shared->idle.notify_all();
    };
    for (int h = 0; h < helpers && h + 1 < count; ++h) {
        try {
            std::thread(help).detach();
        } catch (const std::system_error&) {
            break;  // no thread to be had: the caller does the rest
        }
    }
    std::exception_ptr own;
    try {
        auto worker = make_worker();
        for (std::int64_t k = shared->next.fetch_add(1); k < count; k = shared->next.fetch_add(1)) worker(k);
    } catch (...) {
        shared->next.store(count);
        own = std::current_exception();  // rethrown once no helper uses the caller's data
    }
    std::unique_lock<std::mutex> lock(shared->mutex);
    shared->idle.wait(lock, [&] { return shared->active.load() == 0; });
    if (own) std::rethrow_exception(own);
    if (shared->error) std::rethrow_exception(shared->error);
}

}  // namespace emd
