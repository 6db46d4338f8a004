// The vision kernels of each ISA (MobileNetV5): depthwise convolution over channels-last maps, GELU,
// element-wise multiplication, and the packed float GEMM microkernel that the 1x1 convolutions (matmuls
// over thousands of pixels) run on. Each ISA's functions live in their own namespace and file
// (vision_scalar.cpp, vision_avx2.cpp, vision_avx512.cpp) and are put into that ISA's KernelTable by
// AUTONEURAL_KERNEL_TABLE; ISAs without their own (NEON for now) take the scalar ones.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

#define AUTONEURAL_DECLARE_VISION_KERNELS                     \
  void depthwise_conv(const DwConvArgs& a);                   \
  void gelu_tanh(const float* x, float* y, int64_t n);        \
  void gelu_erf(const float* x, float* y, int64_t n);         \
  void mul(const float* a, const float* b, float* y, int64_t n);        \
  void sgemm_panel(const SgemmPanelArgs& a);

namespace autoneural::kernels {
namespace vision_scalar {
AUTONEURAL_DECLARE_VISION_KERNELS
}
namespace vision_avx2 {
AUTONEURAL_DECLARE_VISION_KERNELS
}
namespace vision_avx512 {
AUTONEURAL_DECLARE_VISION_KERNELS
}
}  // namespace autoneural::kernels
