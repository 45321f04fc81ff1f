/* The interpreter: runs a verified cg_ir_program over a launch grid.
 *
 * Model: for each work-group (group ids in x-fastest order), every work-item of the
 * group has its own frame (pc, value lanes per instruction, DEFINE_REG arena); the
 * group shares one DEFINE_LOCAL arena. Items run one after the other until they reach
 * a BARRIER or the end; when every item waits at the same BARRIER they all pass it.
 * An item that ends while others wait (or items waiting at different barriers) is an
 * error: real GPUs hang or misbehave there.
 *
 * Control flow: RANGE evaluates start/end, skips to after its ENDRANGE when start >=
 * end; ENDRANGE increments the loop variable and jumps back while it is < end. IF
 * skips to after its ENDIF when the condition is false.
 *
 * Memory: a pointer is (root instruction, element offset). Every LOAD/STORE that is
 * not gated off is bounds-checked against the param's declared count and the bytes of
 * the buffer the host passed (or the DEFINE_* element count); out of bounds is an
 * error, never an access. Arenas start zeroed, so runs are deterministic. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

#include "ref.h"

enum { ITEM_RUN, ITEM_BARRIER, ITEM_DONE };

typedef struct {
  uint32_t pc;
  int state;
  uint32_t lid[3];
  ref_lane *v;          /* nslots lanes */
  unsigned char *regs;  /* reg_bytes */
} item;

typedef struct {
  const ref_prog *p;
  const ref_launch *l;
  const int32_t *srcs;
  uint32_t gid[3];
  uint64_t steps;       /* instructions executed so far */
  unsigned char *local; /* local_bytes */
  char *err;
  size_t errlen;
} run;

/* Lanes occupied by an instruction's value. */
static uint32_t width(cg_ir_type t) {
  if (t.scalar == CG_IR_VOID) return 0;
  return t.space != CG_IR_AS_NONE ? 2 : t.vec;
}

int ref_prog_prepare(ref_prog *p, char *err, size_t errlen) {
  uint32_t n = p->ir->ninsts;
  p->insts = cg_ir_insts(p->ir);
  p->slot = calloc(n + 1, sizeof *p->slot);
  p->match = calloc(n + 1, sizeof *p->match);
  p->arr_off = calloc(n + 1, sizeof *p->arr_off);
  int32_t *stack = calloc(n + 1, sizeof *stack);
  int depth = 0, rc = 0;
  if (!p->slot || !p->match || !p->arr_off || !stack) {
    snprintf(err, errlen, "out of memory");
    rc = -1;
  }
  for (uint32_t i = 0; i < n && !rc; i++) {
    const cg_ir_inst *in = &p->insts[i];
    p->slot[i] = p->nslots;
    p->nslots += width(in->type);
    p->match[i] = -1;
    if (in->op == CG_IR_RANGE || in->op == CG_IR_IF) stack[depth++] = (int32_t)i;
    if (in->op == CG_IR_ENDRANGE || in->op == CG_IR_ENDIF) { /* verified: pairs nest */
      int32_t open = stack[--depth];
      p->match[open] = (int32_t)i;
      p->match[i] = open;
    }
    if (in->op == CG_IR_WMMA) {
      snprintf(err, errlen, "inst %u: WMMA is not supported by the reference interpreter", i);
      rc = -2;
    }
    if (in->op == CG_IR_DEFINE_LOCAL || in->op == CG_IR_DEFINE_REG) {
      size_t *arena = in->op == CG_IR_DEFINE_LOCAL ? &p->local_bytes : &p->reg_bytes;
      size_t limit = in->op == CG_IR_DEFINE_LOCAL ? REF_LOCAL_MEM : REF_REG_MEM;
      uint64_t bytes = (uint64_t)in->arg * cg_ir_scalar_size(in->type.scalar); /* arg >= 1 */
      if ((uint64_t)in->arg > limit || *arena + bytes > limit) {
        snprintf(err, errlen, "inst %u: %s needs more than %zu bytes", i, cg_ir_op_name(in->op), limit);
        rc = -1;
        break;
      }
      p->arr_off[i] = *arena;
      *arena += (size_t)((bytes + 15) & ~15ull); /* keep arrays 16-byte aligned */
    }
  }
  free(stack);
  return rc;
}

void ref_prog_release(ref_prog *p) {
  free(p->ir);
  free(p->slot);
  free(p->match);
  free(p->arr_off);
}

static cg_pstatus rfail(run *r, uint32_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cg_pstatus rfail(run *r, uint32_t i, const char *fmt, ...) {
  int n = snprintf(r->err, r->errlen, "kernel %s, group (%u,%u,%u), inst %u (%s): ", r->p->ir->name,
                   r->gid[0], r->gid[1], r->gid[2], i, cg_ir_op_name(r->p->insts[i].op));
  if (n >= 0 && (size_t)n < r->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return CG_P_ERR_LAUNCH;
}

/* Lanes of source k of instruction in. */
static ref_lane *src(const run *r, item *it, const cg_ir_inst *in, int k) {
  return it->v + r->p->slot[r->srcs[in->src_start + (uint32_t)k]];
}

/* Bytes behind pointer ptr for an access of `lanes` elements, or NULL (error set). */
static unsigned char *address(run *r, item *it, uint32_t i, const ref_lane *ptr, int lanes) {
  const cg_ir_inst *root = &r->p->insts[ptr[0].u];
  size_t esize = cg_ir_scalar_size(root->type.scalar);
  int64_t off = ref_as_i64(ptr[1].u), count = root->arg;
  unsigned char *base;
  size_t bytes;
  if (root->op == CG_IR_PARAM) {
    const ref_mem *m = &r->l->bufs[root->arg];
    count = cg_ir_params(r->p->ir)[root->arg].count;
    base = m->data, bytes = m->bytes;
  } else if (root->op == CG_IR_DEFINE_LOCAL) {
    base = r->local + r->p->arr_off[ptr[0].u], bytes = (size_t)count * esize;
  } else {
    base = it->regs + r->p->arr_off[ptr[0].u], bytes = (size_t)count * esize;
  }
  if (off < 0 || off > count - lanes || (uint64_t)(off + lanes) > bytes / esize) {
    rfail(r, i, "access of %d element(s) at index %lld is out of bounds of %s %%%llu "
          "(%lld elements, %zu bytes)", lanes, (long long)off, cg_ir_op_name(root->op),
          (unsigned long long)ptr[0].u, (long long)count, bytes);
    return NULL;
  }
  return base + (size_t)off * esize;
}

static cg_pstatus exec_load(run *r, item *it, uint32_t i, const cg_ir_inst *in, ref_lane *out) {
  int n = in->type.vec;
  if (in->nsrc == 3 && !src(r, it, in, 1)[0].u) { /* gated off: the alternative */
    memcpy(out, src(r, it, in, 2), (size_t)n * sizeof *out);
    return CG_P_OK;
  }
  unsigned char *a = address(r, it, i, src(r, it, in, 0), n);
  if (!a) return CG_P_ERR_LAUNCH;
  size_t esize = cg_ir_scalar_size(in->type.scalar);
  for (int k = 0; k < n; k++) out[k] = ref_load(in->type.scalar, a + (size_t)k * esize);
  return CG_P_OK;
}

static cg_pstatus exec_store(run *r, item *it, uint32_t i, const cg_ir_inst *in) {
  if (in->nsrc == 3 && !src(r, it, in, 2)[0].u) return CG_P_OK; /* gated off */
  cg_ir_type vt = r->p->insts[r->srcs[in->src_start + 1]].type;
  unsigned char *a = address(r, it, i, src(r, it, in, 0), vt.vec);
  if (!a) return CG_P_ERR_LAUNCH;
  const ref_lane *val = src(r, it, in, 1);
  size_t esize = cg_ir_scalar_size(vt.scalar);
  for (int k = 0; k < vt.vec; k++) ref_store(vt.scalar, val[k], a + (size_t)k * esize);
  return CG_P_OK;
}

/* BITCAST: write the source lanes to bytes, read them back as the result type. */
static void exec_bitcast(run *r, item *it, const cg_ir_inst *in, ref_lane *out) {
  unsigned char bytes[16 * 8];
  cg_ir_type st = r->p->insts[r->srcs[in->src_start]].type;
  const ref_lane *a = src(r, it, in, 0);
  size_t ss = cg_ir_scalar_size(st.scalar), ds = cg_ir_scalar_size(in->type.scalar);
  for (int k = 0; k < st.vec; k++) ref_store(st.scalar, a[k], bytes + (size_t)k * ss);
  for (int k = 0; k < in->type.vec; k++) out[k] = ref_load(in->type.scalar, bytes + (size_t)k * ds);
}

/* ALU ops, CAST, WHERE: lane by lane. */
static void exec_alu(run *r, item *it, const cg_ir_inst *in, ref_lane *out) {
  cg_ir_type st = r->p->insts[r->srcs[in->src_start]].type;
  ref_lane zero = {0};
  const ref_lane *a = src(r, it, in, 0);
  const ref_lane *b = in->nsrc > 1 ? src(r, it, in, 1) : NULL;
  const ref_lane *c = in->nsrc > 2 ? src(r, it, in, 2) : NULL;
  for (int k = 0; k < in->type.vec; k++) {
    if (in->op == CG_IR_CAST) {
      out[k] = ref_cast(in->type.scalar, st.scalar, a[k]);
    } else {
      int s = in->op == CG_IR_WHERE ? in->type.scalar : st.scalar;
      out[k] = ref_alu(in->op, s, a[k], b ? b[k] : zero, c ? c[k] : zero);
    }
  }
}

/* RANGE: enter the loop, or jump past its ENDRANGE when it runs zero times. */
static uint32_t exec_range(run *r, item *it, uint32_t i, const cg_ir_inst *in, ref_lane *out) {
  out[0] = src(r, it, in, 0)[0];
  if (ref_less(in->type.scalar, out[0], src(r, it, in, 1)[0])) return i + 1;
  return (uint32_t)r->p->match[i] + 1;
}

/* ENDRANGE: next iteration or fall through. */
static uint32_t exec_endrange(run *r, item *it, uint32_t i, const cg_ir_inst *in) {
  uint32_t ri = (uint32_t)r->srcs[in->src_start];
  const cg_ir_inst *rng = &r->p->insts[ri];
  ref_lane *var = it->v + r->p->slot[ri];
  ref_lane next = {.u = ref_norm(rng->type.scalar, var->u + 1)};
  if (!ref_less(rng->type.scalar, next, src(r, it, rng, 1)[0])) return i + 1;
  *var = next;
  return ri + 1;
}

/* Executes instruction i of item it; sets it->pc to the next instruction. */
static cg_pstatus exec(run *r, item *it, uint32_t i) {
  const cg_ir_inst *in = &r->p->insts[i];
  ref_lane *out = it->v + r->p->slot[i];
  int s = in->type.scalar;
  it->pc = i + 1;
  switch (in->op) {
  case CG_IR_NOP: case CG_IR_ENDIF: return CG_P_OK;
  case CG_IR_PARAM: case CG_IR_DEFINE_LOCAL: case CG_IR_DEFINE_REG:
    out[0].u = i, out[1].u = 0;
    return CG_P_OK;
  case CG_IR_VAR: out[0] = ref_from_i64(s, r->l->vars[in->arg]); return CG_P_OK;
  case CG_IR_SPECIAL: {
    uint32_t axis = (uint32_t)(in->arg % 3);
    out[0] = ref_from_i64(s, in->arg < 3 ? r->gid[axis] : it->lid[axis]);
    return CG_P_OK;
  }
  case CG_IR_CONST: out[0] = ref_const(s, in->arg); return CG_P_OK;
  case CG_IR_RANGE: it->pc = exec_range(r, it, i, in, out); return CG_P_OK;
  case CG_IR_ENDRANGE: it->pc = exec_endrange(r, it, i, in); return CG_P_OK;
  case CG_IR_IF:
    if (!src(r, it, in, 0)[0].u) it->pc = (uint32_t)r->p->match[i] + 1;
    return CG_P_OK;
  case CG_IR_BARRIER: it->state = ITEM_BARRIER; return CG_P_OK;
  case CG_IR_INDEX: {
    const ref_lane *ptr = src(r, it, in, 0);
    out[0] = ptr[0];
    out[1].u = ptr[1].u + src(r, it, in, 1)[0].u; /* index lanes are sign-extended */
    return CG_P_OK;
  }
  case CG_IR_LOAD: return exec_load(r, it, i, in, out);
  case CG_IR_STORE: return exec_store(r, it, i, in);
  case CG_IR_BITCAST: exec_bitcast(r, it, in, out); return CG_P_OK;
  case CG_IR_VECTORIZE:
    for (int k = 0; k < in->nsrc; k++) out[k] = src(r, it, in, k)[0];
    return CG_P_OK;
  case CG_IR_GEP: out[0] = src(r, it, in, 0)[in->arg]; return CG_P_OK;
  case CG_IR_WMMA: return rfail(r, i, "WMMA is not supported");
  default: exec_alu(r, it, in, out); return CG_P_OK;
  }
}

/* Runs one item until it waits at a barrier or finishes. */
static cg_pstatus run_item(run *r, item *it) {
  uint32_t n = r->p->ir->ninsts;
  it->state = ITEM_RUN;
  while (it->state == ITEM_RUN) {
    if (it->pc >= n) {
      it->state = ITEM_DONE;
      break;
    }
    if (r->l->max_steps && ++r->steps > r->l->max_steps)
      return rfail(r, it->pc, "gave up after %llu instructions (REF_MAX_STEPS)", (unsigned long long)r->l->max_steps);
    cg_pstatus st = exec(r, it, it->pc);
    if (st) return st;
  }
  return CG_P_OK;
}

/* Runs every item of the current group to completion, meeting at barriers. */
static cg_pstatus run_group(run *r, item *items, uint32_t nitems) {
  memset(r->local, 0, r->p->local_bytes);
  for (uint32_t k = 0; k < nitems; k++) {
    items[k].pc = 0;
    items[k].state = ITEM_RUN;
    memset(items[k].regs, 0, r->p->reg_bytes);
  }
  for (;;) {
    uint32_t waiting = 0;
    for (uint32_t k = 0; k < nitems; k++) {
      cg_pstatus st = run_item(r, &items[k]);
      if (st) return st;
      waiting += items[k].state == ITEM_BARRIER;
    }
    if (waiting == 0) return CG_P_OK; /* all done */
    uint32_t at = 0; /* the barrier the first waiting item waits at */
    for (uint32_t k = nitems; k-- > 0;)
      if (items[k].state == ITEM_BARRIER) at = items[k].pc - 1;
    for (uint32_t k = 0; k < nitems; k++) {
      if (items[k].state != ITEM_BARRIER)
        return rfail(r, at, "work-item %u finished while others wait at this barrier", k);
      if (items[k].pc - 1 != at)
        return rfail(r, at, "work-item %u waits at a different barrier (inst %u)", k, items[k].pc - 1);
    }
  }
}

cg_pstatus ref_run(const ref_prog *p, const ref_launch *l, char *err, size_t errlen) {
  run r = {.p = p, .l = l, .srcs = cg_ir_srcs(p->ir), .err = err, .errlen = errlen};
  uint32_t nitems = l->local[0] * l->local[1] * l->local[2]; /* <= REF_MAX_LOCAL, checked */
  item *items = calloc(nitems, sizeof *items);
  ref_lane *lanes = calloc((size_t)nitems * p->nslots + 1, sizeof *lanes);
  unsigned char *regs = calloc((size_t)nitems * p->reg_bytes + 1, 1);
  r.local = calloc(p->local_bytes + 1, 1);
  cg_pstatus st = CG_P_OK;
  if (!items || !lanes || !regs || !r.local) {
    snprintf(err, errlen, "out of memory for %u work-items", nitems);
    st = CG_P_ERR_NOMEM;
  }
  for (uint32_t k = 0; k < nitems && !st; k++) {
    items[k].lid[0] = k % l->local[0];
    items[k].lid[1] = k / l->local[0] % l->local[1];
    items[k].lid[2] = k / (l->local[0] * l->local[1]);
    items[k].v = lanes + (size_t)k * p->nslots;
    items[k].regs = regs + (size_t)k * p->reg_bytes;
  }
  for (uint32_t z = 0; z < l->global[2] && !st; z++)
    for (uint32_t y = 0; y < l->global[1] && !st; y++)
      for (uint32_t x = 0; x < l->global[0] && !st; x++) {
        r.gid[0] = x, r.gid[1] = y, r.gid[2] = z;
        st = run_group(&r, items, nitems);
      }
  free(items);
  free(lanes);
  free(regs);
  free(r.local);
  return st;
}
