// Checks kv_sort and kv_sort_records against std::sort of the (key, payload)
// pairs: sizes 0..699 (every leaf size and the first partitions), then random
// sizes up to 3e5 (the 4096-point pivot boundary and deep recursions); values
// uniform, three distinct, already sorted, reversed, only -0.0 and +0.0,
// denormals, all equal; for kv_sort also keys equal to UINT64_MAX (the leaves'
// padding). Prints the number of failures (0 expected).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "kv_sort.hpp"

using u64 = std::uint64_t;
using Pairs = std::vector<std::pair<u64, u64>>;

static double draw(std::mt19937_64& rng, int kind, long i, long n) {
    switch (kind) {
        case 1: return double(rng() % 3) - 1.0;                     // ties
        case 2: return double(i);                                    // sorted
        case 3: return double(n - i);                                // reversed
        case 4: return (rng() % 2) ? 0.0 : -0.0;                     // signed zeros
        case 5: return std::ldexp(double(rng() % 7) - 3.0, -1074);   // denormals and zeros
        case 6: return 2.5;                                          // all equal
        default: return std::ldexp(double(rng() >> 11), -52) - 1.0;  // uniform in [-1, 1)
    }
}

int main() {
    if (!emd::kv_sort_is_available()) {
        std::printf("this CPU has no AVX-512F/DQ: nothing to check\n");
        return 0;
    }
    std::mt19937_64 rng(1);
    long failures = 0;
    for (int trial = 0; trial < 5000; ++trial) {
        const long n = trial < 700 ? trial : long(rng() % (trial < 3500 ? 5000 : 300000));
        const int kind = int(rng() % 8);
        std::vector<double> x(n), w(n);
        for (long i = 0; i < n; ++i) {
            x[i] = draw(rng, kind, i, n);
            w[i] = std::ldexp(double(rng() >> 11), -53);
        }
        Pairs expected(n);
        std::vector<u64> keys(n), payloads(n);
        for (long i = 0; i < n; ++i) {
            keys[i] = emd::detail::float_to_key(x[i]);
            if (kind == 7) keys[i] = (rng() % 4) ? ~u64(0) : rng();  // the padding key itself
            std::memcpy(&payloads[i], &w[i], sizeof(double));
            expected[i] = {keys[i], payloads[i]};
        }
        std::sort(expected.begin(), expected.end());
        emd::kv_sort(keys.data(), payloads.data(), n);
        Pairs got(n);
        for (long i = 0; i < n; ++i) got[i] = {keys[i], payloads[i]};
        const bool sorted = std::is_sorted(keys.begin(), keys.end());
        std::sort(got.begin(), got.end());
        if (!sorted || got != expected) {
            ++failures;
            std::printf("kv_sort: n=%ld kind=%d %s\n", n, kind, sorted ? "pairs differ" : "unsorted");
        }
        if (kind == 7) continue;
        // The records: sorted by value, the same (value, weight) bits as the input's pairs.
        std::vector<double> out(2 * n + 1, 7.0);
        emd::kv_sort_records(x.data(), w.data(), n, keys.data(), payloads.data(), out.data());
        Pairs records(n);
        bool in_order = true;
        for (long i = 0; i < n; ++i) {
            u64 weight;
            std::memcpy(&weight, &out[2 * i + 1], sizeof(double));
            records[i] = {emd::detail::float_to_key(out[2 * i]), weight};
            if (i > 0 && records[i].first < records[i - 1].first) in_order = false;
        }
        std::sort(records.begin(), records.end());
        if (!in_order || records != expected || out[2 * n] != 7.0) {
            ++failures;
            std::printf("kv_sort_records: n=%ld kind=%d %s\n", n, kind, in_order ? "records differ" : "unsorted");
        }
    }
    std::printf("check_kv_sort: %ld failures in 5000 trials\n", failures);
    return failures != 0;
}
