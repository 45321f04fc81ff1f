#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void local_mem(__global float* data0, __global const float* data1) {
  __local float smem2[4];
  int gidx3 = (int)get_group_id(0);
  int lidx4 = (int)get_local_id(0);
  float val7 = data1[gidx3];
  float alu8 = (val7 * 2.0f);
  smem2[lidx4] = alu8;
  barrier(CLK_LOCAL_MEM_FENCE);
  float val13 = smem2[lidx4];
  data0[gidx3] = val13;
}
