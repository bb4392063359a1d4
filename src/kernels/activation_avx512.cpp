// The activation bodies on the avx512 path (kernels/activation_impl.h).
#include "kernels/activation_impl.h"
#include "kernels/simd/avx512.h"

namespace attend::kernels {

const ActivationFns kActivationAvx512 = Activation<SimdAvx512>::table();

}  // namespace attend::kernels
