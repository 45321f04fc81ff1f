#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void grid3(__global int* data0) {
  int gidx1 = (int)get_group_id(0);
  int gidx2 = (int)get_group_id(1);
  int gidx3 = (int)get_group_id(2);
  int alu6 = ((int)((uint)gidx3 * (uint)3));
  int alu7 = ((int)((uint)alu6 + (uint)gidx2));
  int alu8 = ((int)((uint)alu7 * (uint)2));
  int alu9 = ((int)((uint)alu8 + (uint)gidx1));
  int alu11 = ((int)((uint)gidx3 * (uint)10000));
  int alu13 = ((int)((uint)gidx2 * (uint)100));
  int alu14 = ((int)((uint)alu13 + (uint)alu11));
  int alu15 = ((int)((uint)gidx1 + (uint)alu14));
  data0[alu9] = alu15;
}
