// The activation bodies on the scalar path (kernels/activation_impl.h).
#include "kernels/activation_impl.h"
#include "kernels/simd/scalar.h"

namespace attend::kernels {

const ActivationFns kActivationScalar = Activation<SimdScalar>::table();

}  // namespace attend::kernels
