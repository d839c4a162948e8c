// Shared by the _cuda binding files: device arrays cross as integer pointers
// (0 for None) with the dtype given by its itemsize. Conversion only.
#pragma once
#include <cstdint>
#include <stdexcept>

#include "emd/gpu.hpp"

namespace emd::bindings::cuda {

inline emd::gpu::Dtype dtype_of(int itemsize) {
    if (itemsize == 4) return emd::gpu::Dtype::float32;
    if (itemsize == 8) return emd::gpu::Dtype::float64;
    throw std::invalid_argument("dtype itemsize must be 4 (float32) or 8 (float64)");
}

template <class P>
P* ptr(std::uintptr_t address) {
    return reinterpret_cast<P*>(address);
}

}  // namespace emd::bindings::cuda
