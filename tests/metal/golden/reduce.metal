#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void r_sum(device float* data0 [[buffer(0)]], device const float* data1 [[buffer(1)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx2 = (int)gid.x;
  float acc4[1];
  acc4[0] = 0.0f;
  int alu9 = ((int)((uint)gidx2 * (uint)16));
  for (int ridx11 = 0; ridx11 < 16; ridx11++) {
    int alu12 = ((int)((uint)alu9 + (uint)ridx11));
    float val14 = data1[alu12];
    float val16 = acc4[0];
    float alu17 = (val16 + val14);
    acc4[0] = alu17;
  }
  float val22 = acc4[0];
  data0[gidx2] = val22;
}
