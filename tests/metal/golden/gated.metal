#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void gated(device float* data0 [[buffer(0)]], device float* data1 [[buffer(1)]], device const float* data2 [[buffer(2)]], constant int& var0 [[buffer(3)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx3 = (int)gid.x;
  bool alu5 = (gidx3 < var0);
  float val8 = alu5 ? data2[gidx3] : (-1.0f);
  data0[gidx3] = val8;
  int alu13 = ((int)(gidx3 % 2));
  bool alu14 = (alu13 == 0);
  float val16 = data2[gidx3];
  if (alu14) data1[gidx3] = val16;
}
