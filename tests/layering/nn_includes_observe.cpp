// Must NOT compile: nn hands the observatory its data through attend/trace.h; it never includes it.
#include "attend/observe.h"
int layering_probe() { return 0; }
