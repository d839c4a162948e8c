// A/B of builds of the batched exact solver, in one process, on one thread: the C++ side of
// benchmarks/ab_network_simplex_batched.py (issue 19), without Python or OpenMP in the timing.
//
// Each build is csrc/cpu/network_simplex*.cpp of one source tree as its own shared library,
// loaded side by side (RTLD_LOCAL) and called alternately, so that all builds face the same load:
//
//   for t in old new; do g++ -std=c++17 -O3 -march=native -fPIC -shared -I$t/csrc/include
//       $t/csrc/cpu/network_simplex.cpp $t/csrc/cpu/network_simplex_pricing.cpp -o $t.so; done
//   g++ -std=c++17 -O2 -Icsrc/include benchmarks/ab_network_simplex_batched.cpp -o ab -ldl
//   ./ab ROUNDS NUM_PROBLEMS N ./old.so ./new.so          (e.g. ./ab 21 1000 64 ./old.so ./new.so)
//
// The workload: NUM_PROBLEMS problems of N x N, Dirichlet(1) weights, one shared squared-euclidean
// cost between uniform 2-D points (C++'s RNG, seed 1: the Python script's shape, not its numbers).
// Prints each build's pivots per problem, its largest cost difference to the first build and its
// largest duality gap, then the thread CPU time of one batch call per build: median, p25, min.
#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "emd/network_simplex.hpp"

namespace {

using Batch = void (*)(const double*, const double*, const double*, std::int64_t, std::int64_t, std::int64_t, bool,
                       const emd::NetworkSimplexParams&, double*, double*, std::int64_t*, std::int64_t*, double*,
                       std::int64_t*, double*, double*, std::int64_t*, std::int32_t*, emd::Interrupt&);
// emd::network_simplex_batch<double>, as g++ mangles it.
constexpr const char* k_symbol =
    "_ZN3emd21network_simplex_batchIdEEvPKT_S3_S3_lllbRKNS_20NetworkSimplexParamsEPS1_S7_PlS8_S7_S8_PdS9_S8_PiRNS_"
    "9InterruptE";

double thread_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

void dirichlet_rows(std::mt19937_64& rng, std::vector<double>& w, std::int64_t rows, std::int64_t len) {
    std::gamma_distribution<double> gamma(1.0, 1.0);
    for (std::int64_t k = 0; k < rows; ++k) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < len; ++i) sum += w[k * len + i] = gamma(rng);
        for (std::int64_t i = 0; i < len; ++i) w[k * len + i] /= sum;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::printf("usage: %s ROUNDS NUM_PROBLEMS N LIB.so [LIB.so ...]\n", argv[0]);
        return 2;
    }
    const int rounds = std::max(std::atoi(argv[1]), 1);
    const std::int64_t num = std::atoi(argv[2]), n = std::atoi(argv[3]), m = n, cap = n + m - 1;
    std::vector<Batch> builds;
    for (int k = 4; k < argc; ++k) {
        void* lib = dlopen(argv[k], RTLD_NOW | RTLD_LOCAL);
        Batch fn = lib ? reinterpret_cast<Batch>(dlsym(lib, k_symbol)) : nullptr;
        if (!fn) {
            std::printf("%s: %s\n", argv[k], dlerror());
            return 1;
        }
        builds.push_back(fn);
    }

    const auto sz = [](std::int64_t k) { return static_cast<std::size_t>(k); };
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> x(sz(2 * n)), y(sz(2 * m)), M(sz(n * m));
    for (double& v : x) v = uniform(rng);
    for (double& v : y) v = uniform(rng);
    for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t j = 0; j < m; ++j) {
            const double dx = x[2 * i] - y[2 * j], dy = x[2 * i + 1] - y[2 * j + 1];
            M[i * m + j] = dx * dx + dy * dy;
        }
    }
    std::vector<double> A(sz(num * n)), B(sz(num * m));
    dirichlet_rows(rng, A, num, n);
    dirichlet_rows(rng, B, num, m);

    std::vector<double> pa(sz(num * n)), pb(sz(num * m)), pv(sz(num * cap));
    std::vector<double> cost(sz(num)), gap(sz(num)), first_cost(sz(num));
    std::vector<std::int64_t> rows(sz(num * cap)), cols(sz(num * cap)), num_plan(sz(num));
    std::vector<std::int64_t> n_iter(sz(num));
    std::vector<std::int32_t> status(sz(num));
    const emd::NetworkSimplexParams params;
    emd::Interrupt interrupt;
    auto call = [&](Batch fn) {
        fn(A.data(), B.data(), M.data(), num, n, m, true, params, pa.data(), pb.data(), rows.data(), cols.data(),
           pv.data(), num_plan.data(), cost.data(), gap.data(), n_iter.data(), status.data(), interrupt);
    };

    for (std::size_t b = 0; b < builds.size(); ++b) {
        call(builds[b]);
        double pivots = 0.0, diff = 0.0, worst_gap = 0.0;
        int not_optimal = 0;
        for (std::int64_t k = 0; k < num; ++k) {
            if (b == 0) first_cost[k] = cost[k];
            pivots += double(n_iter[k]);
            not_optimal += status[k] != 0;
            diff = std::max(diff, std::fabs(cost[k] - first_cost[k]) / first_cost[k]);
            worst_gap = std::max(worst_gap, gap[k] / cost[k]);
        }
        std::printf("%s: pivots/problem %.3f, max rel. diff to the first %.1e, max gap/cost %.1e, not optimal %d\n",
                    argv[4 + b], pivots / double(num), diff, worst_gap, not_optimal);
    }
    std::vector<std::vector<double>> seconds(builds.size());
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t b = 0; b < builds.size(); ++b) {
            const double start = thread_cpu_seconds();
            call(builds[b]);
            seconds[b].push_back(thread_cpu_seconds() - start);
        }
    }
    std::vector<double> medians;
    for (std::size_t b = 0; b < builds.size(); ++b) {
        std::vector<double>& t = seconds[b];
        std::sort(t.begin(), t.end());
        medians.push_back(t[t.size() / 2]);
        std::printf("%-40s median %8.2f ms  p25 %8.2f  min %8.2f  (%d rounds)\n", argv[4 + b], 1e3 * t[t.size() / 2],
                    1e3 * t[t.size() / 4], 1e3 * t[0], rounds);
    }
    if (builds.size() > 1) std::printf("first / last (medians): %.3fx\n", medians.front() / medians.back());
    return 0;
}
