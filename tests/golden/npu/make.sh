#!/usr/bin/env bash
# Regenerates the npu golden outputs of tests/test_npu_golden.cpp: the calibration files (inputs of the
# goldens, kept so that the goldens do not depend on the float kernels that calibration runs), then every
# case of cases.txt. Run from the repository root after building:  bash tests/golden/npu/make.sh build/autoneural
# Only when the npu backend's arithmetic changes on purpose; the commit says why.
set -euo pipefail
cli=$(realpath "${1:?path to the autoneural binary}")
cd "$(dirname "$0")"
F=$(realpath ../../../../shared/fixtures)
G=.
"$cli" calibrate -m "$F/vision/mnv5-tiny/hf" --images "$F/vision/mnv5-tiny/images" --out vision-calib.json
"$cli" calibrate -m "$F/text/lfm2-tiny/model-f32.gguf" --prompts prompts.txt --out text-calib.json
grep -v '^#' cases.txt | while IFS=$'\t' read -r name args; do
  args=${args//@F/$F}
  args=${args//@G/$G}
  # shellcheck disable=SC2086
  AUTONEURAL_ISA=scalar "$cli" $args -t 1 --out "$name.npy"
done
ls -l
