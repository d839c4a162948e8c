#!/bin/sh
# Builds and runs the key-value sort's check and microbenchmark (issue 19,
# branch kvsort; see benchmarks/RESULTS.md). Usage, from the repository root:
#   sh benchmarks/kv_sort/run.sh [python]     (python: one with numpy, default python3)
set -e
here=$(dirname "$0")
py=${1:-python3}
inc=$($py -c "import numpy, sysconfig; print(numpy.get_include(), sysconfig.get_paths()['include'])")
libdir=$($py -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))")
pylib=$($py -c "import sysconfig; print(sysconfig.get_config_var('LDLIBRARY').removeprefix('lib').removesuffix('.so'))")
set -- $inc
out=${TMPDIR:-/tmp}/emd_kv_sort
mkdir -p "$out"
# The portable baseline: the AVX-512 code is reached only through its target attributes.
g++ -std=c++17 -O3 -Wall -Wextra -march=x86-64-v2 -I"$here" -Icsrc/include "$here/check_kv_sort.cpp" -o "$out/check"
g++ -std=c++17 -O3 -Wall -Wextra -march=x86-64-v2 -I"$here" -Icsrc/include -I"$1" -I"$2" \
    "$here/bench_kv_sort.cpp" -o "$out/bench" -L"$libdir" -l"$pylib" -Wl,-rpath,"$libdir"
"$out/check"
export PYTHONHOME=$($py -c "import sys; print(sys.base_prefix)")
export PYTHONPATH=$($py -c "import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))")
for n in 1000000 1000000 1000000 100000 10000 1000; do "$out/bench" $n 11; done
