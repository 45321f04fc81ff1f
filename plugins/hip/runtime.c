/* HIP plugin runtime: device memory, host copies, code-object loading and kernel
 * launches through the HIP runtime API (libamdhip64, opened in plugin.c).
 *
 * Ordering: every copy and launch of a device goes to its one stream, so they run in
 * submission order. copy_in and copy_out return when the copy is done (the caller may
 * reuse or read its memory). Launches are asynchronous unless the caller asks for the
 * kernel time; errors of asynchronous work surface at the next call that waits.
 *
 * Kernel arguments go through hipModuleLaunchKernel's `extra` buffer (HIP on AMD did not
 * implement kernelParams until late 5.x): one 8-byte device pointer per buffer, then
 * one 4-byte int per variable, each at its natural alignment, as the AMDGPU kernel ABI
 * lays out the arguments of the rendered signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "hip_impl.h"

cg_pstatus hip__hiperror(hip_plugin *pl, cg_pstatus status, hipError_t r, const char *what) {
  const char *name = pl->hip.GetErrorName ? pl->hip.GetErrorName(r) : NULL;
  const char *desc = pl->hip.GetErrorString ? pl->hip.GetErrorString(r) : NULL;
  return cg_host_error(status, "hip: %s failed: %s (%s)", what, name ? name : "unknown error",
                    desc ? desc : "?");
}

/* Make the device current on this thread. */
static hipError_t use(hip_device *d) { return d->pl->hip.SetDevice(d->index); }

/* ---- memory ------------------------------------------------------------------------ */

cg_pstatus hip__mem_alloc(void *dev, size_t bytes, void **out) {
  hip_device *d = dev;
  hip_buffer *b = calloc(1, sizeof *b);
  if (!b) return cg_host_error(CG_P_ERR_NOMEM, "hip: out of memory");
  b->size = bytes;
  hipError_t r = use(d);
  if (r == hipSuccess && bytes > 0) r = d->pl->hip.Malloc(&b->ptr, bytes);
  if (r != hipSuccess) {
    free(b);
    char what[64];
    snprintf(what, sizeof what, "hipMalloc(%zu bytes)", bytes);
    return hip__hiperror(d->pl, r == hipErrorOutOfMemory ? CG_P_ERR_NOMEM : CG_P_ERR_INTERNAL, r,
                         what);
  }
  *out = b;
  return CG_P_OK;
}

/* Waits for the stream first: a kernel queued earlier may still use the memory. */
void hip__mem_free(void *dev, void *buf) {
  hip_device *d = dev;
  hip_buffer *b = buf;
  if (!b) return;
  if (b->ptr && use(d) == hipSuccess) {
    d->pl->hip.StreamSynchronize(d->stream);
    d->pl->hip.Free(b->ptr);
  }
  free(b);
}

static cg_pstatus check_range(const hip_buffer *b, size_t offset, size_t bytes, const char *op) {
  if (!b) return cg_host_error(CG_P_ERR_INVALID, "hip: %s: NULL buffer", op);
  if (offset > b->size || bytes > b->size - offset)
    return cg_host_error(CG_P_ERR_INVALID, "hip: %s: range [%zu, +%zu) outside buffer of %zu bytes",
                      op, offset, bytes, b->size);
  return CG_P_OK;
}

/* One copy on the device stream, waited for. */
static cg_pstatus copy_sync(hip_device *d, void *dst, const void *src, size_t bytes,
                            hipMemcpyKind kind, const char *what) {
  hipError_t r = use(d);
  if (r == hipSuccess) r = d->pl->hip.MemcpyAsync(dst, src, bytes, kind, d->stream);
  if (r == hipSuccess) r = d->pl->hip.StreamSynchronize(d->stream);
  return r == hipSuccess ? CG_P_OK : hip__hiperror(d->pl, CG_P_ERR_INTERNAL, r, what);
}

cg_pstatus hip__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes) {
  hip_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_in");
  if (st != CG_P_OK || bytes == 0) return st;
  return copy_sync(dev, (char *)b->ptr + offset, src, bytes, hipMemcpyHostToDevice, "copy_in");
}

cg_pstatus hip__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes) {
  hip_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_out");
  if (st != CG_P_OK || bytes == 0) return st;
  return copy_sync(dev, dst, (char *)b->ptr + offset, bytes, hipMemcpyDeviceToHost, "copy_out");
}

/* Queued on the stream, not waited for (later copies and launches are ordered after). */
cg_pstatus hip__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                         size_t bytes) {
  hip_device *d = dev;
  cg_pstatus st = check_range(dst, dst_off, bytes, "copy_d2d dst");
  if (st == CG_P_OK) st = check_range(src, src_off, bytes, "copy_d2d src");
  if (st != CG_P_OK || bytes == 0) return st;
  hipError_t r = use(d);
  if (r == hipSuccess)
    r = d->pl->hip.MemcpyAsync((char *)((hip_buffer *)dst)->ptr + dst_off,
                               (char *)((hip_buffer *)src)->ptr + src_off, bytes,
                               hipMemcpyDeviceToDevice, d->stream);
  return r == hipSuccess ? CG_P_OK : hip__hiperror(d->pl, CG_P_ERR_INTERNAL, r, "copy_d2d");
}

cg_pstatus hip__synchronize(void *dev) {
  hip_device *d = dev;
  hipError_t r = use(d);
  if (r == hipSuccess) r = d->pl->hip.StreamSynchronize(d->stream);
  return r == hipSuccess ? CG_P_OK : hip__hiperror(d->pl, CG_P_ERR_LAUNCH, r, "synchronize (a kernel)");
}

/* ---- programs ---------------------------------------------------------------------- */

cg_pstatus hip__program_load(void *dev, const cg_ir_program *prog, const void *blob,
                             size_t blob_size, void **handle) {
  hip_device *d = dev;
  hip_runtime *h = &d->pl->hip;
  if (!prog || !blob || blob_size == 0)
    return cg_host_error(CG_P_ERR_INVALID, "hip: program_load needs the compiled code object");
  hip_program *p = calloc(1, sizeof *p);
  if (!p) return cg_host_error(CG_P_ERR_NOMEM, "hip: out of memory");
  p->nparams = prog->nparams;
  p->nvars = prog->nvars;
  char name[96];
  cg_cstyle_kernel_name(prog, name, sizeof name); /* the name render gave the kernel */
  hipError_t r = use(d);
  const char *what = "hipModuleLoadData";
  if (r == hipSuccess) r = h->ModuleLoadData(&p->mod, blob);
  if (r == hipSuccess) r = h->ModuleGetFunction(&p->fn, p->mod, name), what = "hipModuleGetFunction";
  if (r != hipSuccess) {
    if (p->mod) h->ModuleUnload(p->mod);
    free(p);
    char msg[256];
    snprintf(msg, sizeof msg, "%s (kernel %s, target %s)", what, name, d->arch);
    return hip__hiperror(d->pl, CG_P_ERR_COMPILE, r, msg);
  }
  *handle = p;
  return CG_P_OK;
}

void hip__program_unload(void *dev, void *handle) {
  hip_device *d = dev;
  hip_program *p = handle;
  if (!p) return;
  if (use(d) == hipSuccess) {
    d->pl->hip.StreamSynchronize(d->stream); /* a queued launch may still use it */
    d->pl->hip.ModuleUnload(p->mod);
  }
  free(p);
}

/* Pack the kernel arguments into buf (see the file comment); *size = bytes used. */
static cg_pstatus pack_args(const hip_program *p, const cg_launch_args *a, char *buf,
                            size_t *size) {
  size_t off = 0;
  for (uint32_t i = 0; i < p->nparams; i++) {
    const hip_buffer *b = a->bufs[i];
    size_t bo = a->buf_offsets ? a->buf_offsets[i] : 0;
    if (!b || bo > b->size)
      return cg_host_error(CG_P_ERR_INVALID, "hip: launch: buffer %u is NULL or offset too large", i);
    void *ptr = b->ptr ? (char *)b->ptr + bo : NULL;
    memcpy(buf + off, &ptr, sizeof ptr);
    off += sizeof ptr;
  }
  for (uint32_t i = 0; i < p->nvars; i++) {
    int v = (int)a->vars[i]; /* IR variables are int32 */
    memcpy(buf + off, &v, sizeof v);
    off += sizeof v;
  }
  *size = off;
  return CG_P_OK;
}

/* Enqueue the kernel; with time_s, bracket it with events and wait for it. */
static hipError_t run_kernel(hip_device *d, const hip_program *p, const cg_launch_args *a,
                             char *args, size_t size, double *time_s) {
  hip_runtime *h = &d->pl->hip;
  unsigned g[3], l[3];
  for (int i = 0; i < 3; i++) {
    g[i] = a->global[i] ? a->global[i] : 1;
    l[i] = a->local[i] ? a->local[i] : 1;
  }
  void *extra[] = {HIP_LAUNCH_PARAM_BUFFER_POINTER, args, HIP_LAUNCH_PARAM_BUFFER_SIZE, &size,
                   HIP_LAUNCH_PARAM_END};
  hipError_t r = hipSuccess;
  if (time_s) r = h->EventRecord(d->t0, d->stream);
  if (r == hipSuccess) /* grid in blocks, as in CUDA */
    r = h->ModuleLaunchKernel(p->fn, g[0], g[1], g[2], l[0], l[1], l[2], 0, d->stream, NULL, extra);
  if (r != hipSuccess || !time_s) return r;
  float ms = 0;
  r = h->EventRecord(d->t1, d->stream);
  if (r == hipSuccess) r = h->EventSynchronize(d->t1);
  if (r == hipSuccess) r = h->EventElapsedTime(&ms, d->t0, d->t1);
  *time_s = ms * 1e-3;
  return r;
}

cg_pstatus hip__launch(void *dev, void *handle, const cg_launch_args *a) {
  hip_device *d = dev;
  hip_program *p = handle;
  if (!p || !a || a->struct_size < offsetof(cg_launch_args, time_s))
    return cg_host_error(CG_P_ERR_INVALID, "hip: launch: NULL program or arguments");
  if (a->nbufs != p->nparams || a->nvars != p->nvars || (p->nparams && !a->bufs) ||
      (p->nvars && !a->vars))
    return cg_host_error(CG_P_ERR_INVALID, "hip: launch: kernel takes %u buffers and %u vars, got %u and %u",
                      p->nparams, p->nvars, a->nbufs, a->nvars);
  double *time_s = a->struct_size >= offsetof(cg_launch_args, time_s) + sizeof(double *)
                       ? a->time_s : NULL;
  char *args = calloc((size_t)p->nparams * 8 + (size_t)p->nvars * 4 + 8, 1);
  if (!args) return cg_host_error(CG_P_ERR_NOMEM, "hip: out of memory");
  size_t size = 0;
  cg_pstatus st = pack_args(p, a, args, &size);
  hipError_t r = st == CG_P_OK ? use(d) : hipSuccess;
  if (st == CG_P_OK && r == hipSuccess) r = run_kernel(d, p, a, args, size, time_s);
  free(args);
  if (st != CG_P_OK) return st;
  if (r != hipSuccess) {
    char what[128];
    snprintf(what, sizeof what, "launch grid (%u,%u,%u) block (%u,%u,%u)", a->global[0],
             a->global[1], a->global[2], a->local[0], a->local[1], a->local[2]);
    return hip__hiperror(d->pl, CG_P_ERR_LAUNCH, r, what);
  }
  return CG_P_OK;
}
