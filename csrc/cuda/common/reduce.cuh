// Warp and block reductions and scans in double, shared by every kernel.
//
// Thin wrappers over cub's WarpReduce / BlockReduce / BlockScan: their
// association order is fixed by the block shape, so a sum over a block is the
// same bits on every run (emd promises deterministic results; we never use
// floating-point atomics for sums).
#pragma once
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

namespace emd::gpu::detail {

struct MaxOp {
    __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};
struct SumOp {
    __device__ double operator()(double a, double b) const { return a + b; }
};

// Sum over the block; the result is valid in thread 0 only.
template <int BLOCK>
__device__ double block_sum(double x) {
    using Reduce = cub::BlockReduce<double, BLOCK>;
    __shared__ typename Reduce::TempStorage tmp;
    const double r = Reduce(tmp).Sum(x);
    __syncthreads();  // tmp may be reused by the next call
    return r;
}

// Maximum over the block; the result is valid in thread 0 only.
template <int BLOCK>
__device__ double block_max(double x) {
    using Reduce = cub::BlockReduce<double, BLOCK>;
    __shared__ typename Reduce::TempStorage tmp;
    const double r = Reduce(tmp).Reduce(x, MaxOp{});
    __syncthreads();
    return r;
}

// Sum over the block, broadcast to every thread.
template <int BLOCK>
__device__ double block_sum_all(double x) {
    __shared__ double total;
    const double r = block_sum<BLOCK>(x);
    if (threadIdx.x == 0) total = r;
    __syncthreads();
    const double out = total;
    __syncthreads();
    return out;
}

// Exclusive prefix sum over the block of ITEMS consecutive values per thread
// (blocked arrangement); returns the block total to every thread.
template <int BLOCK, int ITEMS>
__device__ double block_exclusive_sum(double (&items)[ITEMS]) {
    using Scan = cub::BlockScan<double, BLOCK>;
    __shared__ typename Scan::TempStorage tmp;
    double total;
    Scan(tmp).ExclusiveScan(items, items, 0.0, SumOp{}, total);
    __syncthreads();
    return total;
}

// Exclusive running maximum over the block of one value per thread (thread 0
// gets `identity`). Maximum is exact, so any association gives the same bits.
template <int BLOCK>
__device__ double block_exclusive_max(double x, double identity) {
    using Scan = cub::BlockScan<double, BLOCK>;
    __shared__ typename Scan::TempStorage tmp;
    double out;
    Scan(tmp).ExclusiveScan(x, out, identity, MaxOp{});
    __syncthreads();
    return out;
}

}  // namespace emd::gpu::detail
