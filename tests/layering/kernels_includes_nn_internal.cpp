// Must NOT compile: the kernels layer may not include nn's internals.
#include "nn/model_impl.h"
int layering_probe() { return 0; }
