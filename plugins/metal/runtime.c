/* Metal plugin runtime: loading libobjc/Metal, device discovery, shared-storage buffers,
 * library + pipeline creation from MSL source, and launches through command buffers.
 *
 * Every Metal call is an objc_msgSend cast to the method's C signature (MT_SEND).
 * Objects from new/alloc/Create/Copy methods are owned (+1) and released here; the
 * autoreleased ones (command buffers, encoders, strings, errors) live in an autorelease
 * pool pushed and popped around each entry point that makes them.
 *
 * Ordering: launches and device-to-device copies are command buffers committed to the
 * device's one queue, so they run in submission order; the last one is kept, and host
 * copies, frees and synchronize wait for it first (buffers are in shared storage: the
 * host then reads and writes their contents directly). A failed command buffer reports
 * Metal's error at that wait.
 *
 * NOT RUN ON APPLE HARDWARE: written against Apple's documented Metal API, compiled and
 * tested for its no-device path on Linux only. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "metal_impl.h"

/* Objective-C BOOL: bool on arm64, signed char on x86_64. */
#if defined(__aarch64__) || defined(__arm64__)
typedef _Bool mt_bool;
#else
typedef signed char mt_bool;
#endif

enum { MT_STORAGE_SHARED = 0, MT_STATUS_ERROR = 5 };

/* ---- loading ----------------------------------------------------------------------- */

/* dlsym into a function pointer field (POSIX: void* -> fn ptr via memcpy). */
static int sym(void *lib, const char *name, void *field, size_t size) {
  void *p = lib ? dlsym(lib, name) : NULL;
  memcpy(field, &p, size);
  return p != NULL;
}
#define MT_SYM(lib, name, field) sym(lib, name, &(field), sizeof(field))

static int open_libs(mt_plugin *pl) {
  mt_runtime *rt = &pl->rt;
  rt->objc = dlopen("/usr/lib/libobjc.A.dylib", RTLD_NOW | RTLD_LOCAL);
  if (!rt->objc) {
    snprintf(pl->why, sizeof pl->why, "Metal needs macOS: the Objective-C runtime (libobjc.A.dylib) is not there (%s)",
             dlerror());
    return -1;
  }
  rt->foundation = dlopen("/System/Library/Frameworks/Foundation.framework/Foundation", RTLD_NOW | RTLD_LOCAL);
  rt->metal = dlopen("/System/Library/Frameworks/Metal.framework/Metal", RTLD_NOW | RTLD_LOCAL);
  if (!rt->foundation || !rt->metal) {
    snprintf(pl->why, sizeof pl->why, "Foundation/Metal framework not found (%s)", dlerror());
    return -1;
  }
  int ok = MT_SYM(rt->objc, "objc_msgSend", rt->msgSend) && MT_SYM(rt->objc, "objc_getClass", rt->getClass) &&
           MT_SYM(rt->objc, "sel_registerName", rt->registerName) &&
           MT_SYM(rt->objc, "objc_autoreleasePoolPush", rt->poolPush) &&
           MT_SYM(rt->objc, "objc_autoreleasePoolPop", rt->poolPop) &&
           MT_SYM(rt->metal, "MTLCreateSystemDefaultDevice", rt->CreateSystemDefaultDevice);
#if defined(__x86_64__)
  ok = ok && MT_SYM(rt->objc, "objc_msgSend_stret", rt->msgSend_stret);
#endif
  MT_SYM(rt->metal, "MTLCopyAllDevices", rt->CopyAllDevices); /* optional */
  if (!ok) {
    snprintf(pl->why, sizeof pl->why, "libobjc/Metal lack an expected entry point");
    return -1;
  }
#define MT_SEL_REG(f, s) rt->sel.f = rt->registerName(s);
  MT_SELECTORS(MT_SEL_REG)
#undef MT_SEL_REG
  rt->NSString = rt->getClass("NSString");
  rt->MTLCompileOptions = rt->getClass("MTLCompileOptions");
  if (!rt->NSString || !rt->MTLCompileOptions) {
    snprintf(pl->why, sizeof pl->why, "NSString/MTLCompileOptions classes not found");
    return -1;
  }
  return 0;
}

static mt_id retain(mt_runtime *rt, mt_id o) {
  return o ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(o, rt->sel.retain) : NULL;
}

void mt__release(mt_runtime *rt, mt_id o) {
  if (o) MT_SEND(rt, void, (mt_id, mt_sel))(o, rt->sel.release);
}

const char *mt__cstr(mt_runtime *rt, mt_id s) {
  const char *c = s ? MT_SEND(rt, const char *, (mt_id, mt_sel))(s, rt->sel.UTF8String) : NULL;
  return c ? c : "";
}

/* An autoreleased NSString with the UTF-8 text s. */
static mt_id nsstring(mt_runtime *rt, const char *s) {
  return MT_SEND(rt, mt_id, (mt_id, mt_sel, const char *))(rt->NSString, rt->sel.stringWithUTF8String, s);
}

void mt__load(mt_plugin *pl) {
  mt_runtime *rt = &pl->rt;
  if (open_libs(pl)) return;
  void *pool = rt->poolPush();
  mt_id all = rt->CopyAllDevices ? rt->CopyAllDevices() : NULL; /* +1 NSArray */
  mt_uint n = all ? MT_SEND(rt, mt_uint, (mt_id, mt_sel))(all, rt->sel.count) : 0;
  if (n > 0 && (pl->devices = calloc(n, sizeof(mt_id)))) {
    for (mt_uint i = 0; i < n; i++)
      pl->devices[pl->ndev++] = retain(rt, MT_SEND(rt, mt_id, (mt_id, mt_sel, mt_uint))(all, rt->sel.objectAtIndex, i));
  } else {
    mt_id dev = rt->CreateSystemDefaultDevice(); /* +1 */
    if (dev && (pl->devices = calloc(1, sizeof(mt_id)))) pl->devices[pl->ndev++] = dev;
    else mt__release(rt, dev);
  }
  mt__release(rt, all);
  rt->poolPop(pool);
  if (pl->ndev == 0) snprintf(pl->why, sizeof pl->why, "Metal reports no GPU");
}

/* ---- command buffers --------------------------------------------------------------- */

/* Commit cb and keep it (retained) as the device's last command buffer. */
static void commit(mt_device *d, mt_id cb) {
  mt_runtime *rt = &d->pl->rt;
  MT_SEND(rt, void, (mt_id, mt_sel))(cb, rt->sel.commit);
  mt__release(rt, d->last);
  d->last = retain(rt, cb);
}

cg_pstatus mt__wait(mt_device *d) {
  mt_runtime *rt = &d->pl->rt;
  if (!d->last) return CG_P_OK;
  cg_pstatus st = CG_P_OK;
  void *pool = rt->poolPush();
  MT_SEND(rt, void, (mt_id, mt_sel))(d->last, rt->sel.waitUntilCompleted);
  if (MT_SEND(rt, mt_uint, (mt_id, mt_sel))(d->last, rt->sel.status) == MT_STATUS_ERROR) {
    mt_id err = MT_SEND(rt, mt_id, (mt_id, mt_sel))(d->last, rt->sel.error);
    mt_id desc = err ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(err, rt->sel.localizedDescription) : NULL;
    st = cg_host_error(CG_P_ERR_LAUNCH, "metal: command buffer failed: %s", mt__cstr(rt, desc));
  }
  rt->poolPop(pool);
  mt__release(rt, d->last);
  d->last = NULL;
  return st;
}

cg_pstatus mt__synchronize(void *dev) { return mt__wait(dev); }

/* ---- memory ------------------------------------------------------------------------ */

cg_pstatus mt__mem_alloc(void *dev, size_t bytes, void **out) {
  mt_device *d = dev;
  mt_runtime *rt = &d->pl->rt;
  mt_buffer *b = calloc(1, sizeof *b);
  if (!b) return cg_host_error(CG_P_ERR_NOMEM, "metal: out of memory");
  b->size = bytes;
  b->buf = MT_SEND(rt, mt_id, (mt_id, mt_sel, mt_uint, mt_uint))(d->dev, rt->sel.newBufferWithLength,
                                                                  (mt_uint)(bytes ? bytes : 4), MT_STORAGE_SHARED);
  if (!b->buf) {
    free(b);
    return cg_host_error(CG_P_ERR_NOMEM, "metal: newBufferWithLength(%zu) failed", bytes);
  }
  b->ptr = MT_SEND(rt, void *, (mt_id, mt_sel))(b->buf, rt->sel.contents);
  *out = b;
  return CG_P_OK;
}

void mt__mem_free(void *dev, void *buf) {
  mt_device *d = dev;
  mt_buffer *b = buf;
  if (!b) return;
  mt__wait(d); /* queued work may still use it */
  mt__release(&d->pl->rt, b->buf);
  free(b);
}

static cg_pstatus check_range(const mt_buffer *b, size_t offset, size_t bytes, const char *op) {
  if (!b) return cg_host_error(CG_P_ERR_INVALID, "metal: %s: NULL buffer", op);
  if (offset > b->size || bytes > b->size - offset)
    return cg_host_error(CG_P_ERR_INVALID, "metal: %s: range [%zu, +%zu) outside buffer of %zu bytes", op, offset,
                     bytes, b->size);
  return CG_P_OK;
}

cg_pstatus mt__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes) {
  mt_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_in");
  if (st == CG_P_OK && bytes) st = mt__wait(dev);
  if (st == CG_P_OK && bytes) memcpy(b->ptr + offset, src, bytes);
  return st;
}

cg_pstatus mt__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes) {
  mt_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_out");
  if (st == CG_P_OK && bytes) st = mt__wait(dev);
  if (st == CG_P_OK && bytes) memcpy(dst, b->ptr + offset, bytes);
  return st;
}

cg_pstatus mt__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off, size_t bytes) {
  mt_device *d = dev;
  mt_runtime *rt = &d->pl->rt;
  cg_pstatus st = check_range(dst, dst_off, bytes, "copy_d2d dst");
  if (st == CG_P_OK) st = check_range(src, src_off, bytes, "copy_d2d src");
  if (st != CG_P_OK || bytes == 0) return st;
  void *pool = rt->poolPush();
  mt_id cb = MT_SEND(rt, mt_id, (mt_id, mt_sel))(d->queue, rt->sel.commandBuffer);
  mt_id blit = cb ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(cb, rt->sel.blitCommandEncoder) : NULL;
  if (blit) {
    MT_SEND(rt, void, (mt_id, mt_sel, mt_id, mt_uint, mt_id, mt_uint, mt_uint))(
        blit, rt->sel.copyFromBuffer, ((mt_buffer *)src)->buf, src_off, ((mt_buffer *)dst)->buf, dst_off, bytes);
    MT_SEND(rt, void, (mt_id, mt_sel))(blit, rt->sel.endEncoding);
    commit(d, cb);
  }
  rt->poolPop(pool);
  return blit ? CG_P_OK : cg_host_error(CG_P_ERR_INTERNAL, "metal: could not create a blit command encoder");
}

/* ---- programs ---------------------------------------------------------------------- */

/* Description of an NSError (or a fallback). Needs an active pool. */
static const char *err_text(mt_runtime *rt, mt_id err) {
  mt_id d = err ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(err, rt->sel.localizedDescription) : NULL;
  return d ? mt__cstr(rt, d) : "(no error description)";
}

/* Library, function and pipeline state for source src; fills p or records an error. */
static cg_pstatus build(mt_device *d, const char *src, const char *kname, mt_program *p) {
  mt_runtime *rt = &d->pl->rt;
  mt_id err = NULL;
  mt_id opts = MT_SEND(rt, mt_id, (mt_id, mt_sel))(rt->MTLCompileOptions, rt->sel.alloc);
  opts = opts ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(opts, rt->sel.init) : NULL;
  if (opts) /* IEEE semantics: NaN, inf and exact division as the IR specifies */
    MT_SEND(rt, void, (mt_id, mt_sel, mt_bool))(opts, rt->sel.setFastMathEnabled, (mt_bool)0);
  p->lib = MT_SEND(rt, mt_id, (mt_id, mt_sel, mt_id, mt_id, mt_id *))(d->dev, rt->sel.newLibraryWithSource,
                                                                       nsstring(rt, src), opts, &err);
  mt__release(rt, opts);
  if (!p->lib) return cg_host_error(CG_P_ERR_COMPILE, "metal: compiling kernel %s failed:\n%s", kname, err_text(rt, err));
  p->fn = MT_SEND(rt, mt_id, (mt_id, mt_sel, mt_id))(p->lib, rt->sel.newFunctionWithName, nsstring(rt, kname));
  if (!p->fn) return cg_host_error(CG_P_ERR_COMPILE, "metal: kernel %s not found in its library", kname);
  err = NULL;
  p->pso = MT_SEND(rt, mt_id, (mt_id, mt_sel, mt_id, mt_id *))(d->dev, rt->sel.newComputePipelineState, p->fn, &err);
  if (!p->pso)
    return cg_host_error(CG_P_ERR_COMPILE, "metal: pipeline state for %s failed: %s", kname, err_text(rt, err));
  p->max_threads = MT_SEND(rt, mt_uint, (mt_id, mt_sel))(p->pso, rt->sel.maxTotalThreadsPerThreadgroup);
  return CG_P_OK;
}

/* blob is the rendered source when the host passes it (compile is NULL, so the host
 * hands over the source); otherwise the program is rendered here. */
cg_pstatus mt__program_load(void *dev, const cg_ir_program *prog, const void *blob, size_t blob_size, void **handle) {
  mt_device *d = dev;
  mt_runtime *rt = &d->pl->rt;
  if (!prog) return cg_host_error(CG_P_ERR_INVALID, "metal: program_load without a program");
  char *own = NULL, err[512], kname[96];
  const char *src = blob;
  if (!src || !blob_size || src[blob_size - 1] != 0) {
    if (!(own = mt__render_source(prog, err, sizeof err)))
      return cg_host_error(CG_P_ERR_UNSUPPORTED, "metal: render failed: %s", err);
    src = own;
  }
  mt_program *p = calloc(1, sizeof *p);
  if (!p) {
    free(own);
    return cg_host_error(CG_P_ERR_NOMEM, "metal: out of memory");
  }
  p->nparams = prog->nparams;
  p->nvars = prog->nvars;
  cg_cstyle_kernel_name(prog, kname, sizeof kname);
  void *pool = rt->poolPush();
  cg_pstatus st = build(d, src, kname, p);
  rt->poolPop(pool);
  free(own);
  if (st != CG_P_OK) {
    mt__program_unload(d, p);
    return st;
  }
  *handle = p;
  return CG_P_OK;
}

void mt__program_unload(void *dev, void *handle) {
  mt_device *d = dev;
  mt_program *p = handle;
  if (!p) return;
  mt__wait(d); /* a queued launch may still use it */
  mt__release(&d->pl->rt, p->pso);
  mt__release(&d->pl->rt, p->fn);
  mt__release(&d->pl->rt, p->lib);
  free(p);
}

/* Encode one dispatch of p into a new command buffer and commit it. */
static cg_pstatus encode(mt_device *d, const mt_program *p, const cg_launch_args *a) {
  mt_runtime *rt = &d->pl->rt;
  mt_id cb = MT_SEND(rt, mt_id, (mt_id, mt_sel))(d->queue, rt->sel.commandBuffer);
  mt_id enc = cb ? MT_SEND(rt, mt_id, (mt_id, mt_sel))(cb, rt->sel.computeCommandEncoder) : NULL;
  if (!enc) return cg_host_error(CG_P_ERR_LAUNCH, "metal: could not create a compute command encoder");
  MT_SEND(rt, void, (mt_id, mt_sel, mt_id))(enc, rt->sel.setComputePipelineState, p->pso);
  for (uint32_t i = 0; i < p->nparams; i++) {
    const mt_buffer *b = a->bufs[i];
    MT_SEND(rt, void, (mt_id, mt_sel, mt_id, mt_uint, mt_uint))(enc, rt->sel.setBuffer, b->buf,
                                                                a->buf_offsets ? a->buf_offsets[i] : 0, i);
  }
  for (uint32_t i = 0; i < p->nvars; i++) {
    int v = (int)a->vars[i]; /* `constant int&` arguments */
    MT_SEND(rt, void, (mt_id, mt_sel, const void *, mt_uint, mt_uint))(enc, rt->sel.setBytes, &v, sizeof v,
                                                                       p->nparams + i);
  }
  mt_size g, l;
  g.width = a->global[0] ? a->global[0] : 1, g.height = a->global[1] ? a->global[1] : 1;
  g.depth = a->global[2] ? a->global[2] : 1;
  l.width = a->local[0] ? a->local[0] : 1, l.height = a->local[1] ? a->local[1] : 1;
  l.depth = a->local[2] ? a->local[2] : 1;
  MT_SEND(rt, void, (mt_id, mt_sel, mt_size, mt_size))(enc, rt->sel.dispatchThreadgroups, g, l);
  MT_SEND(rt, void, (mt_id, mt_sel))(enc, rt->sel.endEncoding);
  commit(d, cb);
  return CG_P_OK;
}

cg_pstatus mt__launch(void *dev, void *handle, const cg_launch_args *a) {
  mt_device *d = dev;
  mt_program *p = handle;
  mt_runtime *rt = &d->pl->rt;
  if (!p || !a || a->struct_size < offsetof(cg_launch_args, time_s))
    return cg_host_error(CG_P_ERR_INVALID, "metal: launch: NULL program or arguments");
  if (a->nbufs != p->nparams || a->nvars != p->nvars || (p->nparams && !a->bufs) || (p->nvars && !a->vars))
    return cg_host_error(CG_P_ERR_INVALID, "metal: launch: kernel takes %u buffers and %u vars, got %u and %u",
                     p->nparams, p->nvars, a->nbufs, a->nvars);
  for (uint32_t i = 0; i < p->nparams; i++) {
    const mt_buffer *b = a->bufs[i];
    if (!b || (a->buf_offsets && a->buf_offsets[i] > b->size))
      return cg_host_error(CG_P_ERR_INVALID, "metal: launch: buffer %u is NULL or offset too large", i);
  }
  uint64_t threads = (uint64_t)(a->local[0] ? a->local[0] : 1) * (a->local[1] ? a->local[1] : 1) *
                     (a->local[2] ? a->local[2] : 1);
  if (threads > p->max_threads)
    return cg_host_error(CG_P_ERR_LAUNCH, "metal: launch: %llu threads per group, the pipeline allows %lu",
                     (unsigned long long)threads, p->max_threads);
  double *time_s = a->struct_size >= offsetof(cg_launch_args, time_s) + sizeof(double *) ? a->time_s : NULL;
  void *pool = rt->poolPush();
  cg_pstatus st = encode(d, p, a);
  if (st == CG_P_OK && time_s) {
    mt_id cb = retain(rt, d->last);
    st = mt__wait(d);
    if (st == CG_P_OK)
      *time_s = MT_SEND(rt, double, (mt_id, mt_sel))(cb, rt->sel.GPUEndTime) -
                MT_SEND(rt, double, (mt_id, mt_sel))(cb, rt->sel.GPUStartTime);
    mt__release(rt, cb);
  }
  rt->poolPop(pool);
  return st;
}
