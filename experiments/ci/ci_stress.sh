#!/usr/bin/env bash
# CI under load (issue 11): clone HEAD into a fresh folder and run .ci/run N times in a row beside
# a CPU-bound process, as CI runs on a busy 2-core machine. Stops at the first failure.
#   bash experiments/ci/ci_stress.sh [N] [results file]
set -u
n=${1:-5}
res=${2:-experiments/results/ci_stress.txt}
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
git clone -q "$repo" "$dir/clone"
python3 -c "while True: pass" &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
echo "# $(git -C "$repo" rev-parse --short HEAD): .ci/run x$n on a fresh clone beside a CPU-bound process ($(nproc) cores)" > "$res"
for i in $(seq 1 "$n"); do
  (cd "$dir/clone" && CI=true bash .ci/run > "$dir/run$i.log" 2>&1)
  rc=$?
  echo "run $i: exit $rc, $(tail -n 1 "$dir/run$i.log")" | tee -a "$res"
  [ $rc -eq 0 ] || exit 1
done
