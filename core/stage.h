/* Staging of a reduce's operand loads through local (shared) memory on GPUs: a step of
 * the linearizer (stage.c; docs/internals.md "Local-memory staging"). */
#ifndef CG_STAGE_H
#define CG_STAGE_H
#include "schedule.h"

#define CG_STAGE_MAX 4     /* staged loads per kernel */
#define CG_STAGE_FILL 128  /* cooperative copies per thread, all tiles together */
#define CG_STAGE_PREFETCH 32 /* at most this many copies are prefetched in registers */

typedef struct {
  int n;                          /* staged loads (local tiles) */
  UOp *lbuf[CG_STAGE_MAX];        /* PARAM node args {1000 + i, CG_IR_AS_LOCAL}: tile i */
  int64_t size[CG_STAGE_MAX];     /* elements of tile i (with padding) */
  int nfill;
  UOp *fill[CG_STAGE_FILL];       /* STORE(lbuf, index, global LOAD [, gate]) per copy */
  /* prefetch (one LOOP range, <= CG_STAGE_PREFETCH copies): registers hold the copies'
   * values for the next iteration, loaded while this one computes */
  UOp *loop, *alias;              /* the reduce's LOOP range; a stand-in for its value */
  UOp *first[CG_STAGE_PREFETCH];  /* copy i's value at iteration 0 */
  UOp *next[CG_STAGE_PREFETCH];   /* ... at iteration alias + 1 (gated past the end) */
} cg_stage;

/* When the kernel's one reduce (red, in store) is unrolled and some of its loads do not
 * depend on a work-group dim (every thread along it reads the same values), rewrites
 * those loads to read a local tile and describes the cooperative copy that fills it
 * (emitted by the linearizer inside the reduce loop, between two barriers). Returns the
 * rewritten store, or store itself when nothing is staged (st->n == 0). */
UOp *cg__stage(const cg_kernel *k, UOp *store, UOp *red, cg_stage *st);
#endif
