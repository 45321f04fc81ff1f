#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
static inline float cg_b2f(ushort b) { return cg_u2f((uint)b << 16); }
static inline ushort cg_f2b(float f) {
  uint u = cg_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float cg_rb(float f) { return cg_b2f(cg_f2b(f)); }
kernel void half_bf16(device ushort* data0 [[buffer(0)]], device const ushort* data1 [[buffer(1)]], device const ushort* data2 [[buffer(2)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx3 = (int)gid.x;
  float val5 = cg_b2f(data1[gidx3]);
  float val7 = cg_b2f(data2[gidx3]);
  float alu8 = cg_rb((val5 + val7));
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = cg_f2b(alu8);
  float alu13 = cg_rb((val5 * val7));
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = cg_f2b(alu13);
  float alu18 = cg_rb((val5 / val7));
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = cg_f2b(alu18);
  float alu23 = cg_rb(sqrt(val5));
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = cg_f2b(alu23);
  float alu28 = cg_rb((cg_rb(val5 * val7) + val5));
  int alu30 = ((int)((uint)32 + (uint)gidx3));
  data0[alu30] = cg_f2b(alu28);
  float alu33 = ((val5 < val7 || val7 != val7) ? val7 : val5);
  int alu35 = ((int)((uint)40 + (uint)gidx3));
  data0[alu35] = cg_f2b(alu33);
}
