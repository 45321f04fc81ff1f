#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__kernel void binop(__global double* data0, __global const double* data1, __global const double* data2) {
  int gidx3 = (int)get_group_id(0);
  double val5 = data1[gidx3];
  double val7 = data2[gidx3];
  double alu8 = (val5 / val7);
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = alu8;
  double alu13 = ((val5 < val7 || val7 != val7) ? val7 : val5);
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = alu13;
  double alu18 = pow(val5, val7);
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = alu18;
  double alu23 = (val5 * val7 + val5);
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = alu23;
}
