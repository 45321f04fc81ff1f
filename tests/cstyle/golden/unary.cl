#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void unary_f32(__global float* data0, __global const float* data1) {
  int gidx2 = (int)get_group_id(0);
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
