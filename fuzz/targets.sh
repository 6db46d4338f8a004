# Sourced by fuzz/run.sh and fuzz/grow.sh: the input size limit of each target. Every committed seed is
# below its target's limit, and no limit is above the 1 MiB input cap.
fuzz_input_cap=1048576
fuzz_max_len() {
  case "$1" in
    fuzz_gguf | fuzz_tokenizer) echo 65536 ;;
    fuzz_safetensors | fuzz_json | fuzz_image_*) echo 16384 ;;
    fuzz_npy | fuzz_tokenize) echo 4096 ;;
    *) echo "$fuzz_input_cap" ;;
  esac
}
# The options every run uses: memory and time per input bounded, statistics at the end.
fuzz_options() {
  echo "-max_len=$(fuzz_max_len "$1") -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1"
}
