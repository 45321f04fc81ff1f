#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
__kernel void bitcast(__global uint* data0, __global float* data1, __global ushort* data2, __global const float* data3, __global const half* data4) {
  int gidx5 = (int)get_group_id(0);
  float val7 = data3[gidx5];
  half val9 = data4[gidx5];
  uint cast10 = as_uint(val7);
  data0[gidx5] = cast10;
  uint alu14 = ((uint)(cast10 ^ 2147483648u));
  float cast15 = as_float(alu14);
  data1[gidx5] = cast15;
  ushort cast18 = as_ushort(val9);
  data2[gidx5] = cast18;
}
