/* cuda plugin graph slot (graph_create / graph_launch / graph_free): three launches of
 * two programs (out = x*2 + b gated by i < n, with variables b and n; out = x + y) are
 * recorded, replayed as recorded, replayed with other buffers, byte offsets, variable
 * values and grid sizes, and every result is compared with the same launches made one
 * by one (and with a host loop). Also: bad counts refused, NULL args restore the
 * recording, a replay loop of 100 graphs. Without a device: SKIP (77). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static th_plugin T;
enum { N = 4096, L = 128 };

/* out[i] = x[i]*2 + (float)b for i < n (global id i); params out, x; vars b, n. */
static cg_ir_program *k_axpb(void) {
  cg_ir_builder *b = cg_irb_new("graph_axpb");
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  cg_irb_var(b, "b", -1000, 1000);
  cg_irb_var(b, "n", 0, N);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), f = cg_ir_t(CG_IR_FLOAT32);
  cg_ir_type i32 = cg_ir_t(CG_IR_INT32), bo = cg_ir_t(CG_IR_BOOL);
  int32_t O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, 0), X = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, 1);
  int32_t vb = th_op(b, CG_IR_VAR, i32, 0, 0, 0, 0, 0), vn = th_op(b, CG_IR_VAR, i32, 0, 0, 0, 0, 1);
  int32_t i = th_gid(b, L);
  int32_t gate = th_op(b, CG_IR_CMPLT, bo, 2, i, vn, 0, 0);
  int32_t x = th_op(b, CG_IR_LOAD, f, 3, th_at(b, X, i), gate, cg_irb_const_f(b, CG_IR_FLOAT32, 0), 0);
  int32_t y = th_op(b, CG_IR_MULACC, f, 3, x, cg_irb_const_f(b, CG_IR_FLOAT32, 2), th_op(b, CG_IR_CAST, f, 1, vb, 0, 0, 0), 0);
  th_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 3, th_at(b, O, i), y, gate, 0);
  uint32_t g[3] = {N / L, 1, 1}, l[3] = {L, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* out[i] = x[i] + y[i]; params out, x, y. */
static cg_ir_program *k_add(void) {
  cg_ir_builder *b = cg_irb_new("graph_add");
  for (int k = 0; k < 3; k++) cg_irb_param(b, CG_IR_FLOAT32, k ? CG_IR_PARAM_READ : CG_IR_PARAM_WRITE, N);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), f = cg_ir_t(CG_IR_FLOAT32);
  int32_t P[3];
  for (int k = 0; k < 3; k++) P[k] = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, k);
  int32_t i = th_gid(b, L);
  int32_t x = th_op(b, CG_IR_LOAD, f, 1, th_at(b, P[1], i), 0, 0, 0), y = th_op(b, CG_IR_LOAD, f, 1, th_at(b, P[2], i), 0, 0, 0);
  th_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, th_at(b, P[0], i), th_op(b, CG_IR_ADD, f, 2, x, y, 0, 0), 0, 0);
  uint32_t g[3] = {N / L, 1, 1}, l[3] = {L, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* One set of buffers for the chain t = axpb(a, b0, n); u = axpb(t, b1, n); r = t + u. */
typedef struct {
  void *a, *t, *u, *r;
  size_t off_a;          /* byte offset of a's view */
  int64_t v0[2], v1[2];  /* {b, n} of each axpb */
  uint32_t groups;       /* grid of every launch */
  void *b0[2], *b1[2], *b2[3];
  size_t o0[2];
  cg_launch_args la[3];
} chain;

static void chain_args(chain *c) {
  c->b0[0] = c->t, c->b0[1] = c->a, c->o0[0] = 0, c->o0[1] = c->off_a;
  c->b1[0] = c->u, c->b1[1] = c->t;
  c->b2[0] = c->r, c->b2[1] = c->t, c->b2[2] = c->u;
  cg_launch_args base = {.struct_size = sizeof base, .global = {c->groups, 1, 1}, .local = {L, 1, 1}};
  for (int k = 0; k < 3; k++) c->la[k] = base;
  c->la[0].nbufs = 2, c->la[0].bufs = c->b0, c->la[0].buf_offsets = c->o0, c->la[0].nvars = 2, c->la[0].vars = c->v0;
  c->la[1].nbufs = 2, c->la[1].bufs = c->b1, c->la[1].nvars = 2, c->la[1].vars = c->v1;
  c->la[2].nbufs = 3, c->la[2].bufs = c->b2;
}

static void *alloc_fill(float v0, float step) {
  float h[N + 16];
  for (int i = 0; i < N + 16; i++) h[i] = v0 + step * (float)i;
  return th_upload(&T, h, sizeof h);
}

static void clear(void *b) {
  static float z[N + 16];
  for (int i = 0; i < N + 16; i++) z[i] = -99.0f;
  CHECK(T.api->copy_in(T.dev, b, 0, z, sizeof z) == CG_P_OK, "clear: %s", th_last_error());
}

static void result(void *b, float *out) {
  CHECK(T.api->synchronize(T.dev) == CG_P_OK, "sync: %s", th_last_error());
  th_download(&T, out, b, sizeof(float) * N);
}

/* Host reference of r for chain c whose a holds a0 + i*step (read from off_a), with
 * t, u and r cleared to -99 before the launches. */
static float ref_r(const chain *c, float a0, float step, int i) {
  if (i >= (int)(c->groups * L)) return -99.0f;
  float a = a0 + step * (float)(i + (int)(c->off_a / 4));
  float t = i < c->v0[1] ? a * 2 + (float)c->v0[0] : -99.0f;
  float u = i < c->v1[1] ? t * 2 + (float)c->v1[0] : -99.0f;
  return t + u;
}

static int same(const float *x, const float *y, const char *what) {
  for (int i = 0; i < N; i++)
    if (x[i] != y[i]) {
      CHECK(0, "%s: [%d] = %g, want %g", what, i, x[i], y[i]);
      return 0;
    }
  return 1;
}

int main(int argc, char **argv) {
  int rc = th_start(&T, argc, argv);
  if (rc) return rc;
  if (!T.api->graph_create || !T.api->graph_launch || !T.api->graph_free) {
    CHECK(0, "the cuda plugin must fill the graph slot");
    th_unload(&T);
    return 1;
  }
  cg_ir_program *p1 = k_axpb(), *p2 = k_add();
  void *h1 = th_build(&T, p1), *h2 = th_build(&T, p2);
  CHECK(h1 && h2, "build failed");
  static float direct[N], replay[N], want[N];
  chain s1 = {.a = alloc_fill(1.0f, 0.25f), .t = alloc_fill(0, 0), .u = alloc_fill(0, 0), .r = alloc_fill(0, 0),
              .off_a = 0, .v0 = {3, N}, .v1 = {-5, N - 100}, .groups = N / L};
  chain s2 = {.a = alloc_fill(-7.0f, 0.5f), .t = alloc_fill(0, 0), .u = alloc_fill(0, 0), .r = alloc_fill(0, 0),
              .off_a = 16, .v0 = {11, 1000}, .v1 = {7, 3000}, .groups = 24};
  chain_args(&s1);
  chain_args(&s2);
  void *hs[3] = {h1, h1, h2}, *graph = NULL;
  /* direct launches of set 1 */
  clear(s1.r), clear(s1.t), clear(s1.u);
  for (int k = 0; k < 3; k++) CHECK(T.api->launch(T.dev, hs[k], &s1.la[k]) == CG_P_OK, "launch: %s", th_last_error());
  result(s1.r, direct);
  for (int i = 0; i < N; i++) want[i] = ref_r(&s1, 1.0f, 0.25f, i);
  same(direct, want, "direct set 1 vs host");
  CHECK(T.api->graph_create(T.dev, 3, hs, s1.la, &graph) == CG_P_OK, "graph_create: %s", th_last_error());
  /* replay as recorded */
  clear(s1.r), clear(s1.t), clear(s1.u);
  CHECK(T.api->graph_launch(T.dev, graph, NULL) == CG_P_OK, "graph_launch: %s", th_last_error());
  result(s1.r, replay);
  int ok = same(replay, direct, "replay as recorded");
  /* replay with set 2: other buffers, offset, vars, grid */
  clear(s2.r), clear(s2.t), clear(s2.u);
  for (int k = 0; k < 3; k++) CHECK(T.api->launch(T.dev, hs[k], &s2.la[k]) == CG_P_OK, "launch: %s", th_last_error());
  result(s2.r, direct);
  for (int i = 0; i < N; i++) want[i] = ref_r(&s2, -7.0f, 0.5f, i);
  same(direct, want, "direct set 2 vs host");
  clear(s2.r), clear(s2.t), clear(s2.u);
  CHECK(T.api->graph_launch(T.dev, graph, s2.la) == CG_P_OK, "graph_launch set 2: %s", th_last_error());
  result(s2.r, replay);
  ok &= same(replay, direct, "replay patched with set 2");
  /* NULL args go back to the recording */
  clear(s1.r), clear(s1.t), clear(s1.u);
  CHECK(T.api->graph_launch(T.dev, graph, NULL) == CG_P_OK, "graph_launch: %s", th_last_error());
  result(s1.r, replay);
  for (int i = 0; i < N; i++) want[i] = ref_r(&s1, 1.0f, 0.25f, i);
  ok &= same(replay, want, "replay as recorded after patching");
  /* wrong counts are refused */
  cg_launch_args bad[3] = {s1.la[0], s1.la[1], s1.la[2]};
  bad[2].nbufs = 2;
  th_clear_error();
  CHECK(T.api->graph_launch(T.dev, graph, bad) == CG_P_ERR_INVALID && strstr(th_last_error(), "buffers"),
        "mismatched counts accepted: %s", th_last_error());
  /* a burst of replays alternating the two sets, then the last one checked */
  for (int r = 0; r < 100; r++) {
    if (r == 99) clear(s1.r), clear(s1.t), clear(s1.u);
    CHECK(T.api->graph_launch(T.dev, graph, r & 1 ? s1.la : s2.la) == CG_P_OK, "burst %d: %s", r, th_last_error());
  }
  result(s1.r, replay);
  ok &= same(replay, want, "after 100 replays");
  T.api->graph_free(T.dev, graph);
  printf("graph: record 3 launches of 2 programs, replay as recorded / patched (buffers, offsets, vars, grid) / "
         "100 replays: %s\n", ok ? "equal to direct launches" : "DIFFERENT");
  void *bufs[8] = {s1.a, s1.t, s1.u, s1.r, s2.a, s2.t, s2.u, s2.r};
  for (int k = 0; k < 8; k++) T.api->mem_free(T.dev, bufs[k]);
  if (h1) T.api->program_unload(T.dev, h1);
  if (h2) T.api->program_unload(T.dev, h2);
  free(p1);
  free(p2);
  return th_finish(&T);
}
