#!/usr/bin/env bash
# Runs the cargo-fuzz targets for a bounded time each.
#
#   scripts/fuzz.sh TARGET SECONDS   one of: parse lint fix
#   scripts/fuzz.sh all SECONDS      each target in turn, SECONDS each
#
# The seed corpus (fuzz/corpus/TARGET, not committed) is made on the first run from the
# fixtures, the kept crash inputs and a sample of the shared corpus. A crash stops the target
# with its input in fuzz/artifacts/TARGET/; fix the bug, then copy the input to
# fixtures/fuzz/TARGET/ so that `cargo test --test fuzz_regressions` replays it.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The only toolchain here is stable, so
# RUSTC_BOOTSTRAP=1 lets it pass the nightly flags it needs (-Zsanitizer and friends).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(parse lint fix)
usage() { echo "usage: $0 {${targets[*]// /|}|all} SECONDS" >&2; exit 2; }
[ $# -eq 2 ] || usage
case "$2" in '' | *[!0-9]*) usage ;; esac
case "$1" in
  all) run=("${targets[@]}") ;;
  parse | lint | fix) run=("$1") ;;
  *) usage ;;
esac
seconds=$2

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
export RUSTC_BOOTSTRAP=1

corpus_src=${LAYERWISE_CORPUS:-../shared/corpus}
[ -d "$corpus_src/files" ] || corpus_src=/work/shared/corpus

seed() {
  local dir=fuzz/corpus/$1
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  find fixtures -type f \( -name '*Dockerfile*' -o -path 'fixtures/fuzz/*' \) -print0 \
    | while IFS= read -r -d '' f; do cp "$f" "$dir/$(echo "$f" | tr '/' '_')"; done
  if [ -d "$corpus_src/files" ]; then
    # Every seventh file of the shared corpus: about 200 real files.
    find "$corpus_src/files" -type f | sort | awk 'NR % 7 == 0' | while IFS= read -r f; do
      cp "$f" "$dir/corpus_$(basename "$f")"
    done
  fi
  echo "seeded $dir with $(find "$dir" -type f | wc -l) files"
}

status=0
for target in "${run[@]}"; do
  seed "$target"
  echo "== fuzz $target for ${seconds}s"
  log=fuzz/artifacts/$target.log
  mkdir -p "fuzz/artifacts/$target"
  # -max_len: real Dockerfiles are mostly under 8 KiB; -rss_limit_mb guards against blowups.
  if (cd fuzz && cargo fuzz run --release --sanitizer address "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1) 2>&1 | tee "$log" | grep -E '^(#[0-9]+.*(DONE|pulse)|==|SUMMARY|stat::)'; then
    :
  fi
  if grep -qE 'ERROR: libFuzzer|SUMMARY: |panicked at|deadly signal|timeout after' "$log"; then
    echo "!! $target found a problem; see $log and fuzz/artifacts/$target/" >&2
    status=1
  fi
  grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/$target: /" || true
done
exit $status
