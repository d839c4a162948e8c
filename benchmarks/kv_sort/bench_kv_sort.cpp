// Issue 19 microbenchmark: one float64 weighted row of n points sorted into
// (value, weight) records, three ways, alternated in one process:
//   today   - the kernel's sort_records_f64 (csrc/cpu/one_d.cpp, copied here):
//             pack (top key bits | index) as uint64, NumPy's uint64 sort,
//             gather the records by index, fix up runs of equal top bits;
//   kv      - kv_sort_records (kv_sort.hpp): the AVX-512 key-value sort, pack
//             fused into its first partition, records written by the leaves;
//   floor   - NumPy's float64 sort of a copy of the values (np.sort's kernel).
// NumPy's sorts are the ones the kernel calls: taken from the dtypes'
// ArrFuncs through an embedded interpreter. Prints the median of `reps`
// alternated runs in thread CPU time and wall time. Build and run: run.sh.
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "emd/sort.hpp"
#include "kv_sort.hpp"

using u64 = std::uint64_t;
using emd::detail::float_to_key;
using SortFn = int (*)(void*, npy_intp, void*);

static double cpu_now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
static double wall_now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
static SortFn numpy_sort(int type) {
    PyArray_Descr* d = PyArray_DescrFromType(type);
    return reinterpret_cast<SortFn>(PyDataType_GetArrFuncs(d)->sort[NPY_QUICKSORT]);
}

struct Record {
    double value, weight;
};

// csrc/cpu/one_d.cpp's sort_records_f64 at main 0e9dd3d, without the input scan.
static void today(const double* values, const double* weights, long n, Record* out, Record* records, u64* packed,
                  SortFn sort_u64) {
    int b = 0;
    while ((1L << b) < n) ++b;
    const u64 low = (u64(1) << b) - 1;
    for (long i = 0; i < n; ++i) {
        packed[i] = (float_to_key(values[i]) & ~low) | u64(i);
        records[i] = {values[i], weights[i]};
    }
    sort_u64(packed, n, nullptr);
    bool has_runs = false;
    constexpr long ahead = 32;
    for (long i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(records + (packed[i + ahead] & low));
        out[i] = records[packed[i] & low];
        has_runs |= i > 0 && (packed[i] ^ packed[i - 1]) <= low;
    }
    if (!has_runs) return;
    const auto by_value = [](const Record& l, const Record& r) { return l.value < r.value; };
    for (long s = 0; s < n;) {
        long e = s + 1;
        while (e < n && (packed[e] ^ packed[s]) <= low) ++e;
        if (e - s > 1 && !std::is_sorted(out + s, out + e, by_value)) std::sort(out + s, out + e, by_value);
        s = e;
    }
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int main(int argc, char** argv) {
    Py_Initialize();
    if (_import_array() < 0) {
        PyErr_Print();
        return 1;
    }
    if (!emd::kv_sort_is_available()) {
        std::printf("this CPU has no AVX-512F/DQ: nothing to compare\n");
        return 0;
    }
    const SortFn sort_u64 = numpy_sort(NPY_UINT64), sort_f64 = numpy_sort(NPY_FLOAT64);
    const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 11;
    std::mt19937_64 rng(0);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    std::vector<double> x(n), w(n), xs(n);
    for (long i = 0; i < n; ++i) {
        x[i] = normal(rng);
        w[i] = uniform(rng);
    }
    std::vector<Record> out_today(n), out_kv(n), staging(n);
    std::vector<u64> packed(n), payloads(n);
    // Both give the same records, bit for bit (no ties in these values).
    today(x.data(), w.data(), n, out_today.data(), staging.data(), packed.data(), sort_u64);
    emd::kv_sort_records(x.data(), w.data(), n, packed.data(), payloads.data(),
                         reinterpret_cast<double*>(out_kv.data()));
    if (std::memcmp(out_today.data(), out_kv.data(), sizeof(Record) * std::size_t(n)) != 0) {
        std::printf("MISMATCH\n");
        return 1;
    }
    std::vector<double> cpu[3], wall[3];
    for (int r = 0; r < reps; ++r) {
        for (int m = 0; m < 3; ++m) {
            const double c0 = cpu_now(), w0 = wall_now();
            if (m == 0) {
                today(x.data(), w.data(), n, out_today.data(), staging.data(), packed.data(), sort_u64);
            } else if (m == 1) {
                emd::kv_sort_records(x.data(), w.data(), n, packed.data(), payloads.data(),
                                     reinterpret_cast<double*>(out_kv.data()));
            } else {
                std::memcpy(xs.data(), x.data(), sizeof(double) * std::size_t(n));
                sort_f64(xs.data(), n, nullptr);
            }
            cpu[m].push_back((cpu_now() - c0) * 1e3);
            wall[m].push_back((wall_now() - w0) * 1e3);
        }
    }
    double load[3];
    getloadavg(load, 3);
    std::printf(
        "n=%ld, median of %d alternated runs, CPU ms / wall ms: today %.3f / %.3f, kv %.3f / %.3f, "
        "np float64 sort (floor) %.3f / %.3f; today/kv %.2fx CPU, %.2fx wall; load %.1f\n",
        n, reps, median(cpu[0]), median(wall[0]), median(cpu[1]), median(wall[1]), median(cpu[2]), median(wall[2]),
        median(cpu[0]) / median(cpu[1]), median(wall[0]) / median(wall[1]), load[0]);
    return 0;
}
