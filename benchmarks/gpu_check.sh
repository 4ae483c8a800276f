#!/usr/bin/env bash
# Every GPU check of dlcore on one machine with a GPU, in under 8 minutes, and one summary table:
#   benchmarks/gpu_check.sh            (from a checkout with dlcore and its backends installed)
# - the contract suite on the first GPU of each installed backend (tox's gpu factor runs the
#   same), mixed precision included (bf16-mixed, and 16-mixed with an accuracy check);
# - DDP over nccl, one GPU per worker, where there are two GPUs;
# - the benchmark's quick run (dlcore against native loops) on the GPU, where Fashion-MNIST is
#   in dlcore's cache (the machine may have no network: copy ~/.cache/dlcore/fashion-mnist over).
# PYTHON picks the interpreter (default python3). Each step has its own time limit (the worst
# case adds up to 10 minutes; the steps take far less on a GPU). Not run on a GPU yet: the
# project's last GPU machine came before this script.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export DLCORE_TEST_DEVICE=gpu
rows=()
log=$(mktemp -d)

step() {  # step NAME LIMIT COMMAND...: runs it, keeps its last summary line
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout -k 10 "$limit" "$@" >"$log/out" 2>&1
    local rc=$? seconds=$((SECONDS - start)) summary
    summary=$(grep -E "passed|failed|skipped|error|Error" "$log/out" | tail -1 | cut -c1-90)
    [ "$rc" = 124 ] && summary="ran past ${limit} s"
    rows+=("$(printf '| %-36s | %-4s | %5s | %s |' "$name" "$rc" "$seconds" "$summary")")
    [ "$rc" = 0 ] || tail -20 "$log/out" >&2
}

has() { "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)"; }

card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
has torch && step "torch: contract suite on cuda:0" 120 "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/test_backend_contract.py -k "TestTorch"
has tensorflow && step "tensorflow: contract suite on GPU:0" 150 "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/test_backend_contract.py -k "TestTensorFlow"
has dlcore_jax && step "jax: contract suite on gpu:0" 90 "$PYTHON" -m pytest -q -p no:cacheprovider \
    plugins/dlcore-jax/tests/test_contract.py
if has torch && [ "$gpus" -ge 2 ]; then
    step "torch: DDP over nccl, 2 GPUs" 90 "$PYTHON" -m pytest -q -p no:cacheprovider \
        tests/test_distributed.py -k "TwoGPUs"
fi
if "$PYTHON" -c "from dlcore import datasets; datasets.locate_fashion_mnist(download=False)" 2>/dev/null; then
    backends=$(for b in torch tensorflow dlcore_jax; do has $b && echo "${b#dlcore_}"; done)
    step "benchmark --quick on the GPU" 200 "$PYTHON" -m benchmarks --quick --out "$log/bench" \
        --backends $backends --workloads fashion-mnist cnn
else
    rows+=("$(printf '| %-36s | %-4s | %5s | %s |' "benchmark --quick on the GPU" - 0 "skipped: no Fashion-MNIST in dlcore's cache")")
fi

echo
echo "dlcore GPU checks, $(date -u +%Y-%m-%d), ${card:-no GPU found} (${gpus} GPU)"
echo "| check                                | exit | secs  | result |"
echo "|--------------------------------------|------|-------|--------|"
printf '%s\n' "${rows[@]}"
[ -f "$log/bench/results.md" ] && { echo; cat "$log/bench/results.md"; }
rm -rf "$log"
