/* llvm plugin runtime: links compiled objects into an ORC LLJIT in this process and
 * launches kernels on a persistent thread pool.
 *
 * JIT: one LLJIT per device, created on the first program_load. Each object is added
 * under its own resource tracker so program_unload frees its code. Kernel symbols are
 * named after the IR bytes (cg__llvm_symbol), so loading the same program twice shares
 * one linked copy (refcounted). libm functions the code generator may call are defined
 * as absolute symbols; anything else resolves against the process.
 *
 * Pool: threads-1 workers plus the launching thread. A launch publishes a job (a new
 * generation), everyone claims chunks of the flat group range (sized by the kernel's
 * work, see CG_LLVM_CHUNK_WORK) with an atomic counter, and the launcher waits until
 * every worker has left the job. Small launches run on
 * the calling thread alone. A fork child (no workers) starts its own pool. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "cgrad/plugin_host.h"
#include "llvm_plugin.h"

/* A linked kernel. The host's program handle. */
typedef struct llvm_prog {
  char sym[128];
  int refs;
  LLVMOrcResourceTrackerRef rt;
  cg__llvm_kernel_fn fn;        /* buffers noalias */
  cg__llvm_kernel_fn fn_alias;  /* for overlapping buffers, linked on first need */
  cg_ir_program *ir;            /* copy, to compile fn_alias */
  uint32_t nparams, nvars;
  uint64_t work; /* max(flops, bytes / 4) from the IR header, 0 = unknown */
  uint64_t nt_amask; /* parameters with full-width aligned non-temporal stores in fn */
  uint64_t nt_g0mask; /* those of them stored at g0 (need rows starting at multiples) */
  struct llvm_prog *next;
} llvm_prog;

struct cg__llvm_jit {
  LLVMOrcLLJITRef j;
  LLVMOrcJITDylibRef jd;
  llvm_prog *progs;
};

struct cg__llvm_pool {
  pid_t pid;              /* process that started the workers (a fork child has none) */
  int nworkers;
  pthread_t *th;
  pthread_mutex_t run_mu; /* one job at a time */
  pthread_mutex_t mu;     /* guards sleeping on go / done */
  pthread_cond_t go, done;
  atomic_ullong gen;      /* bumped for every job */
  atomic_int stop, busy;  /* busy: workers not yet done with the job */
  int sleepers;           /* workers blocked on go (under mu) */
  cg__llvm_kernel_fn fn;  /* the job, published by the gen bump */
  void **bufs;
  const int64_t *vars;
  int64_t total, chunk;
  atomic_llong next;
};

/* Spin iterations before a worker or the launcher blocks: back-to-back launches then
 * skip the futex round trip (tens of microseconds on a busy machine). */
#define CG_LLVM_SPIN 20000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Message of an LLVMErrorRef (consumed) into buf. */
static void error_text(LLVMErrorRef e, char *buf, size_t n) {
  char *m = LLVMGetErrorMessage(e);
  snprintf(buf, n, "%s", m ? m : "unknown error");
  LLVMDisposeErrorMessage(m);
}

/* ---- JIT -------------------------------------------------------------------- */

/* Functions the x86/ARM code generators lower float intrinsics to. */
static int define_libm(cg__llvm_jit *J) {
  static const struct { const char *name; void *addr; } fns[] = {
      {"exp2f", (void *)exp2f}, {"exp2", (void *)exp2},   {"log2f", (void *)log2f},
      {"log2", (void *)log2},   {"sinf", (void *)sinf},   {"sin", (void *)sin},
      {"powf", (void *)powf},   {"pow", (void *)pow},     {"truncf", (void *)truncf},
      {"trunc", (void *)trunc}, {"sqrtf", (void *)sqrtf}, {"sqrt", (void *)sqrt},
      {"fmaf", (void *)fmaf},   {"fma", (void *)fma},     {"memcpy", (void *)memcpy},
      {"memset", (void *)memset}, {"memmove", (void *)memmove},
  };
  size_t n = sizeof fns / sizeof fns[0];
  LLVMOrcCSymbolMapPairs pairs = calloc(n, sizeof *pairs);
  if (!pairs) return -1;
  for (size_t i = 0; i < n; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(J->j, fns[i].name);
    pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)fns[i].addr;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
  }
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, n);
  free(pairs);
  LLVMErrorRef e = LLVMOrcJITDylibDefine(J->jd, mu);
  if (e) {
    LLVMOrcDisposeMaterializationUnit(mu);
    LLVMConsumeError(e);
    return -1;
  }
  return 0;
}

static cg__llvm_jit *jit_new(char *err, size_t n) {
  cg__llvm_jit *J = calloc(1, sizeof *J);
  if (!J) {
    snprintf(err, n, "out of memory");
    return NULL;
  }
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&J->j, NULL);
  if (e) {
    error_text(e, err, n);
    free(J);
    return NULL;
  }
  J->jd = LLVMOrcLLJITGetMainJITDylib(J->j);
  LLVMOrcDefinitionGeneratorRef g = NULL;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&g, LLVMOrcLLJITGetGlobalPrefix(J->j), NULL, NULL);
  if (e) LLVMConsumeError(e); /* libm symbols below still work */
  else LLVMOrcJITDylibAddGenerator(J->jd, g);
  if (define_libm(J)) {
    snprintf(err, n, "cannot define libm symbols in the JIT");
    LLVMConsumeError(LLVMOrcDisposeLLJIT(J->j));
    free(J);
    return NULL;
  }
  return J;
}

static void prog_remove(llvm_prog *p) {
  if (p->rt) {
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(p->rt);
    if (e) LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(p->rt);
  }
  free(p->ir);
  free(p);
}

/* Add an object under p's resource tracker and look up sym in it. */
static cg__llvm_kernel_fn jit_add(cg__llvm_jit *J, llvm_prog *p, const char *sym, const void *blob,
                                  size_t size, char *err, size_t n) {
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(blob, size, sym);
  LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(J->j, p->rt, buf);
  LLVMOrcExecutorAddress addr = 0;
  if (!e) e = LLVMOrcLLJITLookup(J->j, &addr, sym);
  if (e) error_text(e, err, n);
  else if (!addr) snprintf(err, n, "symbol %s not found in the object", sym);
  return e ? NULL : (cg__llvm_kernel_fn)(uintptr_t)addr;
}

static void jit_free(cg__llvm_jit *J) {
  if (!J) return;
  while (J->progs) {
    llvm_prog *p = J->progs;
    J->progs = p->next;
    prog_remove(p);
  }
  LLVMErrorRef e = LLVMOrcDisposeLLJIT(J->j);
  if (e) LLVMConsumeError(e);
  free(J);
}

/* Link blob under a new resource tracker and look up sym. Caller holds d->mu. */
static llvm_prog *jit_link(cg__llvm_jit *J, const char *sym, const void *blob, size_t size, char *err,
                           size_t n) {
  llvm_prog *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(err, n, "out of memory");
    return NULL;
  }
  snprintf(p->sym, sizeof p->sym, "%s", sym);
  p->rt = LLVMOrcJITDylibCreateResourceTracker(J->jd);
  p->fn = jit_add(J, p, sym, blob, size, err, n);
  if (!p->fn) {
    prog_remove(p);
    return NULL;
  }
  return p;
}

cg_pstatus cg__llvm_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                 size_t blob_size, void **handle) {
  cg__llvm_dev *d = dev;
  char sym[128], err[512] = "";
  *handle = NULL;
  if (!blob || !blob_size)
    return cg_host_error(CG_P_ERR_INVALID, "llvm: program_load needs the object produced by compile");
  cg__llvm_symbol(prog, sym, sizeof sym);
  pthread_mutex_lock(&d->mu);
  if (!d->jit) d->jit = jit_new(err, sizeof err);
  llvm_prog *p = NULL;
  for (p = d->jit ? d->jit->progs : NULL; p; p = p->next)
    if (strcmp(p->sym, sym) == 0) break;
  if (p) {
    p->refs++;
  } else if (d->jit && (p = jit_link(d->jit, sym, blob, blob_size, err, sizeof err))) {
    p->refs = 1;
    p->ir = malloc(prog->total_size);
    if (p->ir) memcpy(p->ir, prog, prog->total_size);
    p->nparams = prog->nparams;
    p->nvars = prog->nvars;
    uint64_t w = prog->bytes / 4;
    p->work = prog->flops > w ? prog->flops : w;
    p->nt_amask = cg__llvm_nt_aligned_mask(prog, cg__llvm_nt_min(), &p->nt_g0mask);
    p->next = d->jit->progs;
    d->jit->progs = p;
  }
  pthread_mutex_unlock(&d->mu);
  if (!p) return cg_host_error(CG_P_ERR_COMPILE, "llvm: cannot link %s: %s", sym, err);
  *handle = p;
  return CG_P_OK;
}

void cg__llvm_program_unload(void *dev, void *handle) {
  cg__llvm_dev *d = dev;
  llvm_prog *p = handle;
  if (!p) return;
  pthread_mutex_lock(&d->mu);
  if (--p->refs == 0 && d->jit) {
    llvm_prog **pp = &d->jit->progs;
    while (*pp && *pp != p) pp = &(*pp)->next;
    if (*pp) *pp = p->next;
    prog_remove(p);
  }
  pthread_mutex_unlock(&d->mu);
}

/* ---- thread pool ------------------------------------------------------------ */

static void run_chunks(cg__llvm_pool *P) {
  for (;;) {
    int64_t s = atomic_fetch_add(&P->next, P->chunk);
    if (s >= P->total) return;
    int64_t e = s + P->chunk < P->total ? s + P->chunk : P->total;
    P->fn(P->bufs, P->vars, s, e);
  }
}

static void *worker(void *arg) {
  cg__llvm_pool *P = arg;
  unsigned long long seen = 0;
  for (;;) {
    for (int k = 0; k < CG_LLVM_SPIN && atomic_load(&P->gen) == seen && !atomic_load(&P->stop); k++)
      cpu_relax();
    if (atomic_load(&P->gen) == seen) {
      pthread_mutex_lock(&P->mu);
      while (!atomic_load(&P->stop) && atomic_load(&P->gen) == seen) {
        P->sleepers++;
        pthread_cond_wait(&P->go, &P->mu);
        P->sleepers--;
      }
      pthread_mutex_unlock(&P->mu);
    }
    if (atomic_load(&P->stop)) break;
    seen = atomic_load(&P->gen);
    run_chunks(P);
    if (atomic_fetch_sub(&P->busy, 1) == 1) {
      pthread_mutex_lock(&P->mu);
      pthread_cond_signal(&P->done);
      pthread_mutex_unlock(&P->mu);
    }
  }
  return NULL;
}

static void pool_free(cg__llvm_pool *P) {
  if (!P) return;
  pthread_mutex_lock(&P->mu);
  atomic_store(&P->stop, 1);
  pthread_cond_broadcast(&P->go);
  pthread_mutex_unlock(&P->mu);
  for (int i = 0; i < P->nworkers; i++) pthread_join(P->th[i], NULL);
  pthread_cond_destroy(&P->go);
  pthread_cond_destroy(&P->done);
  pthread_mutex_destroy(&P->mu);
  pthread_mutex_destroy(&P->run_mu);
  free(P->th);
  free(P);
}

/* Release a pool inherited through fork(): its workers do not exist in this process. */
static void pool_forget(cg__llvm_pool *P) {
  free(P->th);
  free(P);
}

static cg__llvm_pool *pool_new(int nworkers) {
  cg__llvm_pool *P = calloc(1, sizeof *P);
  if (!P) return NULL;
  P->pid = getpid();
  P->th = calloc((size_t)nworkers, sizeof *P->th);
  pthread_mutex_init(&P->run_mu, NULL);
  pthread_mutex_init(&P->mu, NULL);
  pthread_cond_init(&P->go, NULL);
  pthread_cond_init(&P->done, NULL);
  if (!P->th) {
    pool_free(P);
    return NULL;
  }
  for (int i = 0; i < nworkers; i++) {
    if (pthread_create(&P->th[i], NULL, worker, P) != 0) break;
    P->nworkers++;
  }
  return P;
}

/* Work (flops or 4-byte words) per chunk of a launch: about 1 MiB of traffic, tens of
 * microseconds. Small chunks balance the load when a core is taken from us mid-launch
 * (a shared machine): whoever runs claims the next chunk, and the wait at the end is at
 * most one chunk; the atomic claim per chunk costs nothing at this size. */
#define CG_LLVM_CHUNK_WORK (1 << 18)

/* Run fn over [0, total) on the pool and the calling thread; returns when done. work:
 * the kernel's total work from the IR header (0 = unknown). */
static void pool_run(cg__llvm_pool *P, cg__llvm_kernel_fn fn, void **bufs, const int64_t *vars,
                     int64_t total, uint64_t work) {
  pthread_mutex_lock(&P->run_mu);
  int64_t parts = (int64_t)(P->nworkers + 1) * 4;
  if (work / CG_LLVM_CHUNK_WORK > (uint64_t)parts) parts = (int64_t)(work / CG_LLVM_CHUNK_WORK);
  P->fn = fn;
  P->bufs = bufs;
  P->vars = vars;
  P->total = total;
  P->chunk = (total + parts - 1) / parts;
  /* chunk starts stay multiples of CG_LLVM_NT_ALIGN_ELEMS (see nt_aligned_ok) */
  P->chunk = (P->chunk + CG_LLVM_NT_ALIGN_ELEMS - 1) / CG_LLVM_NT_ALIGN_ELEMS * CG_LLVM_NT_ALIGN_ELEMS;
  atomic_store(&P->next, 0);
  atomic_store(&P->busy, P->nworkers);
  pthread_mutex_lock(&P->mu);
  atomic_fetch_add(&P->gen, 1); /* publishes the job */
  if (P->sleepers) pthread_cond_broadcast(&P->go);
  pthread_mutex_unlock(&P->mu);
  run_chunks(P);
  for (int k = 0; k < CG_LLVM_SPIN && atomic_load(&P->busy) > 0; k++) cpu_relax();
  if (atomic_load(&P->busy) > 0) {
    pthread_mutex_lock(&P->mu);
    while (atomic_load(&P->busy) > 0) pthread_cond_wait(&P->done, &P->mu);
    pthread_mutex_unlock(&P->mu);
  }
  pthread_mutex_unlock(&P->run_mu);
}

void cg__llvm_runtime_close(cg__llvm_dev *d) {
  if (d->pool && d->pool->pid != getpid()) pool_forget(d->pool);
  else pool_free(d->pool);
  d->pool = NULL;
  jit_free(d->jit);
  d->jit = NULL;
}

/* ---- launch ----------------------------------------------------------------- */

/* Work below this (flops or 4-byte words, from the IR header) runs on one thread. */
#define CG_LLVM_MIN_PARALLEL_WORK 32768

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int use_pool(cg__llvm_dev *d, const llvm_prog *p, int64_t total) {
  if (d->threads <= 1 || total < 2) return 0;
  if (p->work && p->work < CG_LLVM_MIN_PARALLEL_WORK) return 0;
  if (d->pool && d->pool->pid != getpid()) { /* forked: start a fresh pool */
    pool_forget(d->pool);
    d->pool = NULL;
  }
  if (!d->pool) {
    pthread_mutex_lock(&d->mu);
    if (!d->pool) d->pool = pool_new(d->threads - 1);
    pthread_mutex_unlock(&d->mu);
  }
  return d->pool && d->pool->nworkers > 0;
}

/* Do two buffers of the launch overlap where one of them is written? (The fast kernel
 * assumes they do not: noalias.) Extents come from the IR's parameter counts. */
static int buffers_overlap(const llvm_prog *p, void *const *bufs) {
  const cg_ir_param *par = p->ir ? cg_ir_params(p->ir) : NULL;
  if (!par) return 1;
  for (uint32_t i = 0; i < p->nparams; i++) {
    if (!(par[i].flags & CG_IR_PARAM_WRITE)) continue;
    uintptr_t a0 = (uintptr_t)bufs[i], a1 = a0 + (uintptr_t)par[i].count * cg_ir_scalar_size(par[i].scalar);
    for (uint32_t j = 0; j < p->nparams; j++) {
      if (j == i) continue;
      uintptr_t b0 = (uintptr_t)bufs[j], b1 = b0 + (uintptr_t)par[j].count * cg_ir_scalar_size(par[j].scalar);
      if (a0 < b1 && b0 < a1) return 1;
    }
  }
  return 0;
}

/* May fn, whose non-temporal stores into p->nt_amask's buffers are full-width aligned,
 * run this launch? Those buffers must be 64-byte aligned (a view may start anywhere)
 * and, for those stored at g0 (p->nt_g0mask), every call's first row must start at a
 * multiple of CG_LLVM_NT_ALIGN_ELEMS: calls
 * start at 0 or at a chunk boundary (a multiple, see pool_run), and later rows at g0 0,
 * so the first row's g0 (start % G0) is a multiple when G0 is or there is one row. */
static int nt_aligned_ok(const llvm_prog *p, void *const *bufs, const uint32_t *global) {
  for (uint32_t k = 0; k < p->nparams && k < 64; k++)
    if ((p->nt_amask >> k & 1) && ((uintptr_t)bufs[k] & 63)) return 0;
  return !p->nt_g0mask || (uint64_t)global[1] * global[2] == 1 ||
         global[0] % CG_LLVM_NT_ALIGN_ELEMS == 0;
}

/* The kernel variant without noalias, compiled and linked on first use. */
static cg__llvm_kernel_fn alias_fn(cg__llvm_dev *d, llvm_prog *p) {
  pthread_mutex_lock(&d->mu);
  if (!p->fn_alias && p->ir && d->jit) {
    void *blob = NULL;
    size_t n = 0;
    char sym[160], err[512] = "";
    snprintf(sym, sizeof sym, "%s_alias", p->sym);
    if (cg__llvm_compile_variant(d, p->ir, 1, &blob, &n) == CG_P_OK) {
      p->fn_alias = jit_add(d->jit, p, sym, blob, n, err, sizeof err);
      if (!p->fn_alias) (void)cg_host_error(CG_P_ERR_INTERNAL, "llvm: cannot link %s: %s", sym, err);
    }
    free(blob);
  }
  pthread_mutex_unlock(&d->mu);
  return p->fn_alias;
}

cg_pstatus cg__llvm_launch(void *dev, void *handle, const cg_launch_args *a) {
  cg__llvm_dev *d = dev;
  llvm_prog *p = handle;
  if (!p || !a || a->struct_size < offsetof(cg_launch_args, local) || a->nbufs < p->nparams ||
      a->nvars < p->nvars || (p->nparams && !a->bufs) || (p->nvars && !a->vars)) {
    return cg_host_error(CG_P_ERR_INVALID, "llvm: launch of %s: bad arguments (need %u buffers, %u variables)",
                       p ? p->sym : "?", p ? p->nparams : 0, p ? p->nvars : 0);
  }
  int has_local = a->struct_size >= offsetof(cg_launch_args, time_s);
  for (int k = 0; k < 3 && has_local; k++)
    if (a->local[k] > 1)
      return cg_host_error(CG_P_ERR_INVALID, "llvm: launch of %s: local size must be 1 on the CPU", p->sym);
  void *sbufs[32], **bufs = p->nparams <= 32 ? sbufs : malloc(p->nparams * sizeof *bufs);
  int64_t svars[32], *vars = p->nvars + 3 <= 32 ? svars : malloc((p->nvars + 3) * sizeof *vars);
  if (!bufs || !vars) {
    if (bufs != sbufs) free(bufs);
    if (vars != svars) free(vars);
    return CG_P_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < p->nparams; i++)
    bufs[i] = (char *)a->bufs[i] + (a->buf_offsets ? a->buf_offsets[i] : 0);
  for (uint32_t i = 0; i < p->nvars; i++) vars[i] = a->vars[i];
  int64_t total = 1;
  for (int k = 0; k < 3; k++) {
    vars[p->nvars + (uint32_t)k] = a->global[k];
    total *= a->global[k];
  }
  cg__llvm_kernel_fn fn = p->fn;
  int need_alias = total > 0 && ((p->nparams > 1 && buffers_overlap(p, bufs)) ||
                                 (p->nt_amask && !nt_aligned_ok(p, bufs, a->global)));
  if (need_alias && !(fn = alias_fn(d, p))) {
    if (bufs != sbufs) free(bufs);
    if (vars != svars) free(vars);
    return CG_P_ERR_COMPILE;
  }
  int wants_time = a->struct_size >= sizeof *a && a->time_s;
  double t0 = wants_time ? now_s() : 0;
  if (total > 0) {
    if (use_pool(d, p, total)) pool_run(d->pool, fn, bufs, vars, total, p->work);
    else fn(bufs, vars, 0, total);
  }
  if (wants_time) *a->time_s = now_s() - t0;
  if (bufs != sbufs) free(bufs);
  if (vars != svars) free(vars);
  return CG_P_OK;
}
