// Thin OpenMP helpers so kernels compile (serially) without OpenMP.
#pragma once
#include <cstdint>

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

}  // namespace emd
