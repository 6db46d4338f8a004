// What this build of autoneural is and what it runs on.
#pragma once

namespace autoneural {

// The library's version, e.g. "0.1.0".
const char* version();

// The SIMD kernels in use: "avx512", "avx2", "neon" or "scalar" — the best this build and CPU support,
// lowered by the environment variable AUTONEURAL_ISA (read once per process).
const char* kernel_isa();

}  // namespace autoneural
