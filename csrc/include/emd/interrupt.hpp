// Cooperative cancellation for long solves, with no Python in the kernels.
//
// A kernel calls `poll()` every few thousand iterations (cheap: a counter
// test, then an atomic load); the binding supplies a callback that takes the
// GIL and asks Python whether a signal (Ctrl-C) is pending. Once it says yes
// the flag stays set, every thread sees it, and the kernel returns early with
// an "interrupted" status; the binding then raises KeyboardInterrupt.
#pragma once
#include <atomic>

namespace emd {

class Interrupt {
   public:
    using Callback = bool (*)(void* context);

    Interrupt() = default;
    Interrupt(Callback callback, void* context) : callback_(callback), context_(context) {}

    // True once an interrupt was requested. Safe from any thread, but only
    // the thread that calls with `may_call_back` asks the callback.
    bool poll(bool may_call_back = true) {
        if (flag_.load(std::memory_order_relaxed)) return true;
        if (may_call_back && callback_ && callback_(context_)) {
            flag_.store(true, std::memory_order_relaxed);
            return true;
        }
        return false;
    }
    bool requested() const { return flag_.load(std::memory_order_relaxed); }

   private:
    Callback callback_ = nullptr;
    void* context_ = nullptr;
    std::atomic<bool> flag_{false};
};

}  // namespace emd
