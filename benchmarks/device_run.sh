#!/usr/bin/env bash
# Everything that needs a GPU, in one command on a machine with a CUDA device:
# the build with the CUDA kernels, the gpu-marked tests, then the GPU comparison.
# Logs go under $OUT (default /tmp/emd_device_out): device.txt, build.log,
# gpu_tests.log, compare_gpu.md.
#
#   bash benchmarks/device_run.sh                      # tests + `compare.py gpu --quick`
#   EMD_DEVICE_FULL=1 bash benchmarks/device_run.sh    # tests + the issues' sizes
#
# The build is editable and uses the interpreter's own pybind11 and
# scikit-build-core (`pip install --no-build-isolation -e .`): an image without
# network access has them but cannot fetch a build environment. POT, the
# reference of some GPU rows, is often missing there: wheels found in .whl/
# are installed first (docs/cuda.md, "Checking on a device"); without them
# those rows say that POT is missing. Exits with the tests' status, or 3 when
# emd sees no usable CUDA device (every gpu test would only skip).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-${TMPDIR:-/tmp}/emd_device_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/emd_site .whl/*.whl ||
        exit 1
    export PYTHONPATH=/tmp/emd_site${PYTHONPATH:+:$PYTHONPATH}
fi

{
    nvidia-smi || echo "nvidia-smi: not found"
    nvcc --version || echo "nvcc: not found"
    "$PY" -c "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__)"
    "$PY" -c "import cupy; print('cupy', cupy.__version__)" || echo "cupy: not importable"
    "$PY" -c "import ot; print('POT', ot.__version__)" || echo "POT: not importable (its rows will say so)"
} >"$OUT/device.txt" 2>&1

start=$SECONDS
if ! "$PY" -m pip install --no-build-isolation -e . >"$OUT/build.log" 2>&1; then
    tail -40 "$OUT/build.log"
    exit 1
fi
echo "build: $((SECONDS - start)) s" | tee -a "$OUT/device.txt"
# Without a usable device every gpu test skips, which must not read as a pass.
"$PY" -c "import sys, emd, emd._build_config as b; ok = emd.has_cuda()
print('has_cuda', ok, 'CUDA built', b.CUDA, b.CUDA_ARCHITECTURES); sys.exit(0 if ok else 3)" 2>&1 | tee -a "$OUT/device.txt"
cuda_rc=${PIPESTATUS[0]}
[ "$cuda_rc" = 0 ] || echo "emd.has_cuda() is not True (rc $cuda_rc): the gpu tests below only skip"

start=$SECONDS
timeout "${EMD_TEST_TIMEOUT:-330}" "$PY" -m pytest -m gpu tests -q -p no:cacheprovider -W "ignore::DeprecationWarning" \
    >"$OUT/gpu_tests.log" 2>&1
tests_rc=$?
echo "gpu tests: rc $tests_rc, $((SECONDS - start)) s"
grep -E "^(FAILED|ERROR)" "$OUT/gpu_tests.log" | head -40
tail -3 "$OUT/gpu_tests.log"

quick=--quick
[ "${EMD_DEVICE_FULL:-0}" = 1 ] && quick=
start=$SECONDS
timeout "${EMD_BENCH_TIMEOUT:-180}" "$PY" benchmarks/compare.py gpu $quick >"$OUT/compare_gpu.md" 2>&1
echo "compare.py gpu $quick: rc $?, $((SECONDS - start)) s"
tail -60 "$OUT/compare_gpu.md"
[ "$tests_rc" = 0 ] && tests_rc=$cuda_rc
exit $tests_rc
