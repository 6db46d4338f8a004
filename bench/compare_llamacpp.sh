#!/usr/bin/env bash
# Side-by-side speed of autoneural and llama.cpp on the same GGUF files, same machine, same threads,
# interleaved in one run. Prints a Markdown table for docs/performance.md.
#
#   bench/compare_llamacpp.sh AUTONEURAL_BIN LLAMA_BENCH_BIN MODEL.gguf [MODEL.gguf ...]
#
# LLAMA_BENCH_BIN is a llama-bench you built yourself from llama.cpp's sources (nothing here builds it).
# Environment: THREADS (2), N_PROMPT (512), N_GEN (128), REPS (3).
set -euo pipefail
an=${1:?autoneural binary}
lb=${2:?llama-bench binary}
shift 2
threads=${THREADS:-2}
np=${N_PROMPT:-512}
ng=${N_GEN:-128}
reps=${REPS:-3}
json_field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -1; }

echo "| model | test | autoneural tok/s | llama.cpp tok/s | ratio |"
echo "|---|---|---:|---:|---:|"
for model in "$@"; do
  name=$(basename "$model" .gguf)
  ours=$("$an" bench -m "$model" -t "$threads" -p "$np" -n "$ng" -r "$reps" --json)
  theirs=$("$lb" -m "$model" -t "$threads" -p "$np" -n "$ng" -r "$reps" -o json 2>/dev/null)
  our_pp=$(echo "$ours" | json_field prefill_tok_s)
  our_tg=$(echo "$ours" | json_field decode_tok_s)
  # llama-bench prints one object per test; n_prompt > 0 is the prefill test.
  their_pp=$(echo "$theirs" | tr -d '\n' | sed 's/},/}\n/g' | grep "\"n_prompt\": $np" | json_field avg_ts)
  their_tg=$(echo "$theirs" | tr -d '\n' | sed 's/},/}\n/g' | grep "\"n_gen\": $ng" | json_field avg_ts)
  printf "| %s | pp%s | %.2f | %.2f | %.2f |\n" "$name" "$np" "$our_pp" "$their_pp" "$(echo "$our_pp / $their_pp" | bc -l)"
  printf "| %s | tg%s | %.2f | %.2f | %.2f |\n" "$name" "$ng" "$our_tg" "$their_tg" "$(echo "$our_tg / $their_tg" | bc -l)"
  echo "$ours" | grep -E '"(ttft_ms|peak_rss_mb|file_mb)"' | tr -d ' ,' | sed "s/^/<!-- $name /; s/$/ -->/"
done
