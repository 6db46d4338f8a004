#include "kernels/dispatch.h"

#include <cstdlib>
#include <cstring>

#if defined(AUTONEURAL_X86) && (defined(__x86_64__) || defined(_M_X64))
#include <cpuid.h>
#endif

namespace autoneural::kernels {

namespace {

#if defined(AUTONEURAL_X86) && (defined(__x86_64__) || defined(_M_X64))
// F16C through CPUID directly (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports does not know it.
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
}
#endif

bool cpu_has(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
#if defined(AUTONEURAL_X86) && (defined(__x86_64__) || defined(_M_X64))
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::avx512:
      // The AVX-512 table also uses AVX2/F16C instructions for its tails and conversions.
      return cpu_has(Isa::avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni");
#endif
#if defined(AUTONEURAL_ARM64) && defined(__aarch64__)
    case Isa::neon:
      return true;  // Advanced SIMD is mandatory on AArch64.
#endif
    default:
      return false;
  }
}

// Preference order, best first.
constexpr Isa kOrder[] = {Isa::avx512, Isa::avx2, Isa::neon, Isa::scalar};

Isa best_supported() {
  for (Isa isa : kOrder)
    if (cpu_has(isa)) return isa;
  return Isa::scalar;
}

bool parse_isa(const char* s, Isa& out) {
  for (Isa isa : kOrder) {
    if (std::strcmp(s, isa_name(isa)) == 0) {
      out = isa;
      return true;
    }
  }
  return false;
}

Isa choose_isa() {
  const Isa best = best_supported();
  const char* env = std::getenv("AUTONEURAL_ISA");
  Isa wanted;
  if (env == nullptr || !parse_isa(env, wanted) || !cpu_has(wanted)) return best;
  return wanted;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "unknown";
}

bool isa_supported(Isa isa) { return cpu_has(isa); }

Isa active_isa() {
  static const Isa isa = choose_isa();  // immutable after the first call
  return isa;
}

const KernelTable& kernel_table(Isa isa) {
#if defined(AUTONEURAL_X86)
  if (isa == Isa::avx512 && cpu_has(Isa::avx512)) return avx512_kernel_table();
  if ((isa == Isa::avx512 || isa == Isa::avx2) && cpu_has(Isa::avx2)) return avx2_kernel_table();
#endif
#if defined(AUTONEURAL_ARM64)
  if (isa == Isa::neon && cpu_has(Isa::neon)) return neon_kernel_table();
#endif
  return scalar_kernel_table();
}

const KernelTable& active_kernels() {
  static const KernelTable& table = kernel_table(active_isa());
  return table;
}

}  // namespace autoneural::kernels
