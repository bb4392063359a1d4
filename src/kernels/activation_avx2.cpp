// The activation bodies on the avx2 path (kernels/activation_impl.h).
#include "kernels/activation_impl.h"
#include "kernels/simd/avx2.h"

namespace attend::kernels {

const ActivationFns kActivationAvx2 = Activation<SimdAvx2>::table();

}  // namespace attend::kernels
