/* clang plugin runtime: loads compiled kernels and runs them on a thread pool.
 *
 * Loading: the blob (a shared object) goes into a memfd that stays open while the
 * program is loaded (so /proc/self/fd/N names it uniquely), falling back to a temp
 * file in the cache dir that is unlinked right after dlopen.
 *
 * Launching: a kernel is called as fn(bufs, vars, grid, start, end) over flattened
 * group ids. A persistent pool of (threads - 1) workers plus the calling thread pull
 * chunks of the range [0, gx*gy*gz) from an atomic counter; launch returns when all
 * chunks are done. Small kernels (by the program's cost estimate) run inline. After
 * fork() the child starts its own workers at its first launch. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cgrad/cstyle.h>

#include "clang_impl.h"

/* ---- thread pool ---- */

struct cc_pool {
  pid_t pid;                 /* process whose threads these are (fork leaves only one) */
  pthread_mutex_t run_mu;    /* one launch at a time */
  pthread_mutex_t mu;        /* guards gen, stop, busy */
  pthread_cond_t go, done;
  pthread_t *th;
  int nth, nwant;            /* workers started, wanted */
  unsigned gen;              /* bumped per job */
  int stop, busy;
  /* the current job (written before gen is bumped, read-only during the job) */
  cc_kernel_fn fn;
  void **bufs;
  const int64_t *vars, *grid;
  int64_t total, chunk;
  atomic_llong next;
};

static void run_chunks(cc_pool *p) {
  for (;;) {
    int64_t s = atomic_fetch_add(&p->next, p->chunk);
    if (s >= p->total) return;
    int64_t e = p->total - s > p->chunk ? s + p->chunk : p->total;
    p->fn(p->bufs, p->vars, p->grid, s, e);
  }
}

static void *worker(void *arg) {
  cc_pool *p = arg;
  unsigned seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->gen == seen && !p->stop) pthread_cond_wait(&p->go, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    run_chunks(p);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* (Re)initialise the pool's locks and start up to want workers; the launching thread
 * is the last of the nthreads, and a failed create just means fewer workers. */
static void pool_start(cc_pool *p, int want) {
  pthread_mutex_init(&p->run_mu, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  p->pid = getpid();
  p->gen = 0;
  p->stop = p->busy = p->nth = 0;
  for (int i = 0; i < want; i++) {
    if (pthread_create(&p->th[p->nth], NULL, worker, p)) break;
    p->nth++;
  }
}

cg_pstatus cc__pool_new(int nthreads, cc_pool **out) {
  cc_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->th = calloc((size_t)nthreads, sizeof *p->th))) {
    free(p);
    return cg_host_error(CG_P_ERR_NOMEM, "clang: out of memory");
  }
  p->nwant = nthreads - 1;
  pool_start(p, p->nwant);
  *out = p;
  return CG_P_OK;
}

/* In a child of fork() the workers do not exist (only the forking thread is copied):
 * start new ones there before the first launch instead of waiting for ghosts. */
static void pool_after_fork(cc_pool *p) {
  static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&fork_mu);
  if (p->pid != getpid()) pool_start(p, p->nwant);
  pthread_mutex_unlock(&fork_mu);
}

void cc__pool_free(cc_pool *p) {
  if (!p) return;
  if (p->pid != getpid()) p->nth = 0; /* a forked child has no workers to join */
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nth; i++) pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->run_mu);
  free(p->th);
  free(p);
}

/* Run fn over [0, total) on the pool (or inline when small / single-threaded). */
static void pool_run(cc_pool *p, cc_kernel_fn fn, void **bufs, const int64_t *vars, const int64_t *grid,
                     int64_t total, int inline_only) {
  if (p->pid != getpid()) pool_after_fork(p);
  if (inline_only || p->nth == 0 || total < 2) {
    fn(bufs, vars, grid, 0, total);
    return;
  }
  pthread_mutex_lock(&p->run_mu);
  int64_t ways = p->nth + 1, chunk = total / (ways * 4);
  p->fn = fn;
  p->bufs = bufs;
  p->vars = vars;
  p->grid = grid;
  p->total = total;
  p->chunk = chunk < 1 ? 1 : chunk;
  atomic_store(&p->next, 0);
  pthread_mutex_lock(&p->mu);
  p->busy = p->nth;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  run_chunks(p);
  pthread_mutex_lock(&p->mu);
  while (p->busy) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&p->run_mu);
}

/* ---- programs ---- */

void cc__prog_free(cc_prog *p) {
  if (!p) return;
  if (p->dl) dlclose(p->dl);
  if (p->memfd >= 0) close(p->memfd);
  free(p->param_bytes);
  free(p);
}

/* dlopen the blob through a memfd (kept open in p->memfd). */
static void *open_memfd(cc_prog *p, const void *blob, size_t n) {
  char path[64];
  int fd = memfd_create("cgrad-kernel", MFD_CLOEXEC);
  if (fd < 0) return NULL;
  size_t done = 0;
  while (done < n) {
    ssize_t k = write(fd, (const char *)blob + done, n - done);
    if (k <= 0) { close(fd); return NULL; }
    done += (size_t)k;
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) { close(fd); return NULL; }
  p->memfd = fd;
  return dl;
}

/* dlopen the blob through a uniquely named temp file, unlinked after loading. */
static void *open_tmpfile(const void *blob, size_t n, char *why, size_t whylen) {
  static atomic_uint seq;
  char dir[1024], path[1200];
  if (cc__cache_dir(dir, sizeof dir)) { snprintf(why, whylen, "no writable cache directory"); return NULL; }
  snprintf(path, sizeof path, "%s/load.%d.%u.so", dir, (int)getpid(), atomic_fetch_add(&seq, 1));
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(blob, 1, n, f) == n;
  if (f && fclose(f)) ok = 0;
  void *dl = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
  if (!dl) snprintf(why, whylen, "%s", ok ? dlerror() : "cannot write the shared object");
  unlink(path);
  return dl;
}

cg_pstatus cc__program_load(void *dev, const cg_ir_program *prog, const void *blob, size_t blob_size,
                            void **handle) {
  cc_dev *d = dev;
  char why[512] = "", name[80];
  if (!d || !prog || !handle) return cg_host_error(CG_P_ERR_INVALID, "clang: bad program_load arguments");
  if (!blob || !blob_size) return cg_host_error(CG_P_ERR_INVALID, "clang: program_load needs the compiled blob");
  cc_prog *p = calloc(1, sizeof *p);
  if (!p || !(p->param_bytes = calloc(prog->nparams + 1, sizeof *p->param_bytes))) {
    free(p);
    return cg_host_error(CG_P_ERR_NOMEM, "clang: out of memory");
  }
  p->memfd = -1;
  p->nparams = prog->nparams;
  p->nvars = prog->nvars;
  p->work = prog->flops + prog->bytes;
  p->one_d = prog->global[1] <= 1 && prog->global[2] <= 1;
  for (uint32_t i = 0; i < prog->nparams; i++) {
    const cg_ir_param *pa = &cg_ir_params(prog)[i];
    p->param_bytes[i] = pa->count > 0 ? (size_t)pa->count * cg_ir_scalar_size(pa->scalar) : 0;
  }
  p->dl = open_memfd(p, blob, blob_size);
  if (!p->dl) p->dl = open_tmpfile(blob, blob_size, why, sizeof why);
  if (!p->dl) {
    cc__prog_free(p);
    return cg_host_error(CG_P_ERR_COMPILE, "clang: cannot load the compiled kernel: %s", why);
  }
  void *sym = dlsym(p->dl, cg_cstyle_kernel_name(prog, name, sizeof name));
  if (!sym) {
    cc__prog_free(p);
    return cg_host_error(CG_P_ERR_COMPILE, "clang: kernel '%s' not found in the compiled object", name);
  }
  memcpy(&p->fn, &sym, sizeof p->fn);
  pthread_mutex_lock(&d->mu);
  p->next = d->progs;
  if (d->progs) d->progs->prev = p;
  d->progs = p;
  pthread_mutex_unlock(&d->mu);
  *handle = p;
  return CG_P_OK;
}

void cc__program_unload(void *dev, void *handle) {
  cc_dev *d = dev;
  cc_prog *p = handle;
  if (!d || !p) return;
  pthread_mutex_lock(&d->mu);
  if (p->prev) p->prev->next = p->next;
  else d->progs = p->next;
  if (p->next) p->next->prev = p->prev;
  pthread_mutex_unlock(&d->mu);
  cc__prog_free(p);
}

/* ---- launch ---- */

/* Device pointers (offset applied) for each parameter, bounds-checked. */
static cg_pstatus bind_bufs(const cc_prog *p, const cg_launch_args *a, void **ptrs) {
  for (uint32_t i = 0; i < p->nparams; i++) {
    const cc_buf *b = a->bufs[i];
    size_t off = a->buf_offsets ? a->buf_offsets[i] : 0;
    if (!b) return cg_host_error(CG_P_ERR_INVALID, "clang: launch: buffer %u is NULL", i);
    if (off > b->bytes || p->param_bytes[i] > b->bytes - off)
      return cg_host_error(CG_P_ERR_INVALID, "clang: launch: buffer %u (%zu bytes, offset %zu) is smaller than the %zu bytes the kernel may touch",
                       i, b->bytes, off, p->param_bytes[i]);
    ptrs[i] = (char *)b->data + off;
  }
  return CG_P_OK;
}

cg_pstatus cc__launch(void *dev, void *handle, const cg_launch_args *args) {
  cc_dev *d = dev;
  cc_prog *p = handle;
  cg_launch_args a = {0};
  if (!d || !p || !args) return cg_host_error(CG_P_ERR_INVALID, "clang: bad launch arguments");
  memcpy(&a, args, args->struct_size < sizeof a ? args->struct_size : sizeof a);
  if (a.nbufs != p->nparams || (p->nparams && !a.bufs))
    return cg_host_error(CG_P_ERR_INVALID, "clang: launch: %u buffers given, kernel takes %u", a.nbufs, p->nparams);
  if (a.nvars != p->nvars || (p->nvars && !a.vars))
    return cg_host_error(CG_P_ERR_INVALID, "clang: launch: %u variables given, kernel takes %u", a.nvars, p->nvars);
  if (p->one_d && (a.global[1] > 1 || a.global[2] > 1))
    return cg_host_error(CG_P_ERR_INVALID, "clang: launch: the kernel was rendered for a 1-D grid (the program's global dims), got %ux%ux%u",
                     a.global[0], a.global[1], a.global[2]);
  for (int k = 0; k < 3; k++)
    if (a.local[k] > 1) return cg_host_error(CG_P_ERR_INVALID, "clang: launch: local size must be 1 on the CPU");
  void *small[16], **ptrs = p->nparams <= 16 ? small : malloc(p->nparams * sizeof *ptrs);
  if (!ptrs) return cg_host_error(CG_P_ERR_NOMEM, "clang: out of memory");
  cg_pstatus st = bind_bufs(p, &a, ptrs);
  int64_t grid[3] = {a.global[0], a.global[1], a.global[2]}, zero = 0;
  int64_t total = grid[0] * grid[1] * grid[2];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int small_job = p->work > 0 && p->work < (1u << 15); /* waking threads costs more */
  if (st == CG_P_OK && total > 0) pool_run(d->pool, p->fn, ptrs, p->nvars ? a.vars : &zero, grid, total, small_job);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (st == CG_P_OK && a.time_s) *a.time_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  if (ptrs != small) free(ptrs);
  return st;
}
