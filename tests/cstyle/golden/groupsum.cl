#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void groupsum(__global float* data0, __global const float* data1) {
  __local float smem2[4];
  float acc3[1];
  int gidx4 = (int)get_group_id(0);
  int lidx5 = (int)get_local_id(0);
  int alu8 = ((int)((uint)gidx4 * (uint)4));
  int alu9 = ((int)((uint)alu8 + (uint)lidx5));
  float val11 = data1[alu9];
  smem2[lidx5] = val11;
  barrier(CLK_LOCAL_MEM_FENCE);
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
