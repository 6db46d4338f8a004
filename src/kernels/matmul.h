// Matrix multiplication of a weight matrix in GGUF layout with float activations: the operation that
// dominates every model in this project.
//
//   y[t][r] = sum_c W[r][c] * x[t][c]      for t < n_tokens, r < rows
//
// W is stored row by row (a PyTorch Linear weight [out, in] is GGUF ne = [in, out], one output row
// contiguous), each row `cols` elements of `type`, quantization blocks running along `cols`.
//
// Numerics: for Q8_0 and Q4_0 weights the activations are first quantized to Q8_0 blocks
// (d = fp16(amax/127), round half away from zero) exactly as ggml's CPU backend does, and the block dot
// products are exact integer sums; so results match llama.cpp's to rounding of the final float sums.
// F32/F16/BF16 weights use float activations; Q4_K/Q6_K rows are dequantized to float first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/tensor_type.h"

namespace autoneural::kernels {

class ThreadPool;

struct KernelTable;

struct Matrix {
  TensorType type = TensorType::F32;
  int64_t rows = 0;     // output features
  int64_t cols = 0;     // input features (multiple of the type's block size)
  const uint8_t* data = nullptr;
  size_t row_stride = 0;  // bytes between consecutive rows (normally row_bytes(type, cols))
};

// Reusable scratch memory (quantized activations, dequantized tiles). One per executing context; it
// grows to the largest request and is then reused, so steady-state decoding does not allocate.
struct MatmulScratch {
  std::vector<uint8_t> bytes;
  uint8_t* reserve(size_t n);
};

// x: n_tokens rows, row stride ldx floats. y: n_tokens rows, row stride ldy floats.
// Deterministic: the result does not depend on the number of threads.
void matmul(const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
            MatmulScratch& scratch, kernels::ThreadPool& pool);

// The same with an explicit kernel table (kernel_table(isa) from kernels/dispatch.h), so that tests and
// benchmarks can run every ISA in one process; matmul() uses the active table.
void matmul(const KernelTable& kernels, const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
            int64_t ldy, MatmulScratch& scratch, kernels::ThreadPool& pool);

// Reference implementation: dequantize each row (dequantize_row) and accumulate in double, with the
// same activation quantization as matmul() for Q8_0/Q4_0. Slow; used by tests to check matmul().
void matmul_reference(const Matrix& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                      int64_t ldy);

}  // namespace autoneural::kernels
