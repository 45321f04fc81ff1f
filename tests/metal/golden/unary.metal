#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void unary_f32(device float* data0 [[buffer(0)]], device const float* data1 [[buffer(1)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx2 = (int)gid.x;
  float val4 = data1[gidx2];
  float alu5 = exp2(val4);
  int alu7 = ((int)((uint)0 + (uint)gidx2));
  data0[alu7] = alu5;
  float alu10 = log2(val4);
  int alu12 = ((int)((uint)8 + (uint)gidx2));
  data0[alu12] = alu10;
  float alu15 = sin(val4);
  int alu17 = ((int)((uint)16 + (uint)gidx2));
  data0[alu17] = alu15;
  float alu20 = sqrt(val4);
  int alu22 = ((int)((uint)24 + (uint)gidx2));
  data0[alu22] = alu20;
  float alu25 = ((float)1 / val4);
  int alu27 = ((int)((uint)32 + (uint)gidx2));
  data0[alu27] = alu25;
  float alu30 = (-val4);
  int alu32 = ((int)((uint)40 + (uint)gidx2));
  data0[alu32] = alu30;
  float alu35 = trunc(val4);
  int alu37 = ((int)((uint)48 + (uint)gidx2));
  data0[alu37] = alu35;
}
