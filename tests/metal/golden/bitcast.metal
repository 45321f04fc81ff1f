#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void bitcast(device uint* data0 [[buffer(0)]], device float* data1 [[buffer(1)]], device ushort* data2 [[buffer(2)]], device const float* data3 [[buffer(3)]], device const half* data4 [[buffer(4)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx5 = (int)gid.x;
  float val7 = data3[gidx5];
  half val9 = data4[gidx5];
  uint cast10 = as_type<uint>(val7);
  data0[gidx5] = cast10;
  uint alu14 = ((uint)(cast10 ^ 2147483648u));
  float cast15 = as_type<float>(alu14);
  data1[gidx5] = cast15;
  ushort cast18 = as_type<ushort>(val9);
  data2[gidx5] = cast18;
}
