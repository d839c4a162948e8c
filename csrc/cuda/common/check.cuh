// Error handling shared by the launchers: CUDA failures become C++ exceptions
// (pybind11 turns std::runtime_error into RuntimeError) naming the call.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace emd::gpu::detail {

inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        // Clear a non-sticky error so that the next call starts clean.
        (void)cudaGetLastError();
        throw std::runtime_error(std::string("emd CUDA error in ") + what + ": " + cudaGetErrorString(err));
    }
}

// After a <<<>>> launch: configuration errors show up here, not at the launch.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

inline cudaStream_t as_stream(std::uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

inline void use_device(int device) { check(cudaSetDevice(device), "cudaSetDevice"); }

inline void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
}

// Grid sizes: a 1-D grid holds up to 2^31 - 1 blocks.
inline unsigned grid_1d(std::int64_t blocks) {
    require(blocks < (std::int64_t(1) << 31), "problem too large for one CUDA grid");
    return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

// Carving one caller-provided workspace into aligned sub-buffers; the same
// walk with base == nullptr measures the size (so the two never disagree).
class Carver {
public:
    explicit Carver(void* base) : base_(static_cast<char*>(base)) {}
    template <class T>
    T* take(std::size_t count) {
        offset_ = (offset_ + 255) / 256 * 256;  // 256 B: what cub and coalescing want
        T* p = base_ ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
        offset_ += count * sizeof(T);
        return p;
    }
    std::size_t bytes() const { return offset_ + 256; }

private:
    char* base_;
    std::size_t offset_ = 0;
};

}  // namespace emd::gpu::detail
