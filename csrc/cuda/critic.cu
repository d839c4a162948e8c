// MLP critic forward passes and the fused Kantorovich-Rubinstein estimate.
//
// One block holds every layer of one critic in shared memory (narrow
// networks: widths <= 64, see critic_fused_fits) and walks tiles of 64
// samples through all the layers: the tile's activations stay in shared
// memory between layers (two ping-pong buffers), so the only global traffic
// is the input rows and one output per sample. In a hidden layer thread t
// owns output neuron j = t % 64 for the samples t / 64, t / 64 + 4, ...: it
// reads W[k][j] once per k (consecutive threads, consecutive j: no bank
// conflicts) and the activation h[s][k] is a broadcast, 16 accumulators in
// registers. The bias and the LeakyReLU are applied to the accumulators.
// The last layer (fan_out 1) is a dot product per sample. Stacked critics run
// on blockIdx.y. Wider networks are better served by cuBLAS (CuPy's matmul)
// and take that path in python/emd/_gpu.py.
//
// kr_estimate streams real then fake samples through the same tiles and sums
// f / n_real - f / n_fake in double per block (cub reduction, fixed grid);
// the block partials are added in index order: deterministic, and f is never
// stored.
#include <algorithm>
#include <cstdint>

#include "common/check.cuh"
#include "common/reduce.cuh"
#include "emd/gpu.hpp"

namespace emd::gpu {
namespace {

using i64 = std::int64_t;

constexpr int kBlock = 256;
constexpr int kTile = 64;                        // samples per tile
constexpr int kWidth = kCriticMaxWidth;          // 64
constexpr int kStride = kWidth + 1;              // activation row stride: the last layer's per-sample reads avoid bank conflicts
constexpr int kGroups = kBlock / kWidth;         // 4 sample groups per block
constexpr int kPerThread = kTile / kGroups;      // 16 accumulators
constexpr int kMaxGrid = 512;                    // fixed: the sums' order does not depend on the device

template <class T>
struct Net {
    int num_layers;
    int dims[kCriticMaxLayers + 1];
    const T* w[kCriticMaxLayers];
    const T* b[kCriticMaxLayers];
    int w_offset[kCriticMaxLayers];  // where layer l's weights start in shared memory (elements)
    int b_offset[kCriticMaxLayers];
    int params;                      // total elements of one critic's parameters
    T slope;
};

template <class T>
Net<T> make_net(const CriticNet& c) {
    Net<T> net{};
    net.num_layers = c.num_layers;
    int off = 0;
    for (int l = 0; l <= c.num_layers; ++l) net.dims[l] = int(c.dims[l]);
    for (int l = 0; l < c.num_layers; ++l) {
        net.w[l] = static_cast<const T*>(c.d_weights[l]);
        net.b[l] = static_cast<const T*>(c.d_biases[l]);
        net.w_offset[l] = off;
        off += net.dims[l] * net.dims[l + 1];
        net.b_offset[l] = off;
        off += net.dims[l + 1];
    }
    net.params = off;
    net.slope = T(c.slope);
    return net;
}

template <class T>
std::size_t smem_bytes(const Net<T>& net) {
    std::size_t params = (std::size_t(net.params) * sizeof(T) + 15) / 16 * 16;
    return params + 2 * std::size_t(kTile) * kStride * sizeof(T);
}

// Rows [row0, row0 + kTile) of the virtual batch through every layer; returns
// f(row) in thread t < kTile for sample row0 + t (valid when < rows).
template <class T, class Load>
__device__ T tile_forward(const Net<T>& net, const T* s_params, T* buf0, T* buf1, Load&& load_row_value) {
    const int d = net.dims[0];
    for (int e = threadIdx.x; e < kTile * d; e += kBlock) {
        const int s = e / d, k = e % d;
        buf0[s * kStride + k] = load_row_value(s, k);
    }
    __syncthreads();
    T* in = buf0;
    T* out = buf1;
    const int last = net.num_layers - 1;
    const int j = threadIdx.x % kWidth, grp = threadIdx.x / kWidth;
    for (int l = 0; l < last; ++l) {
        const int fan_in = net.dims[l], fan_out = net.dims[l + 1];
        const T* W = s_params + net.w_offset[l];
        if (j < fan_out) {
            const T bias = s_params[net.b_offset[l] + j];
            T acc[kPerThread];
#pragma unroll
            for (int r = 0; r < kPerThread; ++r) acc[r] = bias;
            for (int k = 0; k < fan_in; ++k) {
                const T w = W[k * fan_out + j];
#pragma unroll
                for (int r = 0; r < kPerThread; ++r) acc[r] += in[(grp + kGroups * r) * kStride + k] * w;
            }
#pragma unroll
            for (int r = 0; r < kPerThread; ++r) {
                const T v = acc[r], sv = v * net.slope;
                out[(grp + kGroups * r) * kStride + j] = v > sv ? v : sv;  // leaky(t) = max(t, slope t), 0 <= slope <= 1
            }
        }
        __syncthreads();
        T* t = in;
        in = out;
        out = t;
    }
    T result = T(0);
    if (threadIdx.x < kTile) {
        const int fan_in = net.dims[last];
        const T* W = s_params + net.w_offset[last];
        T acc = s_params[net.b_offset[last]];
        for (int k = 0; k < fan_in; ++k) acc += in[threadIdx.x * kStride + k] * W[k];
        result = acc;
    }
    __syncthreads();  // the buffers are reused by the next tile
    return result;
}

// Critic blockIdx.y's parameters into shared memory.
template <class T>
__device__ void load_params(const Net<T>& net, T* s_params) {
    const i64 k = blockIdx.y;
    for (int l = 0; l < net.num_layers; ++l) {
        const int nw = net.dims[l] * net.dims[l + 1], nb = net.dims[l + 1];
        const T* w = net.w[l] + k * nw;
        const T* b = net.b[l] + k * nb;
        for (int e = threadIdx.x; e < nw; e += kBlock) s_params[net.w_offset[l] + e] = w[e];
        for (int e = threadIdx.x; e < nb; e += kBlock) s_params[net.b_offset[l] + e] = b[e];
    }
    __syncthreads();
}

template <class T>
__device__ void carve_smem(const Net<T>& net, unsigned char* raw, T*& s_params, T*& buf0, T*& buf1) {
    s_params = reinterpret_cast<T*>(raw);
    const std::size_t params = (std::size_t(net.params) * sizeof(T) + 15) / 16 * 16;
    buf0 = reinterpret_cast<T*>(raw + params);
    buf1 = buf0 + kTile * kStride;
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    forward_kernel(Net<T> net, const T* __restrict__ x, i64 batch, bool shared_x, T* __restrict__ out) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T *s_params, *buf0, *buf1;
    carve_smem<T>(net, smem_raw, s_params, buf0, buf1);
    load_params<T>(net, s_params);
    const i64 k = blockIdx.y;
    const int d = net.dims[0];
    const T* xk = shared_x ? x : x + k * batch * d;
    T* outk = out + k * batch;
    for (i64 row0 = i64(blockIdx.x) * kTile; row0 < batch; row0 += i64(gridDim.x) * kTile) {
        const T v = tile_forward<T>(net, s_params, buf0, buf1, [&](int s, int c) {
            const i64 r = row0 + s;
            return r < batch ? xk[r * d + c] : T(0);
        });
        if (threadIdx.x < kTile && row0 + threadIdx.x < batch) outk[row0 + threadIdx.x] = v;
    }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    kr_kernel(Net<T> net, const T* __restrict__ x_real, i64 n_real, const T* __restrict__ x_fake, i64 n_fake,
              double* __restrict__ partials) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T *s_params, *buf0, *buf1;
    carve_smem<T>(net, smem_raw, s_params, buf0, buf1);
    load_params<T>(net, s_params);
    const int d = net.dims[0];
    const i64 total = n_real + n_fake;
    const double w_real = 1.0 / double(n_real), w_fake = -1.0 / double(n_fake);
    double acc = 0.0;
    for (i64 row0 = i64(blockIdx.x) * kTile; row0 < total; row0 += i64(gridDim.x) * kTile) {
        const T v = tile_forward<T>(net, s_params, buf0, buf1, [&](int s, int c) {
            const i64 r = row0 + s;
            if (r < n_real) return x_real[r * d + c];
            if (r < total) return x_fake[(r - n_real) * d + c];
            return T(0);
        });
        const i64 r = row0 + threadIdx.x;
        if (threadIdx.x < kTile && r < total) acc += double(v) * (r < n_real ? w_real : w_fake);
    }
    acc = detail::block_sum<kBlock>(acc);
    if (threadIdx.x == 0) partials[i64(blockIdx.y) * gridDim.x + blockIdx.x] = acc;
}

__global__ void kr_finish_kernel(const double* __restrict__ partials, int per_critic, i64 num_critics, double* __restrict__ out) {
    const i64 k = blockIdx.x * i64(blockDim.x) + threadIdx.x;
    if (k >= num_critics) return;
    double s = 0.0;
    for (int p = 0; p < per_critic; ++p) s += partials[k * per_critic + p];
    out[k] = s;
}

unsigned grid_x(i64 rows) { return unsigned(std::max<i64>(1, std::min<i64>((rows + kTile - 1) / kTile, kMaxGrid))); }

template <class T, class Kernel>
void set_smem(Kernel kernel, std::size_t bytes) {
    detail::check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
                  "critic: shared memory opt-in");
}

void check_net(const CriticNet& net, int device) {
    detail::require(critic_fused_fits(net, device), "critic: network too wide or deep for the fused kernel (widths <= 64, <= 8 layers)");
    detail::require(net.num_critics >= 1 && net.num_critics < 65536, "critic: 1 <= num_critics < 65536");
}

template <class T>
void forward_impl(const CriticNet& c, const T* x, i64 batch, bool shared_x, T* out, cudaStream_t s) {
    const Net<T> net = make_net<T>(c);
    const std::size_t smem = smem_bytes(net);
    set_smem<T>(forward_kernel<T>, smem);
    const dim3 grid(grid_x(batch), unsigned(c.num_critics));
    forward_kernel<T><<<grid, kBlock, smem, s>>>(net, x, batch, shared_x, out);
    detail::check_launch("critic_forward");
}

template <class T>
void kr_impl(const CriticNet& c, const T* xr, i64 n_real, const T* xf, i64 n_fake, double* out, double* partials,
             cudaStream_t s) {
    const Net<T> net = make_net<T>(c);
    const std::size_t smem = smem_bytes(net);
    set_smem<T>(kr_kernel<T>, smem);
    const unsigned gx = grid_x(n_real + n_fake);
    kr_kernel<T><<<dim3(gx, unsigned(c.num_critics)), kBlock, smem, s>>>(net, xr, n_real, xf, n_fake, partials);
    kr_finish_kernel<<<unsigned((c.num_critics + 127) / 128), 128, 0, s>>>(partials, int(gx), c.num_critics, out);
    detail::check_launch("kr_estimate");
}

}  // namespace

bool critic_fused_fits(const CriticNet& net, int device) {
    if (net.num_layers < 1 || net.num_layers > kCriticMaxLayers) return false;
    if (net.dims[net.num_layers] != 1) return false;
    for (int l = 0; l < net.num_layers; ++l)
        if (net.dims[l] < 1 || net.dims[l] > kWidth) return false;
    std::size_t params = 0;
    for (int l = 0; l < net.num_layers; ++l) params += std::size_t(net.dims[l] * net.dims[l + 1] + net.dims[l + 1]);
    const std::size_t item = net.dtype == Dtype::float32 ? 4 : 8;
    // The device's opt-in limit (227 KiB on H100, 163 KiB on A100), less 1 KiB
    // for the reduction's static storage; 48 KiB when it cannot be asked.
    int optin = 0;
    if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
        (void)cudaGetLastError();
        optin = 48 * 1024;
    }
    const std::size_t limit = std::size_t(std::max(optin, 48 * 1024)) - 1024;
    return (params * item + 15) / 16 * 16 + 2 * std::size_t(kTile) * kStride * item <= limit;
}

void critic_forward(const CriticNet& net, const void* d_x, i64 batch, bool shared_x, void* d_out, int device,
                    std::uintptr_t stream) {
    check_net(net, device);
    detail::require(batch >= 1, "critic_forward: batch must be >= 1");
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    if (net.dtype == Dtype::float32)
        forward_impl<float>(net, static_cast<const float*>(d_x), batch, shared_x, static_cast<float*>(d_out), s);
    else
        forward_impl<double>(net, static_cast<const double*>(d_x), batch, shared_x, static_cast<double*>(d_out), s);
}

std::size_t kr_estimate_workspace_bytes(const CriticNet& net) {
    return std::size_t(kMaxGrid) * std::size_t(std::max<i64>(1, net.num_critics)) * sizeof(double) + 256;
}

void kr_estimate(const CriticNet& net, const void* d_x_real, i64 n_real, const void* d_x_fake, i64 n_fake,
                 double* d_out, void* d_workspace, std::size_t workspace_bytes, int device, std::uintptr_t stream) {
    check_net(net, device);
    detail::require(n_real >= 1 && n_fake >= 1, "kr_estimate: both samples must be nonempty");
    detail::require(d_workspace && workspace_bytes >= kr_estimate_workspace_bytes(net), "kr_estimate: workspace too small");
    detail::use_device(device);
    const cudaStream_t s = detail::as_stream(stream);
    double* partials = static_cast<double*>(d_workspace);
    if (net.dtype == Dtype::float32)
        kr_impl<float>(net, static_cast<const float*>(d_x_real), n_real, static_cast<const float*>(d_x_fake), n_fake,
                       d_out, partials, s);
    else
        kr_impl<double>(net, static_cast<const double*>(d_x_real), n_real, static_cast<const double*>(d_x_fake), n_fake,
                        d_out, partials, s);
}

}  // namespace emd::gpu
