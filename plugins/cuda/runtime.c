/* CUDA plugin runtime: device memory, host copies through a pinned staging ring,
 * NVRTC compilation, module loading and kernel launches.
 *
 * Ordering: every copy and launch of a device goes to its one stream, so they run in
 * submission order. copy_in returns once the source has been read (the caller may reuse
 * it); copy_out returns once the data is in dst. Launches are asynchronous unless the
 * caller asks for the kernel time. Errors of asynchronous work (an out-of-bounds access)
 * surface at the next call that waits: copy_out, synchronize or a timed launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "cuda_impl.h"

/* Make the device's context current on this thread; 0 on success. */
static CUresult use(cu_device *d) { return d->pl->cu.CtxSetCurrent(d->ctx); }

/* ---- memory ------------------------------------------------------------------------ */

cg_pstatus cu__mem_alloc(void *dev, size_t bytes, void **out) {
  cu_device *d = dev;
  cu_buffer *b = calloc(1, sizeof *b);
  if (!b) return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  b->size = bytes;
  CUresult r = use(d);
  if (r == CUDA_SUCCESS && bytes > 0) r = d->pl->cu.MemAlloc(&b->ptr, bytes);
  if (r != CUDA_SUCCESS) {
    free(b);
    char what[64];
    snprintf(what, sizeof what, "cuMemAlloc(%zu bytes)", bytes);
    return cu__cuerror(d->pl, r == CUDA_ERROR_OUT_OF_MEMORY ? CG_P_ERR_NOMEM : CG_P_ERR_INTERNAL,
                       r, what);
  }
  *out = b;
  return CG_P_OK;
}

/* Waits for the stream first: a kernel queued earlier may still use the memory. */
void cu__mem_free(void *dev, void *buf) {
  cu_device *d = dev;
  cu_buffer *b = buf;
  if (!b) return;
  if (b->ptr && use(d) == CUDA_SUCCESS) {
    d->pl->cu.StreamSynchronize(d->stream);
    d->pl->cu.MemFree(b->ptr);
  }
  free(b);
}

static cg_pstatus check_range(const cu_buffer *b, size_t offset, size_t bytes, const char *op) {
  if (!b) return cu__error(CG_P_ERR_INVALID, "cuda: %s: NULL buffer", op);
  if (offset > b->size || bytes > b->size - offset)
    return cu__error(CG_P_ERR_INVALID, "cuda: %s: range [%zu, +%zu) outside buffer of %zu bytes",
                     op, offset, bytes, b->size);
  return CG_P_OK;
}

/* Allocate the two pinned staging halves on first use. Returns 0 when staging is
 * unavailable (pinned memory refused), in which case copies go direct. */
static int have_staging(cu_device *d) {
  cu_driver *cu = &d->pl->cu;
  if (d->stage[0]) return 1;
  for (int k = 0; k < 2; k++) {
    if (cu->MemHostAlloc(&d->stage[k], CU_STAGE_BYTES, 0) != CUDA_SUCCESS ||
        cu->EventCreate(&d->stage_done[k], CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS) {
      cu__device_release_staging(d);
      return 0;
    }
  }
  return 1;
}

void cu__device_release_staging(cu_device *d) {
  for (int k = 0; k < 2; k++) {
    if (d->stage_done[k]) d->pl->cu.EventDestroy(d->stage_done[k]);
    if (d->stage[k]) d->pl->cu.MemFreeHost(d->stage[k]);
    d->stage_done[k] = NULL;
    d->stage[k] = NULL;
  }
}

/* Host -> device in CU_STAGE_BYTES chunks, alternating halves: while one half's DMA
 * runs the CPU fills the other. */
static CUresult staged_in(cu_device *d, CUdeviceptr dst, const char *src, size_t bytes) {
  cu_driver *cu = &d->pl->cu;
  CUresult r = CUDA_SUCCESS;
  int k = 0;
  for (size_t off = 0; off < bytes && r == CUDA_SUCCESS; off += CU_STAGE_BYTES, k ^= 1) {
    size_t n = bytes - off < CU_STAGE_BYTES ? bytes - off : CU_STAGE_BYTES;
    r = cu->EventSynchronize(d->stage_done[k]); /* half k is free again */
    if (r != CUDA_SUCCESS) break;
    memcpy(d->stage[k], src + off, n);
    r = cu->MemcpyHtoDAsync(dst + off, d->stage[k], n, d->stream);
    if (r == CUDA_SUCCESS) r = cu->EventRecord(d->stage_done[k], d->stream);
  }
  return r;
}

cg_pstatus cu__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes) {
  cu_device *d = dev;
  cu_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_in");
  if (st != CG_P_OK || bytes == 0) return st;
  CUresult r = use(d);
  if (r == CUDA_SUCCESS && have_staging(d)) {
    r = staged_in(d, b->ptr + offset, src, bytes);
  } else if (r == CUDA_SUCCESS) { /* pageable: the driver copies src before returning */
    r = d->pl->cu.MemcpyHtoDAsync(b->ptr + offset, src, bytes, d->stream);
    if (r == CUDA_SUCCESS) r = d->pl->cu.StreamSynchronize(d->stream);
  }
  return r == CUDA_SUCCESS ? CG_P_OK : cu__cuerror(d->pl, CG_P_ERR_INTERNAL, r, "copy_in");
}

/* Device -> host: chunk i's DMA into half i&1 overlaps the memcpy of chunk i-1. */
static CUresult staged_out(cu_device *d, char *dst, CUdeviceptr src, size_t bytes) {
  cu_driver *cu = &d->pl->cu;
  CUresult r = CUDA_SUCCESS;
  size_t prev_off = 0, prev_n = 0;
  int k = 0;
  for (size_t off = 0; off < bytes && r == CUDA_SUCCESS; off += CU_STAGE_BYTES, k ^= 1) {
    size_t n = bytes - off < CU_STAGE_BYTES ? bytes - off : CU_STAGE_BYTES;
    r = cu->EventSynchronize(d->stage_done[k]);
    if (r == CUDA_SUCCESS) r = cu->MemcpyDtoHAsync(d->stage[k], src + off, n, d->stream);
    if (r == CUDA_SUCCESS) r = cu->EventRecord(d->stage_done[k], d->stream);
    if (r == CUDA_SUCCESS && prev_n) {
      r = cu->EventSynchronize(d->stage_done[k ^ 1]);
      if (r == CUDA_SUCCESS) memcpy(dst + prev_off, d->stage[k ^ 1], prev_n);
    }
    prev_off = off;
    prev_n = n;
  }
  if (r == CUDA_SUCCESS && prev_n) { /* the last chunk is in half k^1 after the flip */
    r = cu->EventSynchronize(d->stage_done[k ^ 1]);
    if (r == CUDA_SUCCESS) memcpy(dst + prev_off, d->stage[k ^ 1], prev_n);
  }
  return r;
}

cg_pstatus cu__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes) {
  cu_device *d = dev;
  cu_buffer *b = buf;
  cg_pstatus st = check_range(b, offset, bytes, "copy_out");
  if (st != CG_P_OK || bytes == 0) return st;
  CUresult r = use(d);
  if (r == CUDA_SUCCESS && have_staging(d)) {
    r = staged_out(d, dst, b->ptr + offset, bytes);
  } else if (r == CUDA_SUCCESS) {
    r = d->pl->cu.MemcpyDtoHAsync(dst, b->ptr + offset, bytes, d->stream);
    if (r == CUDA_SUCCESS) r = d->pl->cu.StreamSynchronize(d->stream);
  }
  return r == CUDA_SUCCESS ? CG_P_OK : cu__cuerror(d->pl, CG_P_ERR_INTERNAL, r, "copy_out");
}

/* Also serves peer copies: with unified addressing the driver routes a copy between
 * two GPUs' allocations (peer DMA when enabled, else through the host). */
cg_pstatus cu__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                        size_t bytes) {
  cu_device *d = dev;
  cg_pstatus st = check_range(dst, dst_off, bytes, "copy_d2d dst");
  if (st == CG_P_OK) st = check_range(src, src_off, bytes, "copy_d2d src");
  if (st != CG_P_OK || bytes == 0) return st;
  CUresult r = use(d);
  if (r == CUDA_SUCCESS)
    r = d->pl->cu.MemcpyDtoDAsync(((cu_buffer *)dst)->ptr + dst_off,
                                  ((cu_buffer *)src)->ptr + src_off, bytes, d->stream);
  return r == CUDA_SUCCESS ? CG_P_OK : cu__cuerror(d->pl, CG_P_ERR_INTERNAL, r, "copy_d2d");
}

cg_pstatus cu__synchronize(void *dev) {
  cu_device *d = dev;
  CUresult r = use(d);
  if (r == CUDA_SUCCESS) r = d->pl->cu.StreamSynchronize(d->stream);
  return r == CUDA_SUCCESS ? CG_P_OK
                           : cu__cuerror(d->pl, CG_P_ERR_LAUNCH, r, "synchronize (a kernel)");
}

/* ---- compile ----------------------------------------------------------------------- */

/* Report a failed compile with the NVRTC log (truncated to the message size). */
static cg_pstatus compile_error(cu_nvrtc *rtc, nvrtcProgram p, nvrtcResult r, const char *name,
                                const char *target) {
  size_t n = 0;
  char *log = NULL;
  if (rtc->GetProgramLogSize(p, &n) == NVRTC_SUCCESS && n > 0 && (log = malloc(n + 1))) {
    if (rtc->GetProgramLog(p, log) != NVRTC_SUCCESS) log[0] = 0;
    log[n] = 0;
  }
  cg_pstatus st = cu__error(CG_P_ERR_COMPILE, "cuda: NVRTC %d.%d (%s) failed on kernel %s: %s\n%s",
                            rtc->major, rtc->minor, target, name,
                            rtc->GetErrorString ? rtc->GetErrorString(r) : "error",
                            log ? log : "");
  free(log);
  return st;
}

/* Copy the compiled cubin (real target) or PTX (virtual target, NUL kept so that
 * cuModuleLoadData sees a C string) into a malloc'd blob. */
static nvrtcResult take_output(cu_nvrtc *rtc, nvrtcProgram p, int cubin, void **blob,
                               size_t *size) {
  size_t n = 0;
  nvrtcResult r = cubin ? rtc->GetCUBINSize(p, &n) : rtc->GetPTXSize(p, &n);
  if (r != NVRTC_SUCCESS) return r;
  char *out = malloc(n + 1);
  if (!out) return NVRTC_ERROR_OUT_OF_MEMORY;
  r = cubin ? rtc->GetCUBIN(p, out) : rtc->GetPTX(p, out);
  if (r != NVRTC_SUCCESS) {
    free(out);
    return r;
  }
  out[n] = 0;
  *blob = out;
  *size = cubin ? n : n + 1;
  return NVRTC_SUCCESS;
}

/* NVRTC for the device: --gpu-architecture=sm_XY gives a cubin; for a GPU newer than
 * this NVRTC knows, compute_<newest> gives PTX that the driver JIT-compiles. */
cg_pstatus cu__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                       size_t *blob_size) {
  cu_device *d = dev;
  cu_nvrtc *rtc = &d->pl->rtc;
  if (!rtc->lib)
    return cu__error(CG_P_ERR_COMPILE, "cuda: NVRTC not available: %s", d->pl->rtc_why);
  if (!src || !prog) return cu__error(CG_P_ERR_INVALID, "cuda: compile needs the rendered source");
  int arch = d->cc_major * 10 + d->cc_minor;
  int cubin = !(rtc->max_arch && arch > rtc->max_arch);
  char target[64];
  snprintf(target, sizeof target, "--gpu-architecture=%s_%d", cubin ? "sm" : "compute",
           cubin ? arch : rtc->max_arch);
  /* no header in the source; no fused multiply-add, so results match the IR's
   * separate MUL and ADD (and the ref plugin) bit for bit */
  const char *opts[] = {target, "--std=c++17", "--fmad=false"};
  int nopt = 3;
  nvrtcProgram p = NULL;
  char fname[80];
  snprintf(fname, sizeof fname, "%s.cu", prog->name);
  nvrtcResult r = rtc->CreateProgram(&p, src, fname, 0, NULL, NULL);
  if (r != NVRTC_SUCCESS)
    return cu__error(CG_P_ERR_COMPILE, "cuda: nvrtcCreateProgram failed: %s",
                     rtc->GetErrorString ? rtc->GetErrorString(r) : "error");
  r = rtc->CompileProgram(p, nopt, opts);
  cg_pstatus st = CG_P_OK;
  if (r != NVRTC_SUCCESS)
    st = compile_error(rtc, p, r, prog->name, target);
  else if ((r = take_output(rtc, p, cubin, blob, blob_size)) != NVRTC_SUCCESS)
    st = cu__error(CG_P_ERR_COMPILE, "cuda: reading NVRTC output for %s failed: %s", prog->name,
                   rtc->GetErrorString ? rtc->GetErrorString(r) : "error");
  rtc->DestroyProgram(&p);
  return st;
}

/* ---- programs ---------------------------------------------------------------------- */

cg_pstatus cu__program_load(void *dev, const cg_ir_program *prog, const void *blob,
                            size_t blob_size, void **handle) {
  cu_device *d = dev;
  cu_driver *cu = &d->pl->cu;
  if (!prog || !blob || blob_size == 0)
    return cu__error(CG_P_ERR_INVALID, "cuda: program_load needs the compiled binary");
  cu_program *p = calloc(1, sizeof *p);
  if (!p) return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  p->nparams = prog->nparams;
  p->nvars = prog->nvars;
  char name[96];
  cg_cstyle_kernel_name(prog, name, sizeof name); /* the name render gave the kernel */
  CUresult r = use(d);
  const char *what = "cuModuleLoadData";
  if (r == CUDA_SUCCESS) r = cu->ModuleLoadData(&p->mod, blob);
  if (r == CUDA_SUCCESS) r = cu->ModuleGetFunction(&p->fn, p->mod, name), what = "cuModuleGetFunction";
  size_t smem = cg_cstyle_local_bytes(prog); /* rendered as dynamic shared memory above 48 KB */
  if (r == CUDA_SUCCESS && smem > 48u * 1024u) {
    p->smem = (uint32_t)smem;
    r = cu->FuncSetAttribute(p->fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem);
    what = "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES) (the kernel's shared memory exceeds the device's)";
  }
  if (r != CUDA_SUCCESS) {
    if (p->mod) cu->ModuleUnload(p->mod);
    free(p);
    char msg[256];
    snprintf(msg, sizeof msg, "%s (kernel %s)", what, name);
    return cu__cuerror(d->pl, CG_P_ERR_COMPILE, r, msg);
  }
  *handle = p;
  return CG_P_OK;
}

void cu__program_unload(void *dev, void *handle) {
  cu_device *d = dev;
  cu_program *p = handle;
  if (!p) return;
  if (use(d) == CUDA_SUCCESS) {
    d->pl->cu.StreamSynchronize(d->stream); /* a queued launch may still use it */
    d->pl->cu.ModuleUnload(p->mod);
  }
  free(p);
}

/* Kernel argument storage: one device pointer per buffer, then one int per variable;
 * params[] points at each. */
typedef struct {
  void **params;
  CUdeviceptr *ptrs;
  int *vals;
} cu_argpack;

static cg_pstatus pack_args(const cu_program *p, const cg_launch_args *a, cu_argpack *k) {
  size_t n = (size_t)p->nparams + p->nvars;
  k->params = calloc(n + 1, sizeof(void *));
  k->ptrs = calloc((size_t)p->nparams + 1, sizeof(CUdeviceptr));
  k->vals = calloc((size_t)p->nvars + 1, sizeof(int));
  if (!k->params || !k->ptrs || !k->vals) return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  for (uint32_t i = 0; i < p->nparams; i++) {
    const cu_buffer *b = a->bufs[i];
    size_t off = a->buf_offsets ? a->buf_offsets[i] : 0;
    if (!b || off > b->size)
      return cu__error(CG_P_ERR_INVALID, "cuda: launch: buffer %u is NULL or offset too large", i);
    k->ptrs[i] = b->ptr + off;
    k->params[i] = &k->ptrs[i];
  }
  for (uint32_t i = 0; i < p->nvars; i++) {
    k->vals[i] = (int)a->vars[i]; /* IR variables are int32 */
    k->params[p->nparams + i] = &k->vals[i];
  }
  return CG_P_OK;
}

static void free_args(cu_argpack *k) {
  free(k->params);
  free(k->ptrs);
  free(k->vals);
}

/* Enqueue the kernel; with time_s, bracket it with events and wait for it. */
static CUresult run_kernel(cu_device *d, const cu_program *p, const cg_launch_args *a,
                           void **params, double *time_s) {
  cu_driver *cu = &d->pl->cu;
  unsigned g[3], l[3];
  for (int i = 0; i < 3; i++) {
    g[i] = a->global[i] ? a->global[i] : 1;
    l[i] = a->local[i] ? a->local[i] : 1;
  }
  CUresult r = CUDA_SUCCESS;
  if (time_s) r = cu->EventRecord(d->t0, d->stream);
  if (r == CUDA_SUCCESS)
    r = cu->LaunchKernel(p->fn, g[0], g[1], g[2], l[0], l[1], l[2], p->smem, d->stream, params, NULL);
  if (r != CUDA_SUCCESS || !time_s) return r;
  float ms = 0;
  r = cu->EventRecord(d->t1, d->stream);
  if (r == CUDA_SUCCESS) r = cu->EventSynchronize(d->t1);
  if (r == CUDA_SUCCESS) r = cu->EventElapsedTime(&ms, d->t0, d->t1);
  *time_s = ms * 1e-3;
  return r;
}

cg_pstatus cu__launch(void *dev, void *handle, const cg_launch_args *a) {
  cu_device *d = dev;
  cu_program *p = handle;
  if (!p || !a || a->struct_size < offsetof(cg_launch_args, time_s))
    return cu__error(CG_P_ERR_INVALID, "cuda: launch: NULL program or arguments");
  if (a->nbufs != p->nparams || a->nvars != p->nvars || (p->nparams && !a->bufs) ||
      (p->nvars && !a->vars))
    return cu__error(CG_P_ERR_INVALID, "cuda: launch: kernel takes %u buffers and %u vars, got %u and %u",
                     p->nparams, p->nvars, a->nbufs, a->nvars);
  double *time_s = a->struct_size >= offsetof(cg_launch_args, time_s) + sizeof(double *)
                       ? a->time_s : NULL;
  cu_argpack k = {0};
  cg_pstatus st = pack_args(p, a, &k);
  CUresult r = use(d);
  if (st == CG_P_OK && r == CUDA_SUCCESS) r = run_kernel(d, p, a, k.params, time_s);
  free_args(&k);
  if (st != CG_P_OK) return st;
  if (r != CUDA_SUCCESS) {
    char what[128];
    snprintf(what, sizeof what, "launch grid (%u,%u,%u) block (%u,%u,%u)", a->global[0],
             a->global[1], a->global[2], a->local[0], a->local[1], a->local[2]);
    return cu__cuerror(d->pl, CG_P_ERR_LAUNCH, r, what);
  }
  return CG_P_OK;
}
