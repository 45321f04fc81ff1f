#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void local_mem(device float* data0 [[buffer(0)]], device const float* data1 [[buffer(1)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  threadgroup float smem2[4];
  int gidx3 = (int)gid.x;
  int lidx4 = (int)lid.x;
  float val7 = data1[gidx3];
  float alu8 = (val7 * 2.0f);
  smem2[lidx4] = alu8;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float val13 = smem2[lidx4];
  data0[gidx3] = val13;
}
