#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void half_f16(device half* data0 [[buffer(0)]], device const half* data1 [[buffer(1)]], device const half* data2 [[buffer(2)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx3 = (int)gid.x;
  half val5 = data1[gidx3];
  half val7 = data2[gidx3];
  half alu8 = (val5 + val7);
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = alu8;
  half alu13 = (val5 * val7);
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = alu13;
  half alu18 = (val5 / val7);
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = alu18;
  half alu23 = ((half)sqrt((float)val5));
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = alu23;
  half alu28 = (val5 * val7 + val5);
  int alu30 = ((int)((uint)32 + (uint)gidx3));
  data0[alu30] = alu28;
  half alu33 = ((val5 < val7 || val7 != val7) ? val7 : val5);
  int alu35 = ((int)((uint)40 + (uint)gidx3));
  data0[alu35] = alu33;
}
