#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void grid3(device int* data0 [[buffer(0)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx1 = (int)gid.x;
  int gidx2 = (int)gid.y;
  int gidx3 = (int)gid.z;
  int alu6 = ((int)((uint)gidx3 * (uint)3));
  int alu7 = ((int)((uint)alu6 + (uint)gidx2));
  int alu8 = ((int)((uint)alu7 * (uint)2));
  int alu9 = ((int)((uint)alu8 + (uint)gidx1));
  int alu11 = ((int)((uint)gidx3 * (uint)10000));
  int alu13 = ((int)((uint)gidx2 * (uint)100));
  int alu14 = ((int)((uint)alu13 + (uint)alu11));
  int alu15 = ((int)((uint)gidx1 + (uint)alu14));
  data0[alu9] = alu15;
}
