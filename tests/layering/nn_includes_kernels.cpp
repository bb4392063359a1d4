// Must compile: nn may include the kernels' and core's headers (the control for the cases above).
#include "attend/attention.h"
#include "attend/model.h"
#include "core/check.h"
#include "kernels/problem.h"
int layering_probe() { return 0; }
