/* Parameter lists: growable arrays of retained tensors with names, split into trainable
 * parameters (requires_grad on) and buffers. Also holds the nn error state. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nn_private.h"

static _Thread_local char nn_err[512];

const char *cg_nn_last_error(void) { return nn_err; }

void cg__nn_clear_error(void) { nn_err[0] = 0; }

cg_status cg__nn_error(cg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(nn_err, sizeof nn_err, fmt, ap);
  va_end(ap);
  return st;
}

cg_status cg__nn_core_error(const char *what) {
  const char *core = cg_last_error();
  return cg__nn_error(CG_ERR_INVALID, "%s: %s", what, core && core[0] ? core : "failed");
}

/* One named list of tensors. */
typedef struct {
  cg_tensor **t;
  char **name;
  int n, cap;
} tlist;

struct cg_params {
  tlist params;   /* trainable */
  tlist buffers;  /* not trainable, realized by optimizer steps */
};

static void tlist_free(tlist *l) {
  for (int i = 0; i < l->n; i++) {
    cg_release(l->t[i]);
    free(l->name[i]);
  }
  free(l->t);
  free(l->name);
  memset(l, 0, sizeof *l);
}

static cg_status tlist_push(tlist *l, const char *name, const char *dflt, cg_tensor *t) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    cg_tensor **nt = realloc(l->t, (size_t)cap * sizeof *nt);
    if (!nt) return cg__nn_error(CG_ERR_NOMEM, "cg_params_add: out of memory");
    l->t = nt;
    char **nn = realloc(l->name, (size_t)cap * sizeof *nn);
    if (!nn) return cg__nn_error(CG_ERR_NOMEM, "cg_params_add: out of memory");
    l->name = nn;
    l->cap = cap;
  }
  char buf[32];
  if (!name) {
    snprintf(buf, sizeof buf, "%s%d", dflt, l->n);
    name = buf;
  }
  char *copy = strdup(name);
  if (!copy) return cg__nn_error(CG_ERR_NOMEM, "cg_params_add: out of memory");
  l->t[l->n] = cg_retain(t);
  l->name[l->n] = copy;
  l->n++;
  return CG_OK;
}

cg_params *cg_params_new(void) {
  cg_params *p = calloc(1, sizeof *p);
  if (!p) cg__nn_error(CG_ERR_NOMEM, "cg_params_new: out of memory");
  return p;
}

void cg_params_free(cg_params *p) {
  if (!p) return;
  tlist_free(&p->params);
  tlist_free(&p->buffers);
  free(p);
}

cg_status cg_params_add(cg_params *p, const char *name, cg_tensor *t) {
  if (!p || !t) return cg__nn_error(CG_ERR_INVALID, "cg_params_add: NULL list or tensor");
  cg_set_requires_grad(t, true);
  return tlist_push(&p->params, name, "param", t);
}

cg_status cg_params_add_buffer(cg_params *p, const char *name, cg_tensor *t) {
  if (!p || !t) return cg__nn_error(CG_ERR_INVALID, "cg_params_add_buffer: NULL list or tensor");
  return tlist_push(&p->buffers, name, "buffer", t);
}

int cg_params_count(const cg_params *p) { return p ? p->params.n : 0; }

cg_tensor *cg_params_get(const cg_params *p, int i) {
  return p && i >= 0 && i < p->params.n ? p->params.t[i] : NULL;
}

const char *cg_params_name(const cg_params *p, int i) {
  return p && i >= 0 && i < p->params.n ? p->params.name[i] : NULL;
}

int cg_params_buffer_count(const cg_params *p) { return p ? p->buffers.n : 0; }

cg_tensor *cg_params_buffer(const cg_params *p, int i) {
  return p && i >= 0 && i < p->buffers.n ? p->buffers.t[i] : NULL;
}

static cg_tensor *tlist_find(const tlist *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->name[i], name) == 0) return l->t[i];
  return NULL;
}

cg_tensor *cg_params_find(const cg_params *p, const char *name) {
  if (!p || !name) return NULL;
  cg_tensor *t = tlist_find(&p->params, name);
  return t ? t : tlist_find(&p->buffers, name);
}

int64_t cg_params_numel(const cg_params *p) {
  int64_t n = 0;
  for (int i = 0; i < cg_params_count(p); i++) n += cg_numel(p->params.t[i]);
  return n;
}

void cg_params_zero_grad(cg_params *p) {
  for (int i = 0; i < cg_params_count(p); i++) cg_zero_grad(p->params.t[i]);
}
