/* A C program using attend through its C API (attend/attend_c.h), built with pkg-config:
 *   cc -std=c99 main.c $(pkg-config --cflags attend-capi) $(pkg-config --static --libs attend-capi)
 * (or, with shared libraries, `pkg-config --libs attend-capi` and an rpath; see Makefile).
 * One causal attention over [B, H, N, D] memory, checked against the library's double reference;
 * then one deliberate error, reported through attend_last_error(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attend/attend_c.h"

enum { B = 1, H = 4, N = 50, D = 32 };

int main(void) {
  static float q[B * H * N * D], k[B * H * N * D], v[B * H * N * D], out[B * H * N * D], ref[B * H * N * D];
  /* the buffers are [B, H, N, D]; attend wants [B, N, H, D]: swap the middle extents and strides */
  const int64_t shape[4] = {B, N, H, D}, stride[4] = {H * N * D, D, N * D, 1};
  attend_tensor tq = {0}, tk, tv, to, tr;
  attend_options opts;
  attend_status st;
  double err = 0;
  int i;
  for (i = 0; i < B * H * N * D; ++i) {
    q[i] = (float)sin(0.1 * i);
    k[i] = (float)cos(0.07 * i);
    v[i] = (float)sin(0.03 * i + 1);
  }
  tq.dtype = ATTEND_F32;
  tq.rank = 4;
  for (i = 0; i < 4; ++i) {
    tq.shape[i] = shape[i];
    tq.stride[i] = stride[i];
  }
  tk = tv = to = tr = tq;
  tq.data = q;
  tk.data = k;
  tv.data = v;
  to.data = out;
  tr.data = ref;

  attend_options_init(&opts);
  opts.causal = 1;
  if (attend_attention(&tq, &tk, &tv, &to, NULL, &opts) != ATTEND_OK ||
      attend_attention_reference(&tq, &tk, &tv, &tr, NULL, &opts) != ATTEND_OK) {
    fprintf(stderr, "c-consumer: %s\n", attend_last_error());
    return 1;
  }
  for (i = 0; i < B * H * N * D; ++i) err = fmax(err, fabs((double)out[i] - (double)ref[i]));
  printf("c-consumer: attend %s (headers %s), max |fast - reference| = %.2e\n", attend_version_string(),
         ATTEND_VERSION_STRING, err);

  tk.shape[3] = D - 1; /* a wrong key width */
  st = attend_attention(&tq, &tk, &tv, &to, NULL, &opts);
  printf("c-consumer: wrong key width -> %s: %s\n", attend_status_name(st), attend_last_error());
  return err < 1e-5 && st == ATTEND_ERROR_INVALID_ARGUMENT ? 0 : 1;
}
