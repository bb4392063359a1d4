#pragma once
// Umbrella header: everything a user of attend needs.
#include "attend/attention.h"
#include "attend/backward.h"
#include "attend/capture.h"
#include "attend/decode.h"
#include "attend/dtype.h"
#include "attend/error.h"
#include "attend/runtime.h"
#include "attend/image.h"
#include "attend/graph.h"
#include "attend/io.h"
#include "attend/kv_cache.h"
#include "attend/tensor.h"
