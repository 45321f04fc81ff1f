#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void groupsum(device float* data0 [[buffer(0)]], device const float* data1 [[buffer(1)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  threadgroup float smem2[4];
  float acc3[1];
  int gidx4 = (int)gid.x;
  int lidx5 = (int)lid.x;
  int alu8 = ((int)((uint)gidx4 * (uint)4));
  int alu9 = ((int)((uint)alu8 + (uint)lidx5));
  float val11 = data1[alu9];
  smem2[lidx5] = val11;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  bool alu15 = (lidx5 == 0);
  if (alu15) {
    acc3[0] = 0.0f;
    for (int ridx21 = 0; ridx21 < 4; ridx21++) {
      float val23 = smem2[ridx21];
      float val25 = acc3[0];
      float alu26 = (val25 + val23);
      acc3[0] = alu26;
    }
    float val31 = acc3[0];
    data0[gidx4] = val31;
  }
}
