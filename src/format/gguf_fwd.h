// Forward declarations of the GGUF reader and writer, for headers that only pass them by reference
// (configurations read from and written to GGUF metadata).
#pragma once

namespace autoneural::format {
class GgufFile;
class GgufWriter;
}  // namespace autoneural::format
