/* Private header of the ref plugin (the reference interpreter, the executable
 * specification of the kernel IR).
 *
 * Values: every lane of every IR value is one ref_lane.
 *   - bool and integer types keep their value in .u, normalized: truncated to the
 *     type's width, then sign-extended for signed types (so an i8 -1 is ~0ull);
 *   - float types keep their value in .f as a double that is exactly representable in
 *     the type (every op rounds its result with ref_round);
 *   - pointers take two lanes: [0].u = index of the PARAM/DEFINE_* instruction they
 *     point into, [1].u = element offset (two's complement int64).
 * Files: scalar.c (per-lane semantics), interp.c (control flow, memory, groups),
 * plugin.c (ABI table, devices, buffers, programs). */
#ifndef CG_REF_H
#define CG_REF_H

#include <stddef.h>
#include <stdint.h>

#include <cgrad/ir.h>
#include <cgrad/plugin.h>

typedef union {
  uint64_t u;
  double f;
} ref_lane;

/* ---- scalar.c: semantics of one lane ---- */
uint64_t ref_norm(int s, uint64_t v);                /* wrap an integer to type s */
int64_t ref_as_i64(uint64_t u);                      /* two's complement view, no UB */
double ref_round(int s, double x);                   /* round to float type s (RNE) */
ref_lane ref_const(int s, int64_t arg);              /* CONST arg -> lane */
ref_lane ref_from_i64(int s, int64_t v);             /* integer value -> lane of type s */
int ref_less(int s, ref_lane a, ref_lane b);         /* a < b in type s */
/* ALU op on one lane; s is the type of the sources (compares return bool lanes). */
ref_lane ref_alu(int op, int s, ref_lane a, ref_lane b, ref_lane c);
ref_lane ref_cast(int to, int from, ref_lane v);
/* Memory format (host byte order, IEEE binary16 / bfloat16 bit patterns). */
void ref_store(int s, ref_lane v, unsigned char *p);
ref_lane ref_load(int s, const unsigned char *p);
uint16_t ref_f16_bits(double x);
double ref_f16_value(uint16_t h);
uint16_t ref_bf16_bits(double x);
double ref_bf16_value(uint16_t h);

/* ---- interp.c: a loaded program and one launch ---- */
typedef struct ref_prog {
  cg_ir_program *ir;     /* owned, verified copy */
  const cg_ir_inst *insts;
  uint32_t *slot;        /* per inst: first value slot (lanes) in a work-item's frame */
  uint32_t nslots;       /* lanes per work-item frame */
  int32_t *match;        /* RANGE<->ENDRANGE and IF->ENDIF partners, else -1 */
  size_t *arr_off;       /* per DEFINE_LOCAL/DEFINE_REG: byte offset in its arena */
  size_t local_bytes;    /* shared arena per work-group */
  size_t reg_bytes;      /* private arena per work-item */
} ref_prog;

/* One buffer as the interpreter sees it: bytes from the launch offset to the end. */
typedef struct {
  unsigned char *data;
  size_t bytes;
} ref_mem;

typedef struct {
  const ref_mem *bufs;   /* one per param */
  const int64_t *vars;   /* one per var, already range-checked */
  uint32_t global[3], local[3];
  uint64_t max_steps;    /* instructions executed before giving up; 0 = no limit */
} ref_launch;

/* Builds the tables of p (p->ir set, verified). Returns 0 or -1 with err set. */
int ref_prog_prepare(ref_prog *p, char *err, size_t errlen);
void ref_prog_release(ref_prog *p);
/* Runs every work-group. Returns CG_P_OK or an error status with err set. */
cg_pstatus ref_run(const ref_prog *p, const ref_launch *l, char *err, size_t errlen);

#define REF_MAX_LOCAL 256           /* work-items per group */
#define REF_LOCAL_MEM (64u * 1024u) /* shared memory per group, bytes */
#define REF_REG_MEM (64u * 1024u)   /* DEFINE_REG bytes per work-item */

#endif
