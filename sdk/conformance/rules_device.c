/* Conformance rules 4.x (lifecycle and errors), 5.x (memory) and 6.x (render/compile
 * determinism, 6.4 the optional graph slot, 6.5 concurrent compiles), plus the kernel runner every device rule uses: build (render ->
 * compile -> program_load, as the core does) and run a program on host arrays. */
#include <stdio.h>
#include <threads.h>

#include "conf_impl.h"

/* ---- kernels ---- */

void *conf_build(pinst *pi, const cg_ir_program *ir, char *why, size_t whylen) {
  const cg_plugin_api *a = &pi->tbl;
  char *src = NULL;
  const char *lang = NULL;
  void *blob = NULL, *h = NULL;
  size_t size = 0;
  cg_pstatus ps = CG_P_OK;
  conf_msg_clear();
  if (a->render && (ps = a->render(pi->dev, ir, &src, &lang)) != CG_P_OK) {
    snprintf(why, whylen, "render: %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
    return NULL;
  }
  if (a->compile && (ps = a->compile(pi->dev, ir, src, &blob, &size)) != CG_P_OK) {
    snprintf(why, whylen, "compile: %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
    if (src) a->release(src);
    return NULL;
  }
  const void *bin = blob ? blob : src;
  size_t bin_size = blob ? size : src ? strlen(src) + 1 : 0;
  if ((ps = a->program_load(pi->dev, ir, bin, bin_size, &h)) != CG_P_OK) {
    snprintf(why, whylen, "program_load: %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
    h = NULL;
  }
  if (src) a->release(src);
  if (blob) a->release(blob);
  return h;
}

cg_pstatus conf_run(pinst *pi, const cg_ir_program *ir, hbuf *bufs, int nbufs, const int64_t *vars,
                    char *why, size_t whylen) {
  const cg_plugin_api *a = &pi->tbl;
  void *h = conf_build(pi, ir, why, whylen);
  if (!h) return CG_P_ERR_COMPILE;
  void *d[64] = {0};
  cg_pstatus ps = nbufs > 64 ? CG_P_ERR_INVALID : CG_P_OK;
  const char *step = "mem_alloc";
  for (int k = 0; k < nbufs && !ps; k++) {
    ps = a->mem_alloc(pi->dev, bufs[k].bytes, &d[k]);
    if (ps) d[k] = NULL;
    if (!ps && (ps = a->copy_in(pi->dev, d[k], 0, bufs[k].data, bufs[k].bytes))) step = "copy_in";
  }
  if (!ps) {
    cg_launch_args la = {.struct_size = sizeof la, .nbufs = (uint32_t)nbufs, .bufs = d, .nvars = ir->nvars,
                         .vars = vars};
    memcpy(la.global, ir->global, sizeof la.global);
    memcpy(la.local, ir->local, sizeof la.local);
    step = "launch";
    conf_msg_clear();
    ps = a->launch(pi->dev, h, &la);
    if (!ps && a->synchronize) step = "synchronize", ps = a->synchronize(pi->dev);
  }
  for (int k = 0; k < nbufs && !ps; k++)
    if ((ps = a->copy_out(pi->dev, bufs[k].data, d[k], 0, bufs[k].bytes))) step = "copy_out";
  if (ps) snprintf(why, whylen, "%s: %s: %s", step, conf_pstatus_name(ps), conf_msg_or("no message"));
  for (int k = 0; k < nbufs; k++)
    if (d[k]) a->mem_free(pi->dev, d[k]);
  a->program_unload(pi->dev, h);
  return ps;
}

static int32_t emit(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int64_t arg, int n, int32_t s0, int32_t s1) {
  int32_t s[2] = {s0, s1};
  return cg_irb_emit(b, op, t, n, s, arg);
}

/* out[i] = a[i] + 1 (float32), one work-item per element. */
cg_ir_program *conf_kernel_add1(int n, const char *name) {
  cg_ir_builder *b = cg_irb_new(name);
  if (!b) return NULL;
  uint32_t g[3] = {(uint32_t)n, 1, 1}, l[3] = {1, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  cg_ir_type pf = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), f = cg_ir_t(CG_IR_FLOAT32);
  int32_t out = emit(b, CG_IR_PARAM, pf, 0, 0, 0, 0), in = emit(b, CG_IR_PARAM, pf, 1, 0, 0, 0);
  int32_t i = emit(b, CG_IR_SPECIAL, cg_ir_t(CG_IR_INT32), 0, 0, 0, 0);
  int32_t x = emit(b, CG_IR_LOAD, f, 0, 1, emit(b, CG_IR_INDEX, pf, 0, 2, in, i), 0);
  int32_t y = emit(b, CG_IR_ADD, f, 0, 2, x, cg_irb_const_f(b, CG_IR_FLOAT32, 1.0));
  emit(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 0, 2, emit(b, CG_IR_INDEX, pf, 0, 2, out, i), y);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* out[4i..4i+3] = 2 * a[4i..4i+3] with 4-lane float32 vector loads and stores. */
static cg_ir_program *kernel_vec4(int nvec) {
  cg_ir_builder *b = cg_irb_new("conf_vec4");
  if (!b) return NULL;
  uint32_t g[3] = {(uint32_t)nvec, 1, 1}, l[3] = {1, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 4 * nvec);
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 4 * nvec);
  cg_ir_type pf = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), pv = pf, v = cg_ir_t(CG_IR_FLOAT32);
  pv.vec = 4, v.vec = 4;
  int32_t out = emit(b, CG_IR_PARAM, pf, 0, 0, 0, 0), in = emit(b, CG_IR_PARAM, pf, 1, 0, 0, 0);
  int32_t i = emit(b, CG_IR_SPECIAL, cg_ir_t(CG_IR_INT32), 0, 0, 0, 0);
  int32_t i4 = emit(b, CG_IR_MUL, cg_ir_t(CG_IR_INT32), 0, 2, i, cg_irb_const_i(b, CG_IR_INT32, 4));
  int32_t x = emit(b, CG_IR_LOAD, v, 0, 1, emit(b, CG_IR_INDEX, pv, 0, 2, in, i4), 0);
  emit(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 0, 2, emit(b, CG_IR_INDEX, pv, 0, 2, out, i4),
       emit(b, CG_IR_ADD, v, 0, 2, x, x));
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* ---- 4.x lifecycle and errors ---- */

static bool props_sane(const cg_device_props *p, char *why, size_t n) {
  if (!memchr(p->name, 0, sizeof p->name) || !p->name[0]) return snprintf(why, n, "empty or unterminated name"), false;
  if (!memchr(p->arch, 0, sizeof p->arch)) return snprintf(why, n, "unterminated arch"), false;
  if (p->kind != CG_DEVICE_CPU && p->kind != CG_DEVICE_GPU && p->kind != CG_DEVICE_ACCEL)
    return snprintf(why, n, "kind %u is not CG_DEVICE_CPU/GPU/ACCEL", p->kind), false;
  if (!(p->dtypes & ((1u << CG_IR_VOID) - 1))) return snprintf(why, n, "no element types"), false;
  if (p->max_local_size < 1 || p->warp_size < 1) return snprintf(why, n, "max_local_size and warp_size must be >= 1"), false;
  if (p->n_tc_shapes > 8) return snprintf(why, n, "n_tc_shapes %u > 8", p->n_tc_shapes), false;
  return true;
}

static void r_devices(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  int n = -1;
  conf_msg_clear();
  cg_pstatus ps = a->device_count(c->p.ctx, &n);
  if (ps != CG_P_OK || n < 0) return rfail(r, "device_count: %s, count %d: %s", conf_pstatus_name(ps), n, conf_msg_or("no message"));
  for (int i = 0; i < n; i++) {
    cg_device_props p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    char why[256];
    conf_msg_clear();
    if ((ps = a->device_props(c->p.ctx, i, &p)) != CG_P_OK)
      rfail(r, "device_props(%d): %s: %s", i, conf_pstatus_name(ps), conf_msg_or("no message"));
    else if (!props_sane(&p, why, sizeof why))
      rfail(r, "device %d properties: %s", i, why);
  }
  if (n > c->o->device && !c->p.dev) rfail(r, "%s", c->p.devwhy);
  rdetail(r, "%d device(s)%s", n, n == 0 ? " (zero devices is valid: device rules SKIP)" : "");
}

/* Allocates, writes and reads back a few bytes on the main instance's device. */
static bool device_works(conf *c, char *why, size_t n) {
  if (!c->p.dev) return true;
  const cg_plugin_api *a = &c->p.tbl;
  void *b = NULL;
  unsigned char in[64], out[64];
  for (int i = 0; i < 64; i++) in[i] = (unsigned char)(i * 7 + 1);
  cg_pstatus ps = a->mem_alloc(c->p.dev, sizeof in, &b);
  if (!ps) ps = a->copy_in(c->p.dev, b, 0, in, sizeof in);
  if (!ps) ps = a->copy_out(c->p.dev, out, b, 0, sizeof out);
  if (!ps && memcmp(in, out, sizeof in)) ps = CG_P_ERR_INTERNAL;
  if (b) a->mem_free(c->p.dev, b);
  if (ps) snprintf(why, n, "%s: %s", conf_pstatus_name(ps), conf_msg_or("round trip differs"));
  return ps == CG_P_OK;
}

static void r_double_init(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  void *ctx2 = NULL;
  char why[1024];
  conf_msg_clear();
  cg_pstatus ps = a->init(&ctx2);
  if (ps != CG_P_OK) {
    rdetail(r, "a second context is refused (%s): %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  } else if (ctx2 == c->p.ctx) {
    /* shutting it down would free the first context's objects: not done */
    return rfail(r, "the second init returned the first context again: contexts are not independent "
                    "(keep per-context state, or refuse a second init with a status and a message)");
  } else {
    int n = -1;
    if ((ps = a->device_count(ctx2, &n)) != CG_P_OK || n != c->p.ndev)
      rfail(r, "second context: device_count %s, %d devices (first context: %d)", conf_pstatus_name(ps), n, c->p.ndev);
    a->shutdown(ctx2);
    rdetail(r, "two contexts at once; shutting one down leaves the other working");
  }
  int n = -1;
  if (a->device_count(c->p.ctx, &n) != CG_P_OK || n != c->p.ndev) rfail(r, "first context broken after the second init");
  if (!device_works(c, why, sizeof why)) rfail(r, "first context's device broken after the second init: %s", why);
}

static void r_bad_args(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  int bad[2] = {-1, c->p.ndev};
  for (int k = 0; k < 2; k++) {
    cg_device_props p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    void *dev = NULL;
    conf_msg_clear();
    cg_pstatus ps = a->device_props(c->p.ctx, bad[k], &p);
    if (ps == CG_P_OK) rfail(r, "device_props(%d) of %d devices returned CG_P_OK", bad[k], c->p.ndev);
    conf_msg_clear();
    ps = a->device_open(c->p.ctx, bad[k], &dev);
    if (ps == CG_P_OK) {
      rfail(r, "device_open(%d) of %d devices returned CG_P_OK", bad[k], c->p.ndev);
      if (a->device_close) a->device_close(dev);
    } else if (!conf_msg[0]) {
      rfail(r, "device_open(%d) failed (%s) without a message through set_error", bad[k], conf_pstatus_name(ps));
    }
  }
  rdetail(r, "device indexes -1 and %d refused", c->p.ndev);
}

/* Leaves buffers and a program alive, shuts down, then starts the instance again. */
static void r_shutdown_live(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  char why[1024] = "";
  cg_ir_program *ir = conf_kernel_add1(16, "conf_live");
  void *h = ir ? conf_build(&c->p, ir, why, sizeof why) : NULL;
  if (!h) rfail(r, "cannot build the test kernel: %s", why);
  for (int i = 0; i < 3; i++) {
    void *b = NULL;
    if (a->mem_alloc(c->p.dev, 1000 + (size_t)i, &b) != CG_P_OK) rfail(r, "mem_alloc: %s", conf_msg_or("no message"));
  }
  free(ir);
  a->shutdown(c->p.ctx); /* device, 3 buffers and a program still alive */
  c->p.ctx = c->p.dev = NULL;
  conf_msg_clear();
  cg_pstatus ps = a->init(&c->p.ctx);
  if (ps != CG_P_OK) {
    c->p.ctx = NULL;
    c->dev_ok = c->p_ok = false;
    snprintf(c->p.devwhy, sizeof c->p.devwhy, "init after shutdown failed");
    return rfail(r, "init after a shutdown failed (%s): %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  }
  if ((ps = a->device_open(c->p.ctx, c->o->device, &c->p.dev)) != CG_P_OK) {
    c->p.dev = NULL;
    c->dev_ok = false;
    snprintf(c->p.devwhy, sizeof c->p.devwhy, "device_open after a restart failed");
    return rfail(r, "device_open after a restart failed (%s): %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  }
  if (!device_works(c, why, sizeof why)) rfail(r, "device broken after a restart: %s", why);
  rdetail(r, "shutdown with an open device, 3 buffers and a program; init again works");
}

/* ---- 5.x memory ---- */

static void r_roundtrip(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  size_t n = (size_t)1 << 20;
  unsigned char *in = malloc(n), *out = malloc(n);
  void *b = NULL;
  cg_pstatus ps = in && out ? CG_P_OK : CG_P_ERR_NOMEM;
  for (size_t i = 0; in && i < n; i++) in[i] = (unsigned char)(i * 131 + (i >> 8));
  if (!ps) ps = a->mem_alloc(c->p.dev, n, &b);
  if (!ps) ps = a->copy_in(c->p.dev, b, 0, in, n);
  if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
  if (!ps) ps = a->copy_out(c->p.dev, out, b, 0, n);
  if (ps) rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  else if (memcmp(in, out, n)) rfail(r, "1 MiB copied in and out differs");
  if (b) a->mem_free(c->p.dev, b);
  free(in);
  free(out);
  rdetail(r, "1 MiB copy_in / copy_out");
}

static void r_zero_size(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  void *b = NULL, *b2 = NULL;
  char x = 0;
  conf_msg_clear();
  cg_pstatus ps = a->mem_alloc(c->p.dev, 0, &b);
  if (ps) return rfail(r, "mem_alloc(0): %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  if ((ps = a->copy_in(c->p.dev, b, 0, &x, 0))) rfail(r, "copy_in of 0 bytes: %s", conf_pstatus_name(ps));
  if ((ps = a->copy_out(c->p.dev, &x, b, 0, 0))) rfail(r, "copy_out of 0 bytes: %s", conf_pstatus_name(ps));
  if ((ps = a->mem_alloc(c->p.dev, 0, &b2))) rfail(r, "second mem_alloc(0): %s", conf_pstatus_name(ps));
  else a->mem_free(c->p.dev, b2);
  a->mem_free(c->p.dev, b);
  rdetail(r, "mem_alloc(0), 0-byte copies, mem_free");
}

static void r_huge(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  size_t sizes[2] = {(size_t)1 << 62, SIZE_MAX};
  for (int k = 0; k < 2; k++) {
    void *b = NULL;
    conf_msg_clear();
    cg_pstatus ps = a->mem_alloc(c->p.dev, sizes[k], &b);
    if (ps == CG_P_OK) {
      rfail(r, "mem_alloc(%zu) succeeded", sizes[k]);
      a->mem_free(c->p.dev, b);
    } else if (!conf_msg[0]) {
      rfail(r, "mem_alloc(%zu) failed (%s) without a message through set_error", sizes[k], conf_pstatus_name(ps));
    }
  }
  char why[1024];
  if (!device_works(c, why, sizeof why)) rfail(r, "device broken after the failed allocations: %s", why);
  rdetail(r, "2^62 and SIZE_MAX bytes refused with a message; the device still works");
}

static void r_offsets(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  enum { N = 1000 };
  unsigned char base[N], part[77], out[N], mid[10];
  for (int i = 0; i < N; i++) base[i] = (unsigned char)(i * 3);
  for (int i = 0; i < 77; i++) part[i] = (unsigned char)(200 + i);
  void *b = NULL;
  cg_pstatus ps = a->mem_alloc(c->p.dev, N, &b);
  if (!ps) ps = a->copy_in(c->p.dev, b, 0, base, N);
  if (!ps) ps = a->copy_in(c->p.dev, b, 13, part, sizeof part);
  if (!ps) ps = a->copy_out(c->p.dev, out, b, 0, N);
  if (!ps) ps = a->copy_out(c->p.dev, mid, b, 18, sizeof mid);
  if (ps) {
    rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  } else {
    for (int i = 0; i < N; i++) {
      unsigned char want = i >= 13 && i < 90 ? part[i - 13] : base[i];
      if (out[i] != want) {
        rfail(r, "after copy_in of 77 bytes at offset 13: byte %d is %u, expected %u", i, out[i], want);
        break;
      }
    }
    if (memcmp(mid, part + 5, sizeof mid)) rfail(r, "copy_out of 10 bytes at offset 18 differs");
  }
  /* out of range: must fail, never touch memory */
  struct {
    size_t off, n;
  } bad[] = {{995, 10}, {N + 1, 0}, {SIZE_MAX - 2, 5}, {1, SIZE_MAX}};
  for (size_t k = 0; b && k < sizeof bad / sizeof *bad; k++) {
    unsigned char tmp[16] = {0};
    size_t n = bad[k].n; /* larger than tmp only where the range check must refuse it */
    if (a->copy_in(c->p.dev, b, bad[k].off, tmp, n) == CG_P_OK)
      rfail(r, "copy_in at offset %zu of %zu bytes into %d bytes succeeded", bad[k].off, bad[k].n, N);
    if (a->copy_out(c->p.dev, tmp, b, bad[k].off, n) == CG_P_OK)
      rfail(r, "copy_out at offset %zu of %zu bytes from %d bytes succeeded", bad[k].off, bad[k].n, N);
  }
  if (b) a->mem_free(c->p.dev, b);
  rdetail(r, "partial copies at offsets 13 and 18; 4 out-of-range copies refused");
}

static void r_d2d(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  if (!a->copy_d2d) return rskip(r, "optional slot copy_d2d is NULL (the host stages through copy_out + copy_in)");
  enum { N = 512 };
  unsigned char s[N], d[N], out[N];
  for (int i = 0; i < N; i++) s[i] = (unsigned char)(i * 5 + 3), d[i] = (unsigned char)(255 - i);
  void *bs = NULL, *bd = NULL;
  cg_pstatus ps = a->mem_alloc(c->p.dev, N, &bs);
  if (!ps) ps = a->mem_alloc(c->p.dev, N, &bd);
  if (!ps) ps = a->copy_in(c->p.dev, bs, 0, s, N);
  if (!ps) ps = a->copy_in(c->p.dev, bd, 0, d, N);
  if (!ps) ps = a->copy_d2d(c->p.dev, bd, 7, bs, 100, 300);
  if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
  if (!ps) ps = a->copy_out(c->p.dev, out, bd, 0, N);
  if (ps) {
    rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  } else {
    for (int i = 0; i < N; i++) {
      unsigned char want = i >= 7 && i < 307 ? s[i - 7 + 100] : d[i];
      if (out[i] != want) {
        rfail(r, "copy_d2d of 300 bytes from offset 100 to 7: byte %d is %u, expected %u", i, out[i], want);
        break;
      }
    }
  }
  if (bs && a->copy_d2d(c->p.dev, bd, 0, bs, N - 10, 20) == CG_P_OK) rfail(r, "out-of-range copy_d2d succeeded");
  if (bs) a->mem_free(c->p.dev, bs);
  if (bd) a->mem_free(c->p.dev, bd);
  rdetail(r, "copy_d2d at offsets; an out-of-range copy refused");
}

/* Vector loads at the start of buffers allocated after odd-sized ones, and launches
 * with byte offsets (multiples of 16) into the buffers. */
static void r_alignment(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  enum { NV = 32, N = 4 * NV, PAD = 64 };
  cg_ir_program *ir = kernel_vec4(NV);
  char why[1024] = "";
  void *h = ir ? conf_build(&c->p, ir, why, sizeof why) : NULL;
  free(ir);
  if (!h) return rfail(r, "cannot build the vector kernel: %s", why);
  float in[N + PAD], out[N + PAD];
  for (int i = 0; i < N + PAD; i++) in[i] = (float)i - 40.25f;
  void *odd[3] = {NULL, NULL, NULL}, *bin = NULL, *bout = NULL;
  cg_pstatus ps = CG_P_OK;
  for (int k = 0; k < 3 && !ps; k++) ps = a->mem_alloc(c->p.dev, (size_t)(1 + 16 * k), &odd[k]);
  if (!ps) ps = a->mem_alloc(c->p.dev, sizeof in, &bin);
  if (!ps) ps = a->mem_alloc(c->p.dev, sizeof out, &bout);
  if (!ps) ps = a->copy_in(c->p.dev, bin, 0, in, sizeof in);
  size_t offsets[2][2] = {{0, 0}, {64, 16}}; /* bytes: out, in */
  for (int k = 0; k < 2 && !ps; k++) {
    for (int i = 0; i < N + PAD; i++) out[i] = -1.0f;
    ps = a->copy_in(c->p.dev, bout, 0, out, sizeof out);
    void *bufs[2] = {bout, bin};
    cg_launch_args la = {.struct_size = sizeof la, .nbufs = 2, .bufs = bufs, .buf_offsets = k ? offsets[1] : NULL,
                         .global = {NV, 1, 1}, .local = {1, 1, 1}};
    conf_msg_clear();
    if (!ps) ps = a->launch(c->p.dev, h, &la);
    if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
    if (!ps) ps = a->copy_out(c->p.dev, out, bout, 0, sizeof out);
    if (ps) break;
    size_t oo = offsets[k][0] / 4, io = offsets[k][1] / 4;
    for (size_t i = 0; i < N + PAD; i++) {
      float want = i >= oo && i < oo + N ? 2.0f * in[i - oo + io] : -1.0f;
      if (out[i] != want) {
        rfail(r, "%s: out[%zu] = %g, expected %g", k ? "with buf_offsets {64, 16}" : "at buffer start", i,
              (double)out[i], (double)want);
        break;
      }
    }
  }
  if (ps) rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  for (int k = 0; k < 3; k++)
    if (odd[k]) a->mem_free(c->p.dev, odd[k]);
  if (bin) a->mem_free(c->p.dev, bin);
  if (bout) a->mem_free(c->p.dev, bout);
  a->program_unload(c->p.dev, h);
  rdetail(r, "4 x f32 vector access after 1/17/33-byte buffers; byte offsets 64 and 16");
}

/* ---- 6.x determinism ---- */

static void r_render_det(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  if (!a->render) return rskip(r, "optional slot render is NULL (the plugin consumes the IR directly)");
  cg_ir_program *irs[2] = {conf_kernel_add1(100, "conf_det"), kernel_vec4(8)};
  for (int k = 0; k < 2; k++) {
    char *s[2] = {NULL, NULL};
    const char *lang[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
      conf_msg_clear();
      cg_pstatus ps = irs[k] ? a->render(c->p.dev, irs[k], &s[t], &lang[t]) : CG_P_ERR_NOMEM;
      if (ps) rfail(r, "render of %s: %s: %s", irs[k] ? irs[k]->name : "?", conf_pstatus_name(ps), conf_msg_or("no message"));
    }
    if (s[0] && s[1] && strcmp(s[0], s[1])) rfail(r, "two renders of %s differ", irs[k]->name);
    if (s[0] && s[1] && (!lang[0] || !lang[1] || strcmp(lang[0], lang[1]))) rfail(r, "language tags differ or are NULL");
    if (k == 0 && lang[0]) rdetail(r, "language \"%s\"", lang[0]);
    for (int t = 0; t < 2; t++)
      if (s[t]) a->release(s[t]);
    free(irs[k]);
  }
}

static void r_compile_det(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  if (!a->compile) return rskip(r, "optional slot compile is NULL (the rendered source, or the IR, is the binary)");
  cg_ir_program *ir = conf_kernel_add1(100, "conf_det");
  char *src = NULL;
  const char *lang = NULL;
  void *blob[2] = {NULL, NULL};
  size_t size[2] = {0, 0};
  cg_pstatus ps = ir ? CG_P_OK : CG_P_ERR_NOMEM;
  if (!ps && a->render) ps = a->render(c->p.dev, ir, &src, &lang);
  for (int t = 0; t < 2 && !ps; t++) {
    conf_msg_clear();
    if ((ps = a->compile(c->p.dev, ir, src, &blob[t], &size[t]))) blob[t] = NULL;
  }
  if (ps) rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  else if (size[0] != size[1] || (size[0] && memcmp(blob[0], blob[1], size[0])))
    rfail(r, "two compiles of the same IR differ (%zu and %zu bytes)", size[0], size[1]);
  else rdetail(r, "identical %zu-byte blobs", size[0]);
  for (int t = 0; t < 2; t++)
    if (blob[t]) a->release(blob[t]);
  if (src) a->release(src);
  free(ir);
}

/* The blob as the disk cache hands it back: a copy, loaded twice, after the original
 * was released. Unloading one program leaves the other working. */
static void r_blob_reload(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  enum { N = 50 };
  cg_ir_program *ir = conf_kernel_add1(N, "conf_reload");
  char *src = NULL, *copy = NULL;
  const char *lang = NULL;
  void *blob = NULL, *h[2] = {NULL, NULL};
  size_t size = 0;
  cg_pstatus ps = ir ? CG_P_OK : CG_P_ERR_NOMEM;
  if (!ps && a->render) ps = a->render(c->p.dev, ir, &src, &lang);
  if (!ps && a->compile) ps = a->compile(c->p.dev, ir, src, (void **)&blob, &size);
  if (!ps) {
    const void *bin = blob ? blob : src;
    size = blob ? size : src ? strlen(src) + 1 : 0;
    copy = size ? malloc(size) : NULL;
    if (size && !copy) ps = CG_P_ERR_NOMEM;
    else if (copy) memcpy(copy, bin, size);
  }
  if (blob) a->release(blob);
  if (src) a->release(src);
  for (int k = 0; k < 2 && !ps; k++)
    if ((ps = a->program_load(c->p.dev, ir, copy, size, &h[k]))) h[k] = NULL;
  free(copy);
  if (ps) rfail(r, "%s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  if (h[0]) a->program_unload(c->p.dev, h[0]);
  if (h[1]) {
    float in[N], out[N];
    void *b[2] = {NULL, NULL};
    for (int i = 0; i < N; i++) in[i] = (float)i;
    ps = a->mem_alloc(c->p.dev, sizeof out, &b[0]);
    if (!ps) ps = a->mem_alloc(c->p.dev, sizeof in, &b[1]);
    if (!ps) ps = a->copy_in(c->p.dev, b[1], 0, in, sizeof in);
    cg_launch_args la = {.struct_size = sizeof la, .nbufs = 2, .bufs = b, .global = {N, 1, 1}, .local = {1, 1, 1}};
    if (!ps) ps = a->launch(c->p.dev, h[1], &la);
    if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
    if (!ps) ps = a->copy_out(c->p.dev, out, b[0], 0, sizeof out);
    if (ps) rfail(r, "second program after unloading the first: %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
    for (int i = 0; !ps && i < N; i++)
      if (out[i] != in[i] + 1) {
        rfail(r, "reloaded program: out[%d] = %g, expected %g", i, (double)out[i], (double)(in[i] + 1));
        break;
      }
    for (int k = 0; k < 2; k++)
      if (b[k]) a->mem_free(c->p.dev, b[k]);
    a->program_unload(c->p.dev, h[1]);
  }
  free(ir);
  rdetail(r, "a copied %zu-byte binary loaded twice; the second runs after the first is unloaded", size);
}

/* ---- 6.4 the graph slot (ABI 1.1, optional) ---- */

enum { G_N = 64 };

/* One set of buffers for the chain t = a + 1; o = t + 1 (two launches of add1). */
typedef struct {
  void *a, *t, *o;
  void *b0[2], *b1[2];
  size_t off0[2];
  cg_launch_args la[2];
} gset;

static cg_pstatus gset_init(conf *c, gset *g, float base, size_t a_off, uint32_t n1) {
  const cg_plugin_api *a = &c->p.tbl;
  float in[G_N + 4];
  for (int i = 0; i < G_N + 4; i++) in[i] = base + (float)i;
  cg_pstatus ps = a->mem_alloc(c->p.dev, sizeof in, &g->a);
  if (!ps) ps = a->mem_alloc(c->p.dev, sizeof in, &g->t);
  if (!ps) ps = a->mem_alloc(c->p.dev, sizeof in, &g->o);
  if (!ps) ps = a->copy_in(c->p.dev, g->a, 0, in, sizeof in);
  g->b0[0] = g->t, g->b0[1] = g->a, g->off0[0] = 0, g->off0[1] = a_off;
  g->b1[0] = g->o, g->b1[1] = g->t;
  cg_launch_args la = {.struct_size = sizeof la, .nbufs = 2, .global = {G_N, 1, 1}, .local = {1, 1, 1}};
  g->la[0] = la, g->la[1] = la;
  g->la[0].bufs = g->b0, g->la[0].buf_offsets = g->off0;
  g->la[1].bufs = g->b1, g->la[1].global[0] = n1;
  return ps;
}

static void gset_free(conf *c, gset *g) {
  void *b[3] = {g->a, g->t, g->o};
  for (int k = 0; k < 3; k++)
    if (b[k]) c->p.tbl.mem_free(c->p.dev, b[k]);
}

/* Sets t and o to -1, then runs the set's two launches (directly, or one replay of
 * graph with args `patch`), and reads o. */
static cg_pstatus gset_run(conf *c, gset *g, void *const *h, void *graph, const cg_launch_args *patch, float *o) {
  const cg_plugin_api *a = &c->p.tbl;
  float m1[G_N + 4];
  for (int i = 0; i < G_N + 4; i++) m1[i] = -1.0f;
  cg_pstatus ps = a->copy_in(c->p.dev, g->t, 0, m1, sizeof m1);
  if (!ps) ps = a->copy_in(c->p.dev, g->o, 0, m1, sizeof m1);
  conf_msg_clear();
  for (int k = 0; k < 2 && !ps && !graph; k++) ps = a->launch(c->p.dev, h[k], &g->la[k]);
  if (!ps && graph) ps = a->graph_launch(c->p.dev, graph, patch);
  if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
  if (!ps) ps = a->copy_out(c->p.dev, o, g->o, 0, sizeof m1);
  return ps;
}

/* A graph of two launches recorded with buffer set A, replayed as recorded, replayed
 * with set B (other buffers, a byte offset, a smaller grid for the second launch), and
 * as recorded again: every result must equal the same launches made directly. */
static void r_graph(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  if (!a->graph_create || !a->graph_launch || !a->graph_free)
    return rskip(r, "optional graph slot is NULL (the core replays launch by launch)");
  cg_ir_program *ir = conf_kernel_add1(G_N, "conf_graph");
  char why[1024] = "";
  void *h = ir ? conf_build(&c->p, ir, why, sizeof why) : NULL;
  free(ir);
  if (!h) return rfail(r, "cannot build the kernel: %s", why);
  void *hs[2] = {h, h}, *graph = NULL;
  gset A = {0}, B = {0};
  float da[G_N + 4], db[G_N + 4], got[G_N + 4];
  cg_pstatus ps = gset_init(c, &A, 0.5f, 0, G_N);
  if (!ps) ps = gset_init(c, &B, 100.25f, 4, G_N - 10);
  if (!ps) ps = gset_run(c, &A, hs, NULL, NULL, da);
  if (!ps) ps = gset_run(c, &B, hs, NULL, NULL, db);
  const char *step = "direct launches";
  if (!ps) {
    step = "graph_create";
    conf_msg_clear();
    ps = a->graph_create(c->p.dev, 2, hs, A.la, &graph);
    if (ps == CG_P_ERR_UNSUPPORTED) {
      rskip(r, "graph_create answered CG_P_ERR_UNSUPPORTED: %s", conf_msg_or("no message"));
      goto done;
    }
  }
  struct { gset *g; const cg_launch_args *patch; const float *want; const char *what; } runs[] = {
      {&A, NULL, da, "replay as recorded"}, {&B, B.la, db, "replay patched with other buffers, offset, grid"},
      {&A, NULL, da, "replay as recorded after patching"}};
  for (int k = 0; k < 3 && !ps; k++) {
    step = runs[k].what;
    if ((ps = gset_run(c, runs[k].g, hs, graph, runs[k].patch, got))) break;
    for (int i = 0; i < G_N + 4; i++)
      if (got[i] != runs[k].want[i]) {
        rfail(r, "%s: out[%d] = %g, direct launches gave %g", runs[k].what, i, (double)got[i], (double)runs[k].want[i]);
        goto done;
      }
  }
  for (int i = 0; !ps && i < G_N; i++) /* the direct launches themselves, against the host */
    if (db[i] != (i < G_N - 10 ? 100.25f + (float)(i + 1) + 2.0f : -1.0f)) {
      rfail(r, "direct launches of set B: out[%d] = %g", i, (double)db[i]);
      goto done;
    }
  if (ps) rfail(r, "%s: %s: %s", step, conf_pstatus_name(ps), conf_msg_or("no message"));
  else rdetail(r, "2-launch graph replayed as recorded, patched (buffers, byte offset, grid) and restored");
done:
  if (graph) a->graph_free(c->p.dev, graph);
  gset_free(c, &A);
  gset_free(c, &B);
  a->program_unload(c->p.dev, h);
}

/* ---- 6.5 concurrent compiles (CG_API_CAP_CONCURRENT_COMPILE) ---- */

enum { CC_THREADS = 4, CC_PROGS = 6 };

/* What one thread (or the serial pass) made of every program: source and binary. */
typedef struct {
  conf *c;
  cg_ir_program **irs;
  int first;                  /* threads start at different programs */
  char *src[CC_PROGS];
  void *blob[CC_PROGS];
  size_t size[CC_PROGS];
  cg_pstatus ps;
  char why[640];
} cc_set;

static int cc_compile_all(void *arg) {
  cc_set *s = arg;
  const cg_plugin_api *a = &s->c->p.tbl;
  for (int k = 0; k < CC_PROGS && !s->ps; k++) {
    int i = (s->first + k) % CC_PROGS;
    const char *lang = NULL, *step = "render";
    conf_msg_clear();
    if (a->render && (s->ps = a->render(s->c->p.dev, s->irs[i], &s->src[i], &lang))) s->src[i] = NULL;
    if (!s->ps && a->compile && (step = "compile", s->ps = a->compile(s->c->p.dev, s->irs[i], s->src[i], &s->blob[i], &s->size[i])))
      s->blob[i] = NULL;
    if (s->ps)
      snprintf(s->why, sizeof s->why, "%s of %s: %s: %s", step, s->irs[i]->name, conf_pstatus_name(s->ps), conf_msg_or("no message"));
  }
  return 0;
}

static void cc_free(cc_set *s) {
  for (int i = 0; i < CC_PROGS; i++) {
    if (s->src[i]) s->c->p.tbl.release(s->src[i]);
    if (s->blob[i]) s->c->p.tbl.release(s->blob[i]);
  }
}

/* Loads program i of set s and runs it on in[n] -> out[n] (add1 kernels). */
static cg_pstatus cc_run(cc_set *s, int i, int n, const float *in, float *out) {
  const cg_plugin_api *a = &s->c->p.tbl;
  void *dev = s->c->p.dev, *h = NULL, *b[2] = {NULL, NULL};
  const void *bin = s->blob[i] ? s->blob[i] : s->src[i];
  size_t size = s->blob[i] ? s->size[i] : s->src[i] ? strlen(s->src[i]) + 1 : 0;
  conf_msg_clear();
  cg_pstatus ps = a->program_load(dev, s->irs[i], bin, size, &h);
  if (ps) return ps;
  size_t bytes = sizeof(float) * (size_t)n;
  cg_launch_args la = {.struct_size = sizeof la, .nbufs = 2, .bufs = b, .global = {(uint32_t)n, 1, 1}, .local = {1, 1, 1}};
  if (!(ps = a->mem_alloc(dev, bytes, &b[0])) && !(ps = a->mem_alloc(dev, bytes, &b[1])) &&
      !(ps = a->copy_in(dev, b[1], 0, in, bytes)) && !(ps = a->launch(dev, h, &la)) &&
      !(ps = a->synchronize ? a->synchronize(dev) : CG_P_OK))
    ps = a->copy_out(dev, out, b[0], 0, bytes);
  for (int k = 0; k < 2; k++)
    if (b[k]) a->mem_free(dev, b[k]);
  a->program_unload(dev, h);
  return ps;
}

/* Every thread's binary of every program loads and gives the serial binary's result. */
static void cc_check(conf *c, cc_set *serial, cc_set *th, rres *r) {
  enum { NMAX = 64 + 9 * CC_PROGS };
  float in[NMAX], want[NMAX], got[NMAX];
  for (int i = 0; i < NMAX; i++) in[i] = (float)i * 0.5f - 7.0f;
  for (int i = 0; i < CC_PROGS && r->st != R_FAIL; i++) {
    int n = (int)serial->irs[i]->global[0];
    cg_pstatus ps = cc_run(serial, i, n, in, want);
    if (ps) return rfail(r, "serial binary of %s: %s: %s", serial->irs[i]->name, conf_pstatus_name(ps), conf_msg_or("no message"));
    for (int t = 0; t < CC_THREADS && r->st != R_FAIL; t++) {
      if ((ps = cc_run(&th[t], i, n, in, got)))
        rfail(r, "thread %d's binary of %s: %s: %s", t, serial->irs[i]->name, conf_pstatus_name(ps), conf_msg_or("no message"));
      for (int k = 0; !ps && k < n; k++)
        if (memcmp(&got[k], &want[k], sizeof got[k]) || want[k] != in[k] + 1) {
          rfail(r, "thread %d's binary of %s: out[%d] = %g, serial compile gives %g (expected %g)", t,
                serial->irs[i]->name, k, (double)got[k], (double)want[k], (double)(in[k] + 1));
          break;
        }
    }
  }
  (void)c;
}

static void r_concurrent_compile(conf *c, rres *r) {
  const cg_plugin_api *a = &c->p.tbl;
  if (c->p.minor < 2 || !(a->caps & CG_API_CAP_CONCURRENT_COMPILE))
    return rskip(r, "CG_API_CAP_CONCURRENT_COMPILE not declared (ABI %u.%u): render/compile are called one at a time",
                 c->p.major, c->p.minor);
  if (!a->render && !a->compile) return rskip(r, "no render or compile slot: nothing runs concurrently");
  cg_ir_program *irs[CC_PROGS] = {NULL};
  cc_set serial = {.c = c, .irs = irs}, th[CC_THREADS];
  thrd_t tid[CC_THREADS];
  bool started[CC_THREADS] = {false};
  char name[32];
  for (int i = 0; i < CC_PROGS; i++) {
    snprintf(name, sizeof name, "conf_cc%d", i);
    if (!(irs[i] = conf_kernel_add1(64 + 9 * i, name))) serial.ps = CG_P_ERR_NOMEM;
  }
  for (int t = 0; t < CC_THREADS; t++) th[t] = (cc_set){.c = c, .irs = irs, .first = t % 2 ? t : 0};
  if (!serial.ps) {
    for (int t = 0; t < CC_THREADS; t++) started[t] = thrd_create(&tid[t], cc_compile_all, &th[t]) == thrd_success;
    for (int t = 0; t < CC_THREADS; t++)
      if (started[t]) thrd_join(tid[t], NULL);
    cc_compile_all(&serial);
  }
  if (serial.ps) rfail(r, "serial %s", serial.why[0] ? serial.why : "setup: out of memory");
  for (int t = 0; t < CC_THREADS && r->st != R_FAIL; t++) {
    if (!started[t]) rfail(r, "cannot start thread %d", t);
    else if (th[t].ps) rfail(r, "thread %d: %s", t, th[t].why);
  }
  if (r->st != R_FAIL) cc_check(c, &serial, th, r);
  if (r->st != R_FAIL)
    rdetail(r, "%d threads compiled %d programs at once (threads 0 and 2 in the same order); every binary "
            "runs equal to a serial compile", CC_THREADS, CC_PROGS);
  cc_free(&serial);
  for (int t = 0; t < CC_THREADS; t++) cc_free(&th[t]);
  for (int i = 0; i < CC_PROGS; i++) free(irs[i]);
}

const rule_def conf_device_rules[] = {
    {"4.1", "devices enumerate with sane properties; zero devices is valid", NEED_PLUGIN, r_devices},
    {"4.2", "a second init gives an independent context or fails cleanly", NEED_PLUGIN, r_double_init},
    {"4.3", "bad device indexes fail with a status (and a message for device_open)", NEED_PLUGIN, r_bad_args},
    {"4.4", "shutdown with live buffers and programs, then init again", NEED_PLUGIN | NEED_DEVICE, r_shutdown_live},
    {"5.1", "1 MiB copy_in / copy_out round trip", NEED_PLUGIN | NEED_DEVICE, r_roundtrip},
    {"5.2", "zero-size allocation and zero-byte copies", NEED_PLUGIN | NEED_DEVICE, r_zero_size},
    {"5.3", "huge allocations fail cleanly with a message", NEED_PLUGIN | NEED_DEVICE, r_huge},
    {"5.4", "copies at offsets; out-of-range copies refused", NEED_PLUGIN | NEED_DEVICE, r_offsets},
    {"5.5", "device-to-device copies at offsets (optional slot)", NEED_PLUGIN | NEED_DEVICE, r_d2d},
    {"5.6", "alignment: vector access at buffer starts, launch byte offsets", NEED_PLUGIN | NEED_DEVICE, r_alignment},
    {"6.1", "render is deterministic (same IR -> same source and language)", NEED_PLUGIN | NEED_DEVICE, r_render_det},
    {"6.2", "compile is deterministic (same IR -> same binary)", NEED_PLUGIN | NEED_DEVICE, r_compile_det},
    {"6.3", "a copied binary loads twice; programs unload independently", NEED_PLUGIN | NEED_DEVICE, r_blob_reload},
    {"6.4", "graph slot (optional): replays, patched or not, equal direct launches", NEED_PLUGIN | NEED_DEVICE, r_graph},
    {"6.5", "concurrent compile (cap): binaries from 4 threads at once run equal to a serial compile", NEED_PLUGIN | NEED_DEVICE, r_concurrent_compile},
    {NULL, NULL, 0, NULL},
};
