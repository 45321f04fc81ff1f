/* Private interface between the scheduler (schedule.c), the lowering of one kernel to
 * its AST (lower.c) and the linearizer to IR (linearize.c). */
#ifndef CG_SCHED_H
#define CG_SCHED_H
#include "cgrad/plugin.h"
#include "uop.h"

#define CG_MAX_KERNEL_INPUTS 64
#define CG_MAX_KERNEL_VARS 8

typedef struct {
  UOp *out;                          /* tensor node the kernel computes (param 0) */
  int nin;
  UOp *in[CG_MAX_KERNEL_INPUTS];     /* realized tensor nodes read (params 1..nin) */
  UOp *sink;                         /* kernel AST: SINK(STORE(PARAM 0, idx, value[, gate])) */
  UOp *loops[2];                     /* output loop RANGEs (CPU inner chunk) */
  int nloops;
  uint32_t global[3], local[3];
  char name[64];
  /* symbolic variables (docs/symbolic.md): IR var i is the kernel-level VAR node vars[i]
   * (args {min, max}, name in ptr); var_vals[i] is its bound value for this launch only,
   * never part of the AST or IR, so one compiled program serves every value. */
  int nvars;
  UOp *vars[CG_MAX_KERNEL_VARS];
  int64_t var_vals[CG_MAX_KERNEL_VARS];
} cg_kernel;

/* Build the kernel AST computing `root` (whose sub-graph holds at most one reduce not
 * under an expand; realized nodes are read as buffers). 0 or -1 with error set. */
int cg__lower(UOp *root, const cg_device_props *props, cg_kernel *k);
/* Turn a kernel AST into a linear IR program (malloc'd block). */
cg_ir_program *cg__linearize(const cg_kernel *k);
/* Schedule and run everything needed to realize the roots (one schedule). */
cg_status cg__realize(int n, UOp *const *roots);

/* Scheduler statistics, an internal hook for tests/plan and bench/sched_bench (link
 * cgrad_static). "last_*" describe the latest cg__realize that ran kernels; "*_ns" add
 * up over the process. Peak memory counts the buffers one schedule allocates for its
 * kernels' outputs: "planned" is the peak of what is live at once with the memory
 * planner, "naive" what one buffer per kernel output kept to the end would take. */
typedef struct {
  int last_kernels;             /* kernels + copies run */
  int last_slots;               /* shared buffers the planner used */
  uint64_t last_peak_bytes;     /* planned peak */
  uint64_t last_naive_bytes;    /* sum of every output */
  uint64_t sched_ns;            /* collect + kernel boundaries + planning */
  uint64_t lower_ns;            /* cg__lower */
  uint64_t linearize_ns;        /* cg__linearize */
  uint64_t backend_ns;          /* program lookup/compile + launch + copies */
  uint64_t kernels;             /* kernels + copies run */
  uint64_t core_cpu_ns;         /* thread CPU time of schedule + lower + linearize */
} cg_sched_stats;
cg_sched_stats cg__sched_stats(void);
#endif
