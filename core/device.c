/* Device runtime: opens plugin devices by name ("CLANG:0", BACKEND env, or the
 * highest-priority plugin whose device opens), refcounted buffers with a per-device LRU
 * cache of freed allocations, and programs cached in memory (by IR bytes) and on disk
 * (by IR bytes + plugin id/version + device arch + compiler id), plus launches with the
 * DEBUG=2 one-line-per-kernel report. A kernel whose IR version is outside the IR range
 * of the plugin's manifest fails before anything reaches the plugin (render included).
 *
 * Invariants: every device, buffer cache and program cache is touched under rt_lock
 * (recursive). Graphs (JIT replay batches through the plugin's graph slot) are on their
 * device's list so shutdown frees the plugin side first. Devices live until cg__runtime_shutdown, which frees everything the
 * runtime owns so leak checkers stay clean; buffers still referenced then lose their
 * memory but stay safe to release. Nothing a plugin returns is trusted blindly:
 * strings are NUL-terminated by the core and sizes are checked. */
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "cgrad/ir_util.h"
#include "loader.h"

/* One freed allocation kept for reuse (exact size match), in a most-recent-first list. */
typedef struct cache_ent {
  struct cache_ent *prev, *next;
  void *h;
  size_t size;
} cache_ent;

struct cg_device {
  cg_plugin *p;
  int index;
  void *h;                     /* plugin device handle */
  char name[48];               /* "CLANG:0" */
  cg_device_props props;
  cache_ent *lru_head, *lru_tail;
  size_t cached_bytes, cache_cap;
  cg_buffer *live;             /* buffers with refcount > 0 (for shutdown) */
  cg_program **progs;          /* hash table of chains, nslots a power of two */
  size_t nslots, nprogs;
  cg_graph *graphs;            /* live graphs (for shutdown) */
};

struct cg_buffer {
  cg_device *dev;              /* NULL once the runtime shut down */
  void *h;                     /* plugin buffer */
  size_t size;                 /* bytes */
  int32_t rc;
  cg_buffer *prev, *next;      /* the device's live list */
};

struct cg_program {
  cg_device *dev;
  cg_ir_program *ir;           /* owned copy; stays valid until program_unload */
  uint64_t hash;               /* of the IR bytes */
  void *h;                     /* plugin program handle */
  cg_program *chain;
};

struct cg_graph {
  cg_device *dev;              /* NULL once the runtime shut down */
  void *h;                     /* plugin graph */
  int n;
  cg_program **progs;          /* [n] */
  cg_launch_args *args;        /* [n], refilled per launch */
  void **hs;                   /* plugin buffer handles of every launch, concatenated */
  cg_graph *prev, *next;       /* the device's list */
};

/* C11 threads, not pthread.h: core/sched.h would shadow the system <sched.h> that
 * pthread.h includes, since core/ is on the include path. */
static mtx_t rt_lock;
static once_flag rt_lock_once = ONCE_FLAG_INIT;
static int rt_up;              /* plugins loaded (atomic read on the fast path) */
static bool atexit_done;
static cg_device **devices;
static int ndevices;
static cg_device *dflt;        /* default device, resolved on first use */

static void lock_init(void) { mtx_init(&rt_lock, mtx_plain | mtx_recursive); }
static void lock(void) {
  call_once(&rt_lock_once, lock_init);
  mtx_lock(&rt_lock);
}
static void unlock(void) { mtx_unlock(&rt_lock); }

static bool trace_on(void) { return cg__env_int("CG_PLUGIN_DEBUG", 0) > 0; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- lifecycle ---- */

void cg__runtime_init(void) {
  if (__atomic_load_n(&rt_up, __ATOMIC_ACQUIRE)) return;
  lock();
  if (!rt_up) {
    cg__plugins_load();
    if (!atexit_done) atexit(cg__runtime_shutdown);
    atexit_done = true;
    __atomic_store_n(&rt_up, 1, __ATOMIC_RELEASE);
  }
  unlock();
}

static void programs_free(cg_device *d) {
  for (size_t i = 0; i < d->nslots; i++) {
    for (cg_program *p = d->progs[i], *next; p; p = next) {
      next = p->chain;
      if (d->p->api.program_unload) d->p->api.program_unload(d->h, p->h);
      free(p->ir);
      free(p);
    }
  }
  free(d->progs);
  d->progs = NULL;
  d->nslots = d->nprogs = 0;
}

/* Frees every cached allocation of the device. */
static void cache_flush(cg_device *d) {
  for (cache_ent *e = d->lru_head, *next; e; e = next) {
    next = e->next;
    d->p->api.mem_free(d->h, e->h);
    free(e);
  }
  d->lru_head = d->lru_tail = NULL;
  d->cached_bytes = 0;
}

static void device_free(cg_device *d) {
  for (cg_graph *g = d->graphs; g; g = g->next) {
    d->p->api.graph_free(d->h, g->h);
    g->h = NULL;
    g->dev = NULL;
  }
  programs_free(d);
  cache_flush(d);
  for (cg_buffer *b = d->live; b; b = b->next) {  /* still referenced: memory goes now */
    d->p->api.mem_free(d->h, b->h);
    b->h = NULL;
    b->dev = NULL;
  }
  if (d->p->api.device_close) d->p->api.device_close(d->h);
  free(d);
}

void cg__runtime_shutdown(void) {
  lock();
  if (rt_up) {
    for (int i = ndevices - 1; i >= 0; i--) device_free(devices[i]);
    free(devices);
    devices = NULL;
    ndevices = 0;
    dflt = NULL;
    cg__plugins_unload();
    __atomic_store_n(&rt_up, 0, __ATOMIC_RELEASE);
  }
  unlock();
}

/* ---- devices ---- */

const char *cg__device_name(const cg_device *d) { return d ? d->name : "(none)"; }
const cg_device_props *cg__device_props(const cg_device *d) { return &d->props; }
const char *cg__device_plugin_id(const cg_device *d) { return d->p->id; }

/* Reads props of device `index` (zeroed, NUL-terminated strings). */
static cg_pstatus read_props(cg_plugin *p, int index, cg_device_props *props) {
  memset(props, 0, sizeof *props);
  props->struct_size = sizeof *props;
  cg__plugin_msg_clear();
  cg_pstatus ps = p->api.device_props(p->ctx, index, props);
  props->struct_size = sizeof *props;
  props->name[sizeof props->name - 1] = 0;
  props->arch[sizeof props->arch - 1] = 0;
  if (props->n_tc_shapes > 8) props->n_tc_shapes = 8;
  return ps;
}

/* Opens device `index` of a loaded plugin (or returns the open one). label names what
 * was asked ("BACKEND=CUDA", "device 'CUDA:1'") for error messages. */
static cg_device *device_open(cg_plugin *p, int index, const char *label) {
  for (int i = 0; i < ndevices; i++)
    if (devices[i]->p == p && devices[i]->index == index) return devices[i];
  int count = 0;
  cg__plugin_msg_clear();
  cg_pstatus ps = p->api.device_count(p->ctx, &count);
  if (ps != CG_P_OK) {
    cg__plugin_fail(p, ps, "%s: device_count failed", label);
    return NULL;
  }
  if (index < 0 || index >= count) {
    cg__error(CG_ERR_DEVICE, "%s: plugin '%s' has %d device(s)", label, p->id, count);
    return NULL;
  }
  cg_device *d = cg__xcalloc(1, sizeof *d);
  d->p = p;
  d->index = index;
  size_t n = 0;
  for (const char *s = p->id; *s && n < sizeof d->name - 12; s++) d->name[n++] = (char)toupper((unsigned char)*s);
  snprintf(d->name + n, sizeof d->name - n, ":%d", index);
  if ((ps = read_props(p, index, &d->props)) != CG_P_OK) {
    cg__plugin_fail(p, ps, "%s: cannot read properties of %s", label, d->name);
    free(d);
    return NULL;
  }
  cg__plugin_msg_clear();
  if ((ps = p->api.device_open(p->ctx, index, &d->h)) != CG_P_OK) {
    cg__plugin_fail(p, ps, "%s: cannot open %s", label, d->name);
    free(d);
    return NULL;
  }
  d->cache_cap = (size_t)cg__env_int("CG_BUFFER_CACHE_MB", 1024) << 20;
  devices = cg__xrealloc(devices, sizeof *devices * (size_t)(ndevices + 1));
  devices[ndevices++] = d;
  if (trace_on()) cg__log(2, "opened %s (%s, arch %s)", d->name, d->props.name, d->props.arch);
  return d;
}

/* "clang", "CUDA:1" -> device, or NULL with an error naming label and the reason. */
static cg_device *device_by_name(const char *name, const char *label) {
  const char *colon = strchr(name, ':');
  size_t idlen = colon ? (size_t)(colon - name) : strlen(name);
  int index = 0;
  if (colon) {
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || v < 0 || v > 1 << 20) {
      cg__error(CG_ERR_INVALID, "%s: bad device name '%s' (expected PLUGIN[:INDEX])", label, name);
      return NULL;
    }
    index = (int)v;
  }
  cg_plugin *p = idlen ? cg__plugin_find(name, idlen) : NULL;
  if (!p) {
    const char *loaded = cg__plugins_loaded_list();
    char id[64];
    size_t n = 0;
    for (; n < idlen && n < sizeof id - 1; n++) id[n] = (char)tolower((unsigned char)name[n]);
    id[n] = 0;
    cg__error(CG_ERR_DEVICE, "%s: no plugin '%s' (loaded: %s)", label, id, *loaded ? loaded : "none");
    return NULL;
  }
  if (p->state == CG__PL_DISABLED) {
    cg__error(CG_ERR_DEVICE, "%s: plugin '%s' is disabled by CG_PLUGINS_DISABLE", label, p->id);
    return NULL;
  }
  if (p->state != CG__PL_LOADED) {
    cg__error(CG_ERR_PLUGIN, "%s: plugin '%s' failed to load: %s (manifest %s)", label, p->id,
              p->reason ? p->reason : "unknown reason", p->manifest);
    return NULL;
  }
  return device_open(p, index, label);
}

/* Loaded plugins that may be chosen by default (priority > 1), highest priority first,
 * ties in search order. Returns the count; out has room for every plugin. */
static int default_candidates(cg_plugin **out) {
  int n = 0;
  for (int i = 0; i < cg__plugin_count(); i++) {
    cg_plugin *p = cg__plugin_at(i);
    if (p->state != CG__PL_LOADED || p->priority <= 1) continue;
    int j = n++;
    for (; j > 0 && out[j - 1]->priority < p->priority; j--) out[j] = out[j - 1];
    out[j] = p;
  }
  return n;
}

/* Tries each candidate's devices in order; the first that opens is the default. */
static cg_device *default_device(void) {
  const char *env = getenv("BACKEND");
  if (env && *env) {
    char label[160];
    snprintf(label, sizeof label, "BACKEND=%s", env);
    return device_by_name(env, label);
  }
  cg_plugin **cand = cg__xcalloc((size_t)cg__plugin_count() + 1, sizeof *cand);
  int n = default_candidates(cand);
  cg_str why = {0};
  cg_device *d = NULL;
  for (int i = 0; i < n && !d; i++) {
    int count = 0;
    if (cand[i]->api.device_count(cand[i]->ctx, &count) != CG_P_OK) count = 0;
    if (count == 0) cg__str_printf(&why, "; %s: no devices", cand[i]->id);
    for (int k = 0; k < count && !d; k++) {
      if (!(d = device_open(cand[i], k, "default device"))) cg__str_printf(&why, "; %s", cg_last_error());
    }
    if (d && (cg__debug() >= 1 || trace_on()))
      cg__log(2, "default device %s (plugin %s, priority %d)", d->name, d->p->id, d->p->priority);
  }
  if (!d) {
    const char *loaded = cg__plugins_loaded_list();
    cg__error(CG_ERR_DEVICE, "no default device (loaded plugins: %s%s; ref and null are used only "
              "by name, e.g. BACKEND=REF; manifests searched in %s)",
              *loaded ? loaded : "none", why.s ? why.s : "", cg__plugins_search_desc());
  }
  free(why.s);
  free(cand);
  return d;
}

cg_device *cg__device_get(const char *name) {
  cg__runtime_init();
  lock();
  cg_device *d;
  if (name && *name) {
    char label[160];
    snprintf(label, sizeof label, "device '%s'", name);
    d = device_by_name(name, label);
  } else {
    if (!dflt) dflt = default_device();
    d = dflt;
  }
  unlock();
  return d;
}

const char *cg_default_device(void) {
  cg_device *d = cg__device_get(NULL);
  return d ? d->name : NULL;
}

cg_status cg_set_default_device(const char *device) {
  cg_device *d = cg__device_get(device);
  if (!d) return CG_ERR_DEVICE;
  lock();
  dflt = d;
  unlock();
  return CG_OK;
}

cg_status cg__device_sync(cg_device *d) {
  if (!d || !d->p->api.synchronize) return CG_OK;
  cg__plugin_msg_clear();
  cg_pstatus ps = d->p->api.synchronize(d->h);
  return ps == CG_P_OK ? CG_OK : cg__plugin_fail(d->p, ps, "%s: synchronize", d->name);
}

/* ---- buffers ---- */

static void *cache_take(cg_device *d, size_t size) {
  for (cache_ent *e = d->lru_head; e; e = e->next) {
    if (e->size != size) continue;
    if (e->prev) e->prev->next = e->next; else d->lru_head = e->next;
    if (e->next) e->next->prev = e->prev; else d->lru_tail = e->prev;
    d->cached_bytes -= size;
    void *h = e->h;
    free(e);
    return h;
  }
  return NULL;
}

/* Keeps a freed allocation at the head; evicts from the tail beyond the cap. */
static void cache_put(cg_device *d, void *h, size_t size) {
  if (size > d->cache_cap) {
    d->p->api.mem_free(d->h, h);
    return;
  }
  cache_ent *e = cg__xcalloc(1, sizeof *e);
  e->h = h;
  e->size = size;
  e->next = d->lru_head;
  if (d->lru_head) d->lru_head->prev = e; else d->lru_tail = e;
  d->lru_head = e;
  d->cached_bytes += size;
  while (d->cached_bytes > d->cache_cap) {
    cache_ent *t = d->lru_tail;
    d->lru_tail = t->prev;
    if (t->prev) t->prev->next = NULL; else d->lru_head = NULL;
    d->cached_bytes -= t->size;
    d->p->api.mem_free(d->h, t->h);
    free(t);
  }
}

/* A fresh allocation; on failure flushes the cache and tries once more. */
static void *device_alloc(cg_device *d, size_t bytes) {
  void *h = NULL;
  cg__plugin_msg_clear();
  cg_pstatus ps = d->p->api.mem_alloc(d->h, bytes, &h);
  if (ps != CG_P_OK && d->lru_head) {
    cache_flush(d);
    cg__plugin_msg_clear();
    ps = d->p->api.mem_alloc(d->h, bytes, &h);
  }
  if (ps != CG_P_OK) {
    cg__plugin_fail(d->p, ps, "%s: cannot allocate %zu bytes", d->name, bytes);
    return NULL;
  }
  return h;
}

cg_buffer *cg__buffer_new(cg_device *d, size_t bytes) {
  if (!d) {
    cg__error(CG_ERR_INVALID, "buffer_new: no device");
    return NULL;
  }
  lock();
  void *h = cache_take(d, bytes);
  if (!h) h = device_alloc(d, bytes);
  cg_buffer *b = NULL;
  if (h) {
    b = cg__xcalloc(1, sizeof *b);
    *b = (cg_buffer){.dev = d, .h = h, .size = bytes, .rc = 1, .next = d->live};
    if (d->live) d->live->prev = b;
    d->live = b;
  }
  unlock();
  return b;
}

cg_buffer *cg__buffer_retain(cg_buffer *b) {
  if (b) __atomic_add_fetch(&b->rc, 1, __ATOMIC_RELAXED);
  return b;
}

void cg__buffer_release(cg_buffer *b) {
  if (!b || __atomic_sub_fetch(&b->rc, 1, __ATOMIC_ACQ_REL) > 0) return;
  lock();
  cg_device *d = b->dev;
  if (d) {
    if (b->prev) b->prev->next = b->next; else d->live = b->next;
    if (b->next) b->next->prev = b->prev;
    cache_put(d, b->h, b->size);
  }
  unlock();
  free(b);
}

size_t cg__buffer_size(const cg_buffer *b) { return b ? b->size : 0; }
cg_device *cg__buffer_device(const cg_buffer *b) { return b ? b->dev : NULL; }

/* Checks that [off, off+n) lies inside a live buffer. */
static cg_status check_range(const char *what, const cg_buffer *b, size_t off, size_t n) {
  if (!b) return cg__error(CG_ERR_INVALID, "%s: NULL buffer", what);
  if (!b->dev) return cg__error(CG_ERR_DEVICE, "%s: the runtime was shut down", what);
  if (off > b->size || n > b->size - off)
    return cg__error(CG_ERR_INVALID, "%s: range [%zu, +%zu) outside a %zu-byte buffer on %s", what,
                     off, n, b->size, b->dev->name);
  return CG_OK;
}

cg_status cg__buffer_write(cg_buffer *b, size_t off, const void *src, size_t n) {
  cg_status st = check_range("buffer_write", b, off, n);
  if (st != CG_OK || n == 0) return st;
  cg__plugin_msg_clear();
  cg_pstatus ps = b->dev->p->api.copy_in(b->dev->h, b->h, off, src, n);
  return ps == CG_P_OK ? CG_OK : cg__plugin_fail(b->dev->p, ps, "%s: copy_in of %zu bytes", b->dev->name, n);
}

cg_status cg__buffer_read(cg_buffer *b, size_t off, void *dst, size_t n) {
  cg__jit_on_read();
  cg_status st = check_range("buffer_read", b, off, n);
  if (st != CG_OK || n == 0) return st;
  cg__plugin_msg_clear();
  cg_pstatus ps = b->dev->p->api.copy_out(b->dev->h, dst, b->h, off, n);
  return ps == CG_P_OK ? CG_OK : cg__plugin_fail(b->dev->p, ps, "%s: copy_out of %zu bytes", b->dev->name, n);
}

/* Copy between buffers: device-to-device on one device when the plugin can, else staged
 * through host memory in chunks. Regions must not overlap. */
cg_status cg__buffer_copy(cg_buffer *dst, size_t dst_off, cg_buffer *src, size_t src_off, size_t n) {
  cg_status st = check_range("buffer_copy (dst)", dst, dst_off, n);
  if (st == CG_OK) st = check_range("buffer_copy (src)", src, src_off, n);
  if (st != CG_OK || n == 0) return st;
  cg__jit_on_copy(dst, dst_off, src, src_off, n);
  cg_device *d = dst->dev;
  if (d == src->dev && d->p->api.copy_d2d) {
    cg__plugin_msg_clear();
    cg_pstatus ps = d->p->api.copy_d2d(d->h, dst->h, dst_off, src->h, src_off, n);
    return ps == CG_P_OK ? CG_OK : cg__plugin_fail(d->p, ps, "%s: copy_d2d of %zu bytes", d->name, n);
  }
  size_t chunk = n < ((size_t)64 << 20) ? n : ((size_t)64 << 20);
  char *tmp = malloc(chunk);
  if (!tmp) return cg__error(CG_ERR_NOMEM, "buffer_copy: no host memory for a %zu-byte staging buffer", chunk);
  for (size_t done = 0; done < n && st == CG_OK; done += chunk) {
    size_t m = n - done < chunk ? n - done : chunk;
    st = cg__buffer_read(src, src_off + done, tmp, m);
    if (st == CG_OK) st = cg__buffer_write(dst, dst_off + done, tmp, m);
  }
  free(tmp);
  return st;
}

/* ---- on-disk program cache ---- */

/* Blob file: header, then the identity text and the IR bytes (compared on read, so a
 * hash collision or a changed compiler can never load a wrong binary), then the blob. */
typedef struct {
  char magic[8];               /* "CGBLOB1\0" */
  uint32_t ident_len, ir_size;
  uint64_t blob_size;
} blob_header;

/* Cache folder, or NULL when disabled (CG_NO_CACHE=1 or no usable home). */
static const char *cache_dir(char *buf, size_t n) {
  if (cg__env_int("CG_NO_CACHE", 0) > 0) return NULL;
  const char *v = getenv("CG_CACHE_DIR");
  if (v && *v) return snprintf(buf, n, "%s", v) < (int)n ? buf : NULL;
  if ((v = getenv("XDG_CACHE_HOME")) && *v) return snprintf(buf, n, "%s/cgrad", v) < (int)n ? buf : NULL;
  if ((v = getenv("HOME")) && *v) return snprintf(buf, n, "%s/.cache/cgrad", v) < (int)n ? buf : NULL;
  return NULL;
}

/* mkdir -p */
static bool make_dirs(char *path) {
  for (char *s = path + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
    *s = '/';
    if (!ok) return false;
  }
  return mkdir(path, 0755) == 0 || errno == EEXIST;
}

/* Identity of the compiler side of a cache entry. The plugin library's size and mtime
 * are part of it: a rebuilt plugin never reuses binaries of an older build. */
static void cache_ident(const cg_device *d, char *buf, size_t n) {
  const char *cid = d->p->api.compiler_id ? d->p->api.compiler_id(d->h) : NULL;
  struct stat st = {0};
  if (d->p->library) stat(d->p->library, &st);
  snprintf(buf, n, "plugin=%s version=%s arch=%s compiler=%s lib=%lld.%lld", d->p->id,
           d->p->api.version ? d->p->api.version : "", d->props.arch, cid ? cid : "",
           (long long)st.st_size, (long long)st.st_mtime);
}

static bool cache_path(const cg_device *d, const cg_ir_program *ir, const char *ident, char *buf, size_t n) {
  char dir[3072];
  if (!cache_dir(dir, sizeof dir)) return false;
  uint64_t h = cg_hash64(ir, ir->total_size, cg_hash64(ident, strlen(ident), 0));
  return snprintf(buf, n, "%s/%s/%016llx.bin", dir, d->p->id, (unsigned long long)h) < (int)n;
}

/* Reads a cached blob for exactly this IR and identity; malloc'd, or NULL. */
static void *disk_load(const char *path, const char *ident, const cg_ir_program *ir, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  blob_header h;
  size_t il = strlen(ident);
  char *meta = NULL, *blob = NULL;
  if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, "CGBLOB1", 8) || h.ident_len != il ||
      h.ir_size != ir->total_size || h.blob_size > ((uint64_t)1 << 32))
    goto fail;
  meta = cg__xmalloc(il + ir->total_size);
  if (fread(meta, 1, il + ir->total_size, f) != il + ir->total_size || memcmp(meta, ident, il) ||
      memcmp(meta + il, ir, ir->total_size))
    goto fail;
  blob = cg__xmalloc((size_t)h.blob_size);
  if (fread(blob, 1, (size_t)h.blob_size, f) != h.blob_size) goto fail;
  free(meta);
  fclose(f);
  *size = (size_t)h.blob_size;
  return blob;
fail:
  free(meta);
  free(blob);
  fclose(f);
  return NULL;
}

/* Writes atomically (temp file + rename); failures only log. */
static void disk_store(const char *path, const char *ident, const cg_ir_program *ir,
                       const void *blob, size_t size) {
  char dir[4096], tmp[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  if (!make_dirs(dir)) {
    if (cg__debug() >= 2) cg__log(1, "program cache: cannot create %s: %s", dir, strerror(errno));
    return;
  }
  static unsigned seq;        /* BEAM's worker threads may store the same IR at once */
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
  FILE *f = fopen(tmp, "wb");
  if (!f) return;
  blob_header h = {"CGBLOB1", (uint32_t)strlen(ident), ir->total_size, size};
  bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(ident, 1, h.ident_len, f) == h.ident_len &&
            fwrite(ir, 1, ir->total_size, f) == ir->total_size && fwrite(blob, 1, size, f) == size;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    if (cg__debug() >= 2) cg__log(1, "program cache: cannot write %s", path);
  }
}

/* ---- programs ---- */

/* Logs the IR text (DEBUG>=5) and, when render exists, the source (DEBUG>=4). */
static void debug_print_ir(const cg_ir_program *ir) {
  char *txt = cg_ir_print(ir);
  if (txt) cg__log(3, "IR of %s:\n%s", ir->name, txt);
  free(txt);
}

/* What the first half of a build made for one program: the rendered source and the
 * binary (compiled, or read from the disk cache), or the failing status. */
typedef struct {
  char *src;                   /* render's output (api->release), NULL if none */
  const char *lang;
  void *blob;                  /* compile's output or the cached copy, NULL if none */
  size_t blob_size;
  bool blob_ours;              /* from disk (free) vs from the plugin (api->release) */
  bool disk_hit;               /* blob came from the disk cache (not compiled) */
  cg_pstatus ps;               /* CG_P_OK, or the status of the failing step */
  const char *step;            /* "render" / "compile" when ps fails */
} prog_blob;

/* Render + compile, or the blob from the disk cache (compile's output goes there).
 * Touches no runtime state beyond this thread's plugin message and the disk, so BEAM's
 * worker threads run it (for plugins with CG_API_CAP_CONCURRENT_COMPILE). ident is
 * cache_ident's text; counters and error reports are program_finish's job. */
static void program_make_blob(cg_device *d, const cg_ir_program *ir, const char *ident, prog_blob *o) {
  const cg_plugin_api *a = &d->p->api;
  char path[4096];
  *o = (prog_blob){.ps = CG_P_OK};
  bool disk = a->compile && cache_path(d, ir, ident, path, sizeof path);
  if (disk && (o->blob = disk_load(path, ident, ir, &o->blob_size))) o->blob_ours = o->disk_hit = true;
  if (a->render && (!o->blob || cg__debug() >= 4)) {
    cg__plugin_msg_clear();
    cg_pstatus ps = a->render(d->h, ir, &o->src, &o->lang);
    if (ps != CG_P_OK || !o->src) {
      o->ps = ps ? ps : CG_P_ERR_INTERNAL, o->step = "render";
      return;
    }
    if (cg__debug() >= 4) cg__log(3, "%s source of %s (%s):\n%s", d->name, ir->name, o->lang ? o->lang : "?", o->src);
  }
  if (!o->blob && a->compile) {
    cg__plugin_msg_clear();
    if ((o->ps = a->compile(d->h, ir, o->src, &o->blob, &o->blob_size)) != CG_P_OK) {
      o->blob = NULL, o->step = "compile";
      return;
    }
    if (disk && o->blob) disk_store(path, ident, ir, o->blob, o->blob_size);
  }
}

/* Second half, in the thread that holds the runtime lock: counts the compile, reports
 * a failed first half (report: the plugin message is this thread's), loads the binary,
 * frees what the first half made. Returns the plugin program handle or NULL. */
static void *program_finish(cg_device *d, const cg_ir_program *ir, prog_blob *o, bool report) {
  const cg_plugin_api *a = &d->p->api;
  void *handle = NULL;
  if (o->disk_hit) cg__program_disk_hits++;
  else if (o->ps == CG_P_OK) cg__counters.compiles++;
  if (o->ps != CG_P_OK) {
    if (report) cg__plugin_fail(d->p, o->ps, "%s: %s of kernel '%s'", d->name, o->step, ir->name);
  } else {
    cg__plugin_msg_clear();
    const void *bin = o->blob ? o->blob : o->src;
    size_t bin_size = o->blob ? o->blob_size : o->src ? strlen(o->src) + 1 : 0;
    cg_pstatus ps = a->program_load(d->h, ir, bin, bin_size, &handle);
    if (ps != CG_P_OK) {
      handle = NULL;
      if (report) cg__plugin_fail(d->p, ps, "%s: program_load of kernel '%s'", d->name, ir->name);
    }
  }
  if (o->src) a->release(o->src);
  if (o->blob && o->blob_ours) free(o->blob);
  else if (o->blob) a->release(o->blob);
  o->src = NULL, o->blob = NULL;
  return handle;
}

/* Render + compile (or fetch the blob from disk) + load. Returns the plugin program
 * handle or NULL with the error set. ir is the program's owned copy. */
static void *program_build(cg_device *d, const cg_ir_program *ir) {
  char ident[512];
  prog_blob o;
  if (cg__debug() >= 5) debug_print_ir(ir);
  cache_ident(d, ident, sizeof ident);
  program_make_blob(d, ir, ident, &o);
  return program_finish(d, ir, &o, true);
}

static void programs_grow(cg_device *d) {
  size_t n = d->nslots ? d->nslots * 2 : 64;
  cg_program **t = cg__xcalloc(n, sizeof *t);
  for (size_t i = 0; i < d->nslots; i++) {
    for (cg_program *p = d->progs[i], *next; p; p = next) {
      next = p->chain;
      p->chain = t[p->hash & (n - 1)];
      t[p->hash & (n - 1)] = p;
    }
  }
  free(d->progs);
  d->progs = t;
  d->nslots = n;
}

/* The IR is a cgrad block within the plugin's IR range; else false, with the error set
 * when report. */
static bool ir_acceptable(cg_device *d, const cg_ir_program *ir, bool report) {
  if (!d || !ir) {
    if (report) cg__error(CG_ERR_INVALID, "program_get: NULL %s", d ? "program" : "device");
    return false;
  }
  if (ir->magic != CG_IR_MAGIC || ir->total_size < sizeof *ir) {
    if (report) cg__error(CG_ERR_INVALID, "program_get: not a cgrad IR block (magic %08x, %u bytes)", ir->magic, ir->total_size);
    return false;
  }
  const cg_plugin *pl = d->p;
  int v = ir->version_major << 16 | ir->version_minor;
  if (v < (pl->ir_min[0] << 16 | pl->ir_min[1]) || v > (pl->ir_max[0] << 16 | pl->ir_max[1])) {
    if (report) cg__error(CG_ERR_PLUGIN, "%s: kernel '%.64s' needs IR %u.%u, plugin '%s' accepts IR %d.%d..%d.%d (manifest %s)",
              d->name, ir->name, ir->version_major, ir->version_minor, pl->id, pl->ir_min[0], pl->ir_min[1],
              pl->ir_max[0], pl->ir_max[1], pl->manifest);
    return false;
  }
  return true;
}

/* The cached program of exactly these IR bytes (h = their hash), or NULL. Under lock. */
static cg_program *program_find(cg_device *d, const cg_ir_program *ir, uint64_t h) {
  cg_program *p = d->nslots ? d->progs[h & (d->nslots - 1)] : NULL;
  for (; p; p = p->chain)
    if (p->hash == h && p->ir->total_size == ir->total_size && !memcmp(p->ir, ir, ir->total_size)) break;
  return p;
}

/* Caches a loaded program (copy: the owned IR). Under lock. */
static cg_program *program_insert(cg_device *d, cg_ir_program *copy, uint64_t h, void *handle) {
  if (d->nprogs >= d->nslots) programs_grow(d);
  cg_program *p = cg__xcalloc(1, sizeof *p);
  *p = (cg_program){.dev = d, .ir = copy, .hash = h, .h = handle, .chain = d->progs[h & (d->nslots - 1)]};
  d->progs[h & (d->nslots - 1)] = p;
  d->nprogs++;
  return p;
}

static cg_ir_program *ir_copy(const cg_ir_program *ir) {
  cg_ir_program *copy = memcpy(cg__xmalloc(ir->total_size), ir, ir->total_size);
  copy->name[sizeof copy->name - 1] = 0;
  return copy;
}

cg_program *cg__program_get(cg_device *d, const cg_ir_program *ir) {
  if (!ir_acceptable(d, ir, true)) return NULL;
  uint64_t h = cg_hash64(ir, ir->total_size, 0);
  lock();
  cg_program *p = program_find(d, ir, h);
  if (!p) {
    cg_ir_program *copy = ir_copy(ir);
    void *handle = program_build(d, copy);
    if (handle) p = program_insert(d, copy, h, handle);
    else free(copy);
  }
  unlock();
  return p;
}

/* ---- parallel builds (BEAM) ---- */

bool cg__device_concurrent_compile(const cg_device *d) {
  return d && d->p->minor >= 2 && (d->p->api.caps & CG_API_CAP_CONCURRENT_COMPILE) &&
         (d->p->api.render || d->p->api.compile);
}

/* Work shared by the compile threads: job i is program_make_blob of irs[i]. */
typedef struct {
  cg_device *d;
  const char *ident;
  cg_ir_program **irs;
  prog_blob *out;
  int n;
  int next;                    /* next job to take (atomic) */
} build_pool;

static int build_worker(void *arg) {
  build_pool *bp = arg;
  for (int i; (i = __atomic_fetch_add(&bp->next, 1, __ATOMIC_RELAXED)) < bp->n;)
    program_make_blob(bp->d, bp->irs[i], bp->ident, &bp->out[i]);
  return 0;
}

/* Runs every job on up to `jobs` threads, this one included (a thread that cannot be
 * started just leaves its share to the others). */
static void build_pool_run(build_pool *bp, int jobs) {
  thrd_t th[64];
  int nth = 0;
  if (jobs > bp->n) jobs = bp->n;
  if (jobs > 65) jobs = 65;
  for (; nth < jobs - 1; nth++)
    if (thrd_create(&th[nth], build_worker, bp) != thrd_success) break;
  build_worker(bp);
  for (int i = 0; i < nth; i++) thrd_join(th[i], NULL);
}

int cg__program_prefetch(cg_device *d, const cg_ir_program *const *irs, int n, int jobs) {
  if (n <= 0 || jobs < 2 || !cg__device_concurrent_compile(d)) return 0;
  build_pool bp = {.d = d, .irs = cg__xcalloc((size_t)n, sizeof *bp.irs), .out = cg__xcalloc((size_t)n, sizeof *bp.out)};
  uint64_t *hs = cg__xcalloc((size_t)n, sizeof *hs);
  char ident[512];
  int added = 0;
  lock();
  for (int i = 0; i < n; i++) {  /* new, acceptable and distinct IRs only */
    if (!ir_acceptable(d, irs[i], false)) continue;
    uint64_t h = cg_hash64(irs[i], irs[i]->total_size, 0);
    bool dup = program_find(d, irs[i], h) != NULL;
    for (int k = 0; k < bp.n && !dup; k++)
      dup = hs[k] == h && bp.irs[k]->total_size == irs[i]->total_size && !memcmp(bp.irs[k], irs[i], irs[i]->total_size);
    if (dup) continue;
    hs[bp.n] = h;
    bp.irs[bp.n++] = ir_copy(irs[i]);
    if (cg__debug() >= 5) debug_print_ir(irs[i]);
  }
  cache_ident(d, ident, sizeof ident);
  bp.ident = ident;
  build_pool_run(&bp, jobs);
  for (int i = 0; i < bp.n; i++) {  /* load in order; failures are rebuilt (and reported) later */
    void *handle = program_finish(d, bp.irs[i], &bp.out[i], false);
    if (handle) program_insert(d, bp.irs[i], hs[i], handle), added++;
    else free(bp.irs[i]);
  }
  unlock();
  free(bp.irs);
  free(bp.out);
  free(hs);
  return added;
}

/* Checks buffers (device, size covering what the kernel may touch) and variables. */
static cg_status launch_check(const cg_program *p, cg_buffer *const *bufs, const int64_t *vars) {
  const cg_ir_program *ir = p->ir;
  for (uint32_t i = 0; i < ir->nparams; i++) {
    const cg_ir_param *prm = &cg_ir_params(ir)[i];
    uint64_t need = (uint64_t)(prm->count > 0 ? prm->count : 0) * cg_ir_scalar_size(prm->scalar);
    if (!bufs || !bufs[i] || !bufs[i]->dev)
      return cg__error(CG_ERR_INVALID, "launch %s: buffer %u is missing", ir->name, i);
    if (bufs[i]->dev != p->dev)
      return cg__error(CG_ERR_DEVICE, "launch %s: buffer %u is on %s, kernel on %s", ir->name, i,
                       bufs[i]->dev->name, p->dev->name);
    if (bufs[i]->size < need)
      return cg__error(CG_ERR_INVALID, "launch %s: buffer %u has %zu bytes, kernel may touch %llu",
                       ir->name, i, bufs[i]->size, (unsigned long long)need);
  }
  for (uint32_t i = 0; i < ir->nvars; i++) {
    const cg_ir_var *v = &cg_ir_vars(ir)[i];
    if (!vars || vars[i] < v->min || vars[i] > v->max)
      return cg__error(CG_ERR_INVALID, "launch %s: variable %.32s = %lld outside [%lld, %lld]", ir->name,
                       v->name, vars ? (long long)vars[i] : 0LL, (long long)v->min, (long long)v->max);
  }
  return CG_OK;
}

static void log_launch(const cg_program *p, double t) {
  const cg_ir_program *ir = p->ir;
  double gflops = t > 0 ? (double)ir->flops / t * 1e-9 : 0, gbs = t > 0 ? (double)ir->bytes / t * 1e-9 : 0;
  cg__log(2, "%s %6llu %-32s global [%u,%u,%u] local [%u,%u,%u] %9.3f us %8.2f GFLOP/s %8.2f GB/s",
          p->dev->name, (unsigned long long)cg__counters.kernels, ir->name, ir->global[0], ir->global[1],
          ir->global[2], ir->local[0], ir->local[1], ir->local[2], t * 1e6, gflops, gbs);
}

cg_status cg__program_launch(cg_program *p, cg_buffer *const *bufs, const int64_t *vars) {
  if (!p) return cg__error(CG_ERR_INVALID, "launch: NULL program");
  cg_status st = launch_check(p, bufs, vars);
  if (st != CG_OK) return st;
  const cg_ir_program *ir = p->ir;
  void *stack[16], **h = ir->nparams <= 16 ? stack : cg__xmalloc(sizeof *h * ir->nparams);
  for (uint32_t i = 0; i < ir->nparams; i++) h[i] = bufs[i]->h;
  bool timed = cg__debug() >= 2;
  double t = -1, t0 = timed ? now_s() : 0;
  cg_launch_args args = {.struct_size = sizeof args, .nbufs = ir->nparams, .bufs = h,
                         .nvars = ir->nvars, .vars = vars, .time_s = timed ? &t : NULL};
  memcpy(args.global, ir->global, sizeof args.global);
  memcpy(args.local, ir->local, sizeof args.local);
  cg_device *d = p->dev;
  cg__plugin_msg_clear();
  cg_pstatus ps = d->p->api.launch(d->h, p->h, &args);
  if (h != stack) free(h);
  if (ps != CG_P_OK) return cg__plugin_fail(d->p, ps, "%s: launch of kernel '%s'", d->name, ir->name);
  cg__counters.kernels++;
  cg__jit_on_launch(p, bufs, vars);
  if (timed) {
    if (t < 0) {  /* the plugin did not time it: wall clock around launch + sync */
      if ((st = cg__device_sync(d)) != CG_OK) return st;
      t = now_s() - t0;
    }
    log_launch(p, t);
  }
  return CG_OK;
}

cg_device *cg__program_device(const cg_program *p) { return p->dev; }
const cg_ir_program *cg__program_ir(const cg_program *p) { return p->ir; }

/* ---- graphs (the plugin's optional graph slot, ABI minor 1) ---- */

bool cg__device_has_graphs(const cg_device *d) {
  const cg_plugin_api *a = &d->p->api;
  return d->p->minor >= 1 && a->graph_create && a->graph_launch && a->graph_free;
}

/* Checks every launch and fills g->args / g->hs from buffers and variable values. */
static cg_status graph_fill(cg_graph *g, cg_buffer *const *const *bufs, const int64_t *const *vars) {
  size_t off = 0;
  for (int i = 0; i < g->n; i++) {
    const cg_ir_program *ir = g->progs[i]->ir;
    cg_status st = launch_check(g->progs[i], bufs[i], vars[i]);
    if (st != CG_OK) return st;
    for (uint32_t k = 0; k < ir->nparams; k++) g->hs[off + k] = bufs[i][k]->h;
    cg_launch_args *a = &g->args[i];
    *a = (cg_launch_args){.struct_size = sizeof *a, .nbufs = ir->nparams, .bufs = g->hs + off,
                          .nvars = ir->nvars, .vars = vars[i]};
    memcpy(a->global, ir->global, sizeof a->global);
    memcpy(a->local, ir->local, sizeof a->local);
    off += ir->nparams;
  }
  return CG_OK;
}

cg_graph *cg__graph_new(cg_device *d, int n, cg_program *const *progs, cg_buffer *const *const *bufs,
                        const int64_t *const *vars) {
  if (!d || n <= 0 || !cg__device_has_graphs(d)) {
    cg__error(CG_ERR_INVALID, "graph: %s has no graph slot", cg__device_name(d));
    return NULL;
  }
  size_t nh = 0;
  for (int i = 0; i < n; i++) nh += progs[i]->ir->nparams;
  cg_graph *g = cg__xcalloc(1, sizeof *g);
  g->n = n;
  g->progs = memcpy(cg__xmalloc(sizeof *g->progs * (size_t)n), progs, sizeof *g->progs * (size_t)n);
  g->args = cg__xcalloc((size_t)n, sizeof *g->args);
  g->hs = cg__xcalloc(nh ? nh : 1, sizeof *g->hs);
  void **handles = cg__xmalloc(sizeof *handles * (size_t)n);
  for (int i = 0; i < n; i++) handles[i] = progs[i]->h;
  lock();
  cg_status st = graph_fill(g, bufs, vars);
  if (st == CG_OK) {
    cg__plugin_msg_clear();
    cg_pstatus ps = d->p->api.graph_create(d->h, (uint32_t)n, handles, g->args, &g->h);
    if (ps != CG_P_OK) st = cg__plugin_fail(d->p, ps, "%s: graph_create of %d launches", d->name, n);
  }
  if (st == CG_OK) {
    g->dev = d;
    g->next = d->graphs;
    if (d->graphs) d->graphs->prev = g;
    d->graphs = g;
  }
  unlock();
  free(handles);
  if (st != CG_OK) {
    g->dev = NULL;
    cg__graph_free(g);
    return NULL;
  }
  return g;
}

cg_status cg__graph_launch(cg_graph *g, cg_buffer *const *const *bufs, const int64_t *const *vars) {
  if (!g || !g->dev) return cg__error(CG_ERR_DEVICE, "graph launch: the runtime was shut down");
  cg_device *d = g->dev;
  cg_status st = graph_fill(g, bufs, vars);
  if (st != CG_OK) return st;
  double t0 = cg__debug() >= 2 ? now_s() : 0;
  cg__plugin_msg_clear();
  cg_pstatus ps = d->p->api.graph_launch(d->h, g->h, g->args);
  if (ps != CG_P_OK) return cg__plugin_fail(d->p, ps, "%s: graph_launch of %d launches", d->name, g->n);
  cg__counters.kernels += (uint64_t)g->n;
  cg__counters.graph_launches++;
  if (cg__debug() >= 2) {
    if ((st = cg__device_sync(d)) != CG_OK) return st;
    cg__log(2, "%s graph of %d kernels %9.3f us", d->name, g->n, (now_s() - t0) * 1e6);
  }
  return CG_OK;
}

void cg__graph_free(cg_graph *g) {
  if (!g) return;
  lock();
  cg_device *d = g->dev;
  if (d) {
    d->p->api.graph_free(d->h, g->h);
    if (g->prev) g->prev->next = g->next; else d->graphs = g->next;
    if (g->next) g->next->prev = g->prev;
  }
  unlock();
  free(g->progs);
  free(g->args);
  free(g->hs);
  free(g);
}

/* ---- `cgrad devices` ---- */

static void print_size(FILE *f, uint64_t b) {
  if (b >= (1ull << 30)) fprintf(f, "%.1f GiB", (double)b / (double)(1ull << 30));
  else if (b >= (1ull << 20)) fprintf(f, "%.1f MiB", (double)b / (double)(1ull << 20));
  else if (b >= 1024) fprintf(f, "%.1f KiB", (double)b / 1024.0);
  else fprintf(f, "%llu B", (unsigned long long)b);
}

static void print_props(FILE *f, const char *name, const cg_plugin *p, const cg_device_props *pr) {
  const char *kind = pr->kind == CG_DEVICE_CPU ? "cpu" : pr->kind == CG_DEVICE_GPU ? "gpu"
                   : pr->kind == CG_DEVICE_ACCEL ? "accel" : "?";
  fprintf(f, "\n%s\n  plugin:        %s (priority %d)\n  name:          %s\n  kind:          %s\n"
          "  arch:          %s\n  dtypes:       ", name, p->id, p->priority, pr->name, kind,
          pr->arch[0] ? pr->arch : "-");
  for (int s = 0; s < CG_IR_VOID; s++)
    if (pr->dtypes & (1u << s)) fprintf(f, " %s", cg_ir_scalar_name(s));
  fprintf(f, "\n  local size:    %u (max %u x %u x %u), warp %u\n  local memory:  ", pr->max_local_size,
          pr->max_local[0], pr->max_local[1], pr->max_local[2], pr->warp_size);
  print_size(f, pr->local_mem_bytes);
  fprintf(f, "\n  compute units: %u\n  global memory: ", pr->compute_units);
  if (pr->global_mem_bytes) print_size(f, pr->global_mem_bytes);
  else fprintf(f, "unknown");
  fprintf(f, "\n  tensor cores: ");
  if (!pr->n_tc_shapes) fprintf(f, " none");
  for (uint32_t i = 0; i < pr->n_tc_shapes; i++)
    fprintf(f, " %ux%ux%u %s", pr->tc_shapes[i][0], pr->tc_shapes[i][1], pr->tc_shapes[i][2],
            cg_ir_scalar_name(pr->tc_shapes[i][3]));
  fprintf(f, "\n");
}

/* Every device of every loaded plugin (properties only: nothing is opened). */
void cg__runtime_report_devices(FILE *f) {
  cg__runtime_init();
  lock();
  int total = 0;
  for (int i = 0; i < cg__plugin_count(); i++) {
    cg_plugin *p = cg__plugin_at(i);
    if (p->state != CG__PL_LOADED) continue;
    int count = 0;
    cg__plugin_msg_clear();
    cg_pstatus ps = p->api.device_count(p->ctx, &count);
    if (ps != CG_P_OK) fprintf(f, "\n%s: device_count failed: %s\n", p->id, cg__plugin_msg()[0] ? cg__plugin_msg() : cg__pstatus_str(ps));
    else if (count == 0) fprintf(f, "\n%s: no devices\n", p->id);
    for (int k = 0; k < count; k++, total++) {
      char name[48];
      cg_device_props pr;
      size_t n = 0;
      for (const char *s = p->id; *s && n < 32; s++) name[n++] = (char)toupper((unsigned char)*s);
      snprintf(name + n, sizeof name - n, ":%d", k);
      if ((ps = read_props(p, k, &pr)) != CG_P_OK)
        fprintf(f, "\n%s\n  error: %s\n", name, cg__plugin_msg()[0] ? cg__plugin_msg() : cg__pstatus_str(ps));
      else
        print_props(f, name, p, &pr);
    }
  }
  unlock();
  if (!total) fprintf(f, "no devices (loaded plugins: %s)\n", *cg__plugins_loaded_list() ? cg__plugins_loaded_list() : "none");
}
