#!/bin/bash
# Submit a whole `hybrid bench` sweep to Slurm: the tuning round as one job array, the
# final round as a second array that starts when the first has ended, and the merged
# report as a last job.
#
#   benchmarks/slurm/submit.sh N [sbatch options --] hybrid-bench-options (with --out on a shared file system)
#   benchmarks/slurm/submit.sh 64 --full --out /shared/bench
#   benchmarks/slurm/submit.sh 64 --partition=cpu --cpus-per-task=4 -- --full --out /shared/bench
#
# The rounds depend with afterany, not afterok: a slice whose cases errored exits 1, and
# the finals that lack its tuning records become error lines that name them (rerun the
# failed slices with BENCH_SLICES=N sbatch --array=I,J ...; they resume).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${1:?usage: submit.sh N [sbatch options --] hybrid bench options}"
shift
sbatch_opts=()
if [[ " $* " == *" -- "* ]]; then
    while [[ "$1" != "--" ]]; do sbatch_opts+=("$1"); shift; done
    shift
fi
out=out/bench
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --out) out="${args[i + 1]}" ;;
        --out=*) out="${args[i]#--out=}" ;;
    esac
done
export BENCH_SLICES="$n"
array="0-$((n - 1))%${BENCH_CONCURRENT:-32}"
tune=$(sbatch --parsable ${sbatch_opts[@]+"${sbatch_opts[@]}"} --array="$array" "$here/bench_array.sbatch" --phase tune "$@")
final=$(sbatch --parsable ${sbatch_opts[@]+"${sbatch_opts[@]}"} --array="$array" --dependency="afterany:$tune" \
    "$here/bench_array.sbatch" --phase final "$@")
report=$(sbatch --parsable ${sbatch_opts[@]+"${sbatch_opts[@]}"} --dependency="afterany:$final" --job-name=hybrid-bench-report \
    --output="slurm-%x-%j.out" --wrap "${HYBRID:-hybrid} bench --report-only --out $(printf %q "$out")")
echo "tune array $tune, final array $final, report job $report; results in $out, report in $out/report.md"
