// EMD_HOST_DEVICE marks the functions written once for the CPU kernels and
// the CUDA kernels alike (ground metrics, the Sinkhorn controller): nvcc
// compiles them for both sides, a plain C++ compiler sees ordinary inline
// functions. Such functions use only what both sides have: <cmath>'s double
// functions unqualified (fabs, sqrt, exp, pow), no allocation, no exceptions.
#pragma once

#if defined(__CUDACC__)
#define EMD_HOST_DEVICE __host__ __device__
#else
#define EMD_HOST_DEVICE
#endif
