/* Names of IR ops and scalar types (generated from the CG_IR_OPS table), and the stable
 * FNV-1a hash used for cache keys. Shared by the printer, the parser and plugins. */
#include <cgrad/ir_util.h>

static const char *const op_names[CG_IR_OP_COUNT] = {
#define CG_IR_X(name, n, doc) #name,
    CG_IR_OPS(CG_IR_X)
#undef CG_IR_X
};

/* Short scalar names used by the text form; index = cg_ir_scalar. */
static const char *const scalar_names[CG_IR_SCALAR_COUNT] = {
    "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
    "f16", "bf16", "f32", "f64", "void",
};

const char *cg_ir_op_name(int op) {
  return (op >= 0 && op < CG_IR_OP_COUNT) ? op_names[op] : "?";
}

const char *cg_ir_scalar_name(int scalar) {
  return (scalar >= 0 && scalar < CG_IR_SCALAR_COUNT) ? scalar_names[scalar] : "?";
}

uint64_t cg_hash64(const void *data, size_t n, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull ^ seed; /* FNV-1a offset basis, salted */
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull; /* FNV-1a 64-bit prime */
  }
  return h;
}
