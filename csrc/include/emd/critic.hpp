// Forward passes of MLP critics f_w: R^d -> R, the function a Wasserstein GAN
// uses to estimate W1 through Kantorovich-Rubinstein duality,
//
//     W1(P_r, P_g) = sup_{||f||_L <= 1} E_{x~P_r} f(x) - E_{x~P_g} f(x).
//
// The network: h_0 = x; h_{l+1} = leaky(h_l W_l + b_l) for hidden layers
// (leaky(t) = t for t >= 0, slope * t otherwise); the last layer is linear and
// has fan_out 1. Weights are (fan_in, fan_out) row-major, as in numpy's
// `h @ W`. Arrays of a stack of K critics gain a leading K axis: critic k's
// layer l starts at weights[l] + k * fan_in * fan_out.
#pragma once
#include <cstdint>

#include "emd/interrupt.hpp"

namespace emd {

template <class T>
struct MLPView {
    int num_layers = 0;                  // number of affine layers (>= 1)
    const std::int64_t* dims = nullptr;  // num_layers + 1 widths: d, hidden..., 1
    const T* const* weights = nullptr;   // num_layers pointers, (K, fan_in, fan_out)
    const T* const* biases = nullptr;    // num_layers pointers, (K, fan_out)
    std::int64_t num_critics = 1;        // K
    T slope = T(0.2);
};

// out[k * batch + i] = f_k(x[k * batch + i, :]) for k < num_critics, i < batch.
// x is (K, batch, d) C-contiguous; when shared_x, x is one (batch, d) array fed
// to every critic. Row tiles run on OpenMP threads; every output depends only
// on its own row, so results do not depend on the number of threads.
template <class T>
void critic_forward(const MLPView<T>& net, const T* x, std::int64_t batch, bool shared_x, T* out);

// Fused Kantorovich-Rubinstein estimate of one critic (num_critics == 1):
// mean_i f(x_real[i]) - mean_j f(x_fake[j]), without materializing f over the
// samples: each thread keeps one row tile of activations, and the sums run
// over a fixed number of blocks (independent of the thread count) accumulated
// in double, so the result is deterministic and the extra memory is constant
// in the sample counts. Returns false when interrupted (result unset).
template <class T>
bool kr_estimate(const MLPView<T>& net, const T* x_real, std::int64_t n_real, const T* x_fake,
                 std::int64_t n_fake, Interrupt& interrupt, double* result);

}  // namespace emd
