#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
__kernel void half_f16(__global half* data0, __global const half* data1, __global const half* data2) {
  int gidx3 = (int)get_group_id(0);
  half val5 = data1[gidx3];
  half val7 = data2[gidx3];
  half alu8 = (val5 + val7);
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = alu8;
  half alu13 = (val5 * val7);
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = alu13;
  half alu18 = (val5 / val7);
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = alu18;
  half alu23 = ((half)sqrt((float)val5));
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = alu23;
  half alu28 = (val5 * val7 + val5);
  int alu30 = ((int)((uint)32 + (uint)gidx3));
  data0[alu30] = alu28;
  half alu33 = ((val5 < val7 || val7 != val7) ? val7 : val5);
  int alu35 = ((int)((uint)40 + (uint)gidx3));
  data0[alu35] = alu33;
}
