// version() and kernel_isa() (include/autoneural/system.h).
#include "autoneural/system.h"

#include "kernels/dispatch.h"

namespace autoneural {

const char* version() { return AUTONEURAL_VERSION; }

const char* kernel_isa() { return kernels::isa_name(kernels::active_isa()); }

}  // namespace autoneural
