// Must NOT compile: the kernels layer may not include the model runtime's public header.
#include "attend/model.h"
int layering_probe() { return 0; }
