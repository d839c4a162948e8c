// Device discovery: the one query emd.has_cuda() makes.
#include <cuda_runtime.h>

#include "emd/gpu.hpp"

namespace emd::gpu {

int device_count() noexcept {
    int count = 0;
    // No driver, no device, or a driver older than this runtime all come back
    // as errors here; each means "no usable GPU", never an exception.
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

}  // namespace emd::gpu
