#!/usr/bin/env bash
# Side-by-side speed of the vision encoder in autoneural and in llama.cpp's llama-mtmd-cli, on the SAME
# files (a gemma3nv mmproj that both load), same machine and threads, in one run. Prints Markdown for
# docs/performance.md.
#
#   bench/compare_llamacpp_vision.sh AUTONEURAL_BIN LLAMA_MTMD_CLI_BIN TEXT.gguf MMPROJ.gguf IMAGE
#
# LLAMA_MTMD_CLI_BIN is a llama-mtmd-cli you built yourself from llama.cpp's sources (nothing here builds
# it). The files come from `autoneural make-model --arch autoneural --llama-cpp-mmproj ...`.
# Environment: THREADS (2), REPS (3), N_PROMPT (32, the text after the image for time to first token).
set -euo pipefail
an=${1:?autoneural binary}
mtmd=${2:?llama-mtmd-cli binary}
text=${3:?text model}
mmproj=${4:?vision mmproj}
image=${5:?image}
threads=${THREADS:-2}
reps=${REPS:-3}
np=${N_PROMPT:-32}
json_field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -1; }

# llama.cpp: one process per repetition (it reports the encoding of the image batch in ms).
their=()
for ((r = 0; r < reps; r++)); do
  ms=$("$mtmd" -m "$text" --mmproj "$mmproj" --image "$image" -p "Describe the image." -n 1 -t "$threads" \
       --temp 0 2>&1 | sed -n 's/.*mtmd batch encoding done in \([0-9]*\) ms.*/\1/p' | tail -1)
  [ -n "$ms" ] || { echo "llama-mtmd-cli did not report an encoding time" >&2; exit 1; }
  their+=("$ms")
done
their_best=$(printf '%s\n' "${their[@]}" | sort -n | head -1)

ours768=$("$an" bench -m "$text" --mmproj "$mmproj" --image "$image" --size 768 -p "$np" -t "$threads" -r "$reps" --json)
our_best=$(echo "$ours768" | json_field encode_ms_min)
ttft=$(echo "$ours768" | json_field ttft_ms)

echo "| encoder, 768² image, $threads threads | best of $reps, ms |"
echo "|---|---:|"
printf "| llama.cpp llama-mtmd-cli | %.0f |\n" "$their_best"
printf "| autoneural | %.0f |\n" "$our_best"
printf "| ratio (llama.cpp / autoneural) | %.2f× |\n" "$(echo "$their_best / $our_best" | bc -l)"
echo
echo "| autoneural input size | encoder + connector ms (best of $reps) |"
echo "|---|---:|"
for size in 256 512 768; do
  ms=$("$an" bench -m "$text" --mmproj "$mmproj" --image "$image" --size "$size" -p "$np" -t "$threads" -r "$reps" \
       --json | json_field encode_ms_min)
  printf "| %s² | %.0f |\n" "$size" "$ms"
done
echo
printf "time to first token, one 768² image + %s-token prompt (encode + prefill + first token): %.0f ms\n" "$np" "$ttft"
