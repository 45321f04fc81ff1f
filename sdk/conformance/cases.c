/* Reads the numerical case tables (sdk/conformance/cases/<name>.yaml) with libyaml:
 *
 *   rules:
 *     - id: "7.2"                     # rule number; entries with one id form one rule
 *       title: binary ALU ops         # the rule's title (first entry of the id)
 *       kind: binary                  # see num_kind in num.h
 *       ops: [ADD, SUB, MUL]          # IR op names (reduce: ADD, MUL, MAX)
 *       dtypes: [ints, f32]           # scalar names or groups: all ints sints uints floats
 *       to: [floats]                  # cast / bitcast target types
 *       shapes: [97, [5, 3], [4, 3, 2]]  # grid sizes (reduce: [groups, K]; gated: [N])
 *       range: [-8, 8]                # input values (default: floats [-10, 10], ints full)
 *       specials: true                # inputs start with special values
 *       tol: {f32: [1e-6, 1e-7]}      # [rtol, atol] per output type (default exact)
 *
 * Unknown keys, ops, types and kinds are errors naming the file and line, so a typo
 * never turns into a silently smaller test. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <yaml.h>

#include "num.h"

static const char *const kind_names[K_COUNT] = {"unary", "binary", "compare", "ternary", "cast",
                                                "bitcast", "elementwise", "reduce", "gated"};

const char *num_kind_name(num_kind k) { return k < K_COUNT ? kind_names[k] : "?"; }

typedef struct {
  yaml_document_t *doc;
  const char *file;
  char *why;
  size_t whylen;
} rd;

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int bad(rd *r, yaml_node_t *n, const char *what, const char *val) {
  snprintf(r->why, r->whylen, "%s line %lu: %s%s%s", r->file, n ? (unsigned long)n->start_mark.line + 1 : 0UL, what,
           val ? " " : "", val ? val : "");
  return -1;
}

/* Items of a sequence node (a lone scalar counts as a one-item sequence). */
static int items(rd *r, yaml_node_t *n, yaml_node_t **out, int max) {
  if (n->type == YAML_SCALAR_NODE) return out[0] = n, 1;
  if (n->type != YAML_SEQUENCE_NODE) return bad(r, n, "expected a list", NULL);
  int k = 0;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    if (k == max) return bad(r, n, "too many items", NULL);
    out[k++] = yaml_document_get_node(r->doc, *it);
  }
  return k;
}

static int find_scalar_type(const char *s) {
  for (int t = 0; t < CG_IR_VOID; t++)
    if (!strcmp(s, cg_ir_scalar_name(t))) return t;
  return -1;
}

/* dtypes: names and groups, expanded, without duplicates. */
static int read_types(rd *r, yaml_node_t *n, int *out, int *count) {
  yaml_node_t *it[32];
  int m = items(r, n, it, 32);
  *count = 0;
  for (int i = 0; i < m; i++) {
    const char *s = scalar(it[i]);
    if (!s) return bad(r, it[i], "type names must be scalars", NULL);
    int lo = -1, hi = -1, t = find_scalar_type(s);
    if (t >= 0) lo = hi = t;
    else if (!strcmp(s, "all")) lo = CG_IR_BOOL, hi = CG_IR_FLOAT64;
    else if (!strcmp(s, "ints")) lo = CG_IR_INT8, hi = CG_IR_UINT64;
    else if (!strcmp(s, "sints")) lo = CG_IR_INT8, hi = CG_IR_INT64;
    else if (!strcmp(s, "uints")) lo = CG_IR_UINT8, hi = CG_IR_UINT64;
    else if (!strcmp(s, "floats")) lo = CG_IR_FLOAT16, hi = CG_IR_FLOAT64;
    else return bad(r, it[i], "unknown type", s);
    for (int k = lo; k <= hi; k++) {
      bool dup = false;
      for (int j = 0; j < *count; j++) dup |= out[j] == k;
      if (!dup) out[(*count)++] = k;
    }
  }
  return 0;
}

static int read_ops(rd *r, yaml_node_t *n, num_table *t) {
  yaml_node_t *it[NUM_MAX_OPS];
  int m = items(r, n, it, NUM_MAX_OPS);
  if (m < 0) return -1;
  for (int i = 0; i < m; i++) {
    const char *s = scalar(it[i]);
    int op = -1;
    for (int k = 0; s && k < CG_IR_OP_COUNT; k++)
      if (!strcmp(s, cg_ir_op_name(k))) op = k;
    if (op < 0) return bad(r, it[i], "unknown op", s);
    t->ops[t->nops++] = op;
  }
  return 0;
}

static int read_int(rd *r, yaml_node_t *n, int64_t *v) {
  const char *s = scalar(n);
  char *end;
  long long x = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || *end || x < 1 || x > (1 << 24)) return bad(r, n, "shape sizes must be integers in [1, 2^24]", s);
  *v = x;
  return 0;
}

static int read_shapes(rd *r, yaml_node_t *n, num_table *t) {
  yaml_node_t *it[NUM_MAX_SHAPES];
  int m = items(r, n, it, NUM_MAX_SHAPES);
  if (m < 0) return -1;
  for (int i = 0; i < m; i++) {
    yaml_node_t *dims[3];
    int d = it[i]->type == YAML_SCALAR_NODE ? (dims[0] = it[i], 1) : items(r, it[i], dims, 3);
    if (d < 1) return d < 0 ? -1 : bad(r, it[i], "empty shape", NULL);
    t->shapes[i][0] = t->shapes[i][1] = t->shapes[i][2] = 1;
    for (int k = 0; k < d; k++)
      if (read_int(r, dims[k], &t->shapes[i][k])) return -1;
    t->ndims[i] = d;
  }
  t->nshapes = m;
  return 0;
}

static int read_double(rd *r, yaml_node_t *n, double *v) {
  const char *s = scalar(n);
  char *end;
  *v = s ? strtod(s, &end) : 0;
  if (!s || !*s || *end) return bad(r, n, "expected a number", s);
  return 0;
}

static int read_pair(rd *r, yaml_node_t *n, double *a, double *b) {
  yaml_node_t *it[2];
  if (n->type != YAML_SEQUENCE_NODE || items(r, n, it, 2) != 2) return bad(r, n, "expected [number, number]", NULL);
  return read_double(r, it[0], a) || read_double(r, it[1], b) ? -1 : 0;
}

/* tol: {f32: [rtol, atol], floats: [...]} */
static int read_tol(rd *r, yaml_node_t *n, num_table *t) {
  if (n->type != YAML_MAPPING_NODE) return bad(r, n, "tol must be a mapping", NULL);
  for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top; kv++) {
    int types[CG_IR_VOID], nt = 0;
    double rt, at;
    if (read_types(r, yaml_document_get_node(r->doc, kv->key), types, &nt)) return -1;
    if (read_pair(r, yaml_document_get_node(r->doc, kv->value), &rt, &at)) return -1;
    for (int k = 0; k < nt; k++) t->rtol[types[k]] = rt, t->atol[types[k]] = at;
  }
  return 0;
}

/* One key of a table entry. */
static int read_key(rd *r, const char *key, yaml_node_t *v, num_table *t, const char **id, const char **title) {
  const char *s = scalar(v);
  if (!strcmp(key, "id") || !strcmp(key, "title") || !strcmp(key, "kind") || !strcmp(key, "specials")) {
    if (!s) return bad(r, v, "expected a scalar for", key);
  }
  if (!strcmp(key, "id")) *id = s;
  else if (!strcmp(key, "title")) *title = s;
  else if (!strcmp(key, "kind")) {
    int k = 0;
    while (k < K_COUNT && strcmp(kind_names[k], s)) k++;
    if (k == K_COUNT) return bad(r, v, "unknown kind", s);
    t->kind = (num_kind)k;
  } else if (!strcmp(key, "ops")) return read_ops(r, v, t);
  else if (!strcmp(key, "dtypes")) return read_types(r, v, t->dtypes, &t->ndtypes);
  else if (!strcmp(key, "to")) return read_types(r, v, t->to, &t->nto);
  else if (!strcmp(key, "shapes")) return read_shapes(r, v, t);
  else if (!strcmp(key, "range")) return t->has_range = true, read_pair(r, v, &t->lo, &t->hi);
  else if (!strcmp(key, "specials")) t->specials = !strcmp(s, "true");
  else if (!strcmp(key, "tol")) return read_tol(r, v, t);
  else return bad(r, v, "unknown key", key);
  return 0;
}

/* Adds table t to the rule with this id (created at the end if new). */
static int add_table(numrule **rules, int *n, const char *id, const char *title, const num_table *t) {
  int i = 0;
  while (i < *n && strcmp((*rules)[i].id, id)) i++;
  if (i == *n) {
    numrule *nr = realloc(*rules, sizeof **rules * (size_t)(*n + 1));
    if (!nr) return -1;
    *rules = nr;
    memset(&nr[i], 0, sizeof nr[i]);
    snprintf(nr[i].id, sizeof nr[i].id, "%s", id);
    snprintf(nr[i].title, sizeof nr[i].title, "%s", title ? title : "numerics");
    (*n)++;
  }
  numrule *q = &(*rules)[i];
  num_table *nt = realloc(q->tables, sizeof *nt * (size_t)(q->ntables + 1));
  if (!nt) return -1;
  q->tables = nt;
  nt[q->ntables++] = *t;
  return 0;
}

static int read_entry(rd *r, yaml_node_t *e, numrule **rules, int *n) {
  if (e->type != YAML_MAPPING_NODE) return bad(r, e, "each rule entry must be a mapping", NULL);
  num_table t;
  memset(&t, 0, sizeof t);
  snprintf(t.file, sizeof t.file, "%s", strrchr(r->file, '/') ? strrchr(r->file, '/') + 1 : r->file);
  t.line = (int)e->start_mark.line + 1;
  t.kind = K_COUNT;
  const char *id = NULL, *title = NULL;
  for (yaml_node_pair_t *kv = e->data.mapping.pairs.start; kv < e->data.mapping.pairs.top; kv++) {
    yaml_node_t *k = yaml_document_get_node(r->doc, kv->key);
    if (!scalar(k)) return bad(r, k, "keys must be scalars", NULL);
    if (read_key(r, scalar(k), yaml_document_get_node(r->doc, kv->value), &t, &id, &title)) return -1;
  }
  if (!id || strncmp(id, "7.", 2) || strlen(id) > 8) return bad(r, e, "entry needs an id \"7.N\"", id);
  if (t.kind == K_COUNT || !t.ndtypes || !t.nshapes) return bad(r, e, "entry needs kind, dtypes and shapes", NULL);
  bool needs_ops = t.kind != K_CAST && t.kind != K_BITCAST && t.kind != K_GATED;
  if (needs_ops && !t.nops) return bad(r, e, "entry needs ops", NULL);
  if ((t.kind == K_CAST || t.kind == K_BITCAST) && !t.nto) return bad(r, e, "entry needs to: [types]", NULL);
  if (t.kind == K_REDUCE)
    for (int i = 0; i < t.nshapes; i++)
      if (t.ndims[i] != 2) return bad(r, e, "reduce shapes are [groups, K]", NULL);
  if (add_table(rules, n, id, title, &t)) return bad(r, e, "out of memory", NULL);
  return 0;
}

static int load_file(const char *path, numrule **rules, int *n, char *why, size_t whylen) {
  FILE *f = fopen(path, "rb");
  if (!f) return snprintf(why, whylen, "cannot open %s", path), -1;
  yaml_parser_t parser;
  yaml_document_t doc;
  int rc = -1;
  if (!yaml_parser_initialize(&parser)) return fclose(f), snprintf(why, whylen, "libyaml: cannot initialise"), -1;
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    snprintf(why, whylen, "%s line %lu: YAML error: %s", path, (unsigned long)parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "syntax error");
  } else {
    rd r = {&doc, path, why, whylen};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *list = NULL;
    if (root && root->type == YAML_MAPPING_NODE)
      for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top; kv++)
        if (scalar(yaml_document_get_node(&doc, kv->key)) && !strcmp(scalar(yaml_document_get_node(&doc, kv->key)), "rules"))
          list = yaml_document_get_node(&doc, kv->value);
    if (!list || list->type != YAML_SEQUENCE_NODE) {
      bad(&r, root, "top level must be a mapping with a 'rules' list", NULL);
    } else {
      rc = 0;
      for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top && !rc; it++)
        rc = read_entry(&r, yaml_document_get_node(&doc, *it), rules, n);
    }
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(f);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Rules sorted by number (7.2 before 7.10). */
static int cmp_rule(const void *a, const void *b) {
  const numrule *x = a, *y = b;
  int xa = 0, xb = 0, ya = 0, yb = 0;
  sscanf(x->id, "%d.%d", &xa, &xb);
  sscanf(y->id, "%d.%d", &ya, &yb);
  return xa != ya ? xa - ya : xb - yb;
}

int num_load(const char *dir, numrule **out, char *why, size_t whylen) {
  *out = NULL;
  int n = 0;
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) return snprintf(why, whylen, "cannot read the cases folder %s", dir ? dir : "(none)"), -1;
  char **names = NULL;
  size_t nn = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.') continue;
    char **nm = realloc(names, sizeof *names * (nn + 1));
    size_t plen = strlen(dir) + len + 2;
    char *path = malloc(plen);
    if (!nm || !path) {
      free(path);
      names = nm ? nm : names;
      break;
    }
    snprintf(path, plen, "%s/%s", dir, e->d_name);
    names = nm;
    names[nn++] = path;
  }
  closedir(d);
  qsort(names, nn, sizeof *names, cmp_str);
  int rc = nn ? 0 : (snprintf(why, whylen, "no *.yaml case tables in %s", dir), -1);
  for (size_t i = 0; i < nn; i++) {
    if (!rc) rc = load_file(names[i], out, &n, why, whylen);
    free(names[i]);
  }
  free(names);
  if (rc) {
    num_free(*out, n);
    *out = NULL;
    return -1;
  }
  qsort(*out, (size_t)n, sizeof **out, cmp_rule);
  return n;
}

void num_free(numrule *rules, int n) {
  for (int i = 0; i < n; i++) free(rules[i].tables);
  free(rules);
}

const char *num_rule_id(const numrule *rules, int i) { return rules[i].id; }
const char *num_rule_title(const numrule *rules, int i) { return rules[i].title; }
