#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void gated(__global float* data0, __global float* data1, __global const float* data2, const int var0) {
  int gidx3 = (int)get_group_id(0);
  bool alu5 = (gidx3 < var0);
  float val8 = alu5 ? data2[gidx3] : (-1.0f);
  data0[gidx3] = val8;
  int alu13 = ((int)(gidx3 % 2));
  bool alu14 = (alu13 == 0);
  float val16 = data2[gidx3];
  if (alu14) data1[gidx3] = val16;
}
