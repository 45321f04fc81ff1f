/* Private interface between the scheduler (schedule.c), the kernel optimizer (opt.c),
 * the lowering of one kernel to its AST (lower.c) and the linearizer to IR (linearize.c). */
#ifndef CG_SCHED_H
#define CG_SCHED_H
#include "cgrad/plugin.h"
#include "uop.h"

#define CG_MAX_KERNEL_INPUTS 64
#define CG_MAX_KERNEL_VARS 8
#define CG_MAX_OPTS 8
#define CG_MAX_AXES 16

/* Optimizer (DESIGN.md §7). A kernel's iteration space is a list of axes: output axes
 * (the flattened output for elementwise kernels, else the output dims > 1) then reduce
 * axes (the reduced dims > 1). An opt takes `amt` off an axis and gives it a role:
 *   UPCAST  output axis -> register tile: the body is emitted once per value
 *   UNROLL  reduce axis -> the reduce body is emitted once per value
 *   LOOP    output axis -> loop inside the kernel (what stays is the group grid, which
 *           CPU plugins spread over their threads)
 *   LOCAL   output axis -> work-group dim (GPUs)
 *   GROUP   reduce axis -> work-group dim, partial results combined in local memory
 * An axis index is composed outer to inner: output global|local|loop|upcast,
 * reduce loop|group|unroll. The group grid is one flat id, axis 0 fastest. */
typedef enum { CG_OPT_UPCAST, CG_OPT_UNROLL, CG_OPT_LOOP, CG_OPT_LOCAL, CG_OPT_GROUP, CG_OPT_TC, CG_OPT_COUNT } cg_opt_op;
/*   TC      {TC, reduce axis, K of a tensor-core shape}: the kernel becomes WMMAs on warp
 *           fragments (core/tc.c); first opt only; then UPCAST/LOCAL of its M, N axes
 *           (fragments per warp, warps per group) and UNROLL of its K axis may follow */
typedef struct { uint8_t op, axis; uint16_t amt; } cg_opt;
enum { CG_P_GLOBAL, CG_P_LOCAL, CG_P_LOOP, CG_P_UPCAST };      /* output axis parts */
enum { CG_P_RLOOP = 0, CG_P_GROUP = 1, CG_P_UNROLL = 3 };      /* reduce axis parts */
typedef struct {
  int dim;            /* root dim (output) or reduced dim of the reduce's source */
  bool reduce;
  int64_t size;
  int64_t part[4];    /* sizes by role (see enums); global = ceil(size / the rest) */
  int64_t frag;       /* TC: fragment extent, innermost (0 = none) */
} cg_axis;
typedef struct {
  int naxes, nout;    /* output axes come first */
  bool flat;          /* one output axis: the flattened output */
  cg_axis ax[CG_MAX_AXES];
  int nopts;
  cg_opt opts[CG_MAX_OPTS];
  /* TC candidate (core/tc.c, set by cg__plan_init): input scalar (0 = none), the M and N
   * output axes; tc_shape = applied tensor-core shape id + 1 (0 = no TC opt) */
  uint8_t tc_in;
  int8_t tc_m, tc_n, tc_shape;
  uint32_t symred;    /* bit a: reduce axis a has a symbolic length (loop only, no opts) */
} cg_plan;

/* RANGE node args: {id, kind, axis}. */
enum { CG_R_LOOP, CG_R_GLOBAL, CG_R_LOCAL, CG_R_UPCAST, CG_R_UNROLL };

typedef struct {
  UOp *out;                          /* tensor node the kernel computes (param 0) */
  int nin;
  UOp *in[CG_MAX_KERNEL_INPUTS];     /* realized tensor nodes read (params 1..nin) */
  UOp *sink;                         /* kernel AST: SINK(STORE(PARAM 0, idx, value[, gate])) */
  UOp *loops[CG_MAX_AXES];           /* output loop RANGEs (LOOP parts) */
  int nloops;
  UOp *upcast[CG_MAX_AXES];          /* UPCAST ranges, expanded by the linearizer */
  int nupcast;
  UOp *axis_range[CG_MAX_AXES];      /* innermost range of each output axis (heuristics) */
  cg_plan plan;
  uint32_t global[3], local[3];
  uint32_t stage_bytes;              /* local memory for staging loads (stage.c); 0: none */
  char name[64];
  /* symbolic variables (docs/symbolic.md): IR var i is the kernel-level VAR node vars[i]
   * (args {min, max}, name in ptr); var_vals[i] is its bound value for this launch only,
   * never part of the AST or IR, so one compiled program serves every value. */
  int nvars;
  UOp *vars[CG_MAX_KERNEL_VARS];
  int64_t var_vals[CG_MAX_KERNEL_VARS];
  /* symbolic length of the output (docs/symbolic.md): idx < length along its axis, also
   * in the store gate; the linearizer skips a whole tile past it (IF), or NULL */
  UOp *len_gate;
} cg_kernel;

/* Axes of the kernel computing root, no opts applied. */
void cg__plan_init(UOp *root, cg_plan *plan);
/* Apply one opt if legal for the device (0), else -1 and the plan is unchanged. */
int cg__plan_apply(cg_plan *plan, cg_opt o, const cg_device_props *props);
/* Opt list as text ("UPCAST0:4 LOOP1:8"). */
void cg__opts_str(const cg_plan *plan, char *buf, size_t n);
/* Build the kernel AST computing `root` with the plan's opts (whose sub-graph holds at
 * most one reduce not under an expand; realized nodes are read as buffers). 0 or -1. */
int cg__lower(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k);
/* Choose opts (NOOPT=1: none; BEAM=n: search, cached on disk; else heuristics), lower
 * and linearize the kernel for dev. malloc'd program or NULL with error set. */
struct cg_device;
cg_ir_program *cg__compile_kernel(UOp *root, struct cg_device *dev, cg_kernel *k);
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
  uint64_t lower_ns;            /* cg__compile_kernel: opts + lower + linearize */
  uint64_t linearize_ns;        /* 0: counted in lower_ns since the optimizer */
  uint64_t backend_ns;          /* program lookup/compile + launch + copies */
  uint64_t kernels;             /* kernels + copies run */
  uint64_t core_cpu_ns;         /* thread CPU time of schedule + lower + linearize */
} cg_sched_stats;
cg_sched_stats cg__sched_stats(void);
#endif
