#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void vec4(__global float* data0, __global int* data1, __global float* data2, __global const float* data3, __global const float* data4, __global const int* data5) {
  int gidx6 = (int)get_group_id(0);
  int alu8 = ((int)((uint)gidx6 * (uint)4));
  float4 val10 = vload4(0, data3 + alu8);
  float4 val12 = vload4(0, data4 + alu8);
  float4 alu13 = (float4)((val10.s0 * val12.s0 + val10.s0), (val10.s1 * val12.s1 + val10.s1), (val10.s2 * val12.s2 + val10.s2), (val10.s3 * val12.s3 + val10.s3));
  float4 vec18 = (float4)(alu13.s3, alu13.s2, alu13.s1, alu13.s0);
  vstore4(vec18, 0, data0 + alu8);
  int4 val22 = vload4(0, data5 + alu8);
  int4 vec24 = (int4)(3, 3, 3, 3);
  int4 alu25 = (int4)(((int)((uint)val22.s0 - (uint)vec24.s0)), ((int)((uint)val22.s1 - (uint)vec24.s1)), ((int)((uint)val22.s2 - (uint)vec24.s2)), ((int)((uint)val22.s3 - (uint)vec24.s3)));
  int4 alu26 = (int4)((alu25.s0 == 0 ? (int)0 : alu25.s0 == -1 ? (int)((uint)0 - (uint)val22.s0) : (int)(val22.s0 / alu25.s0)), (alu25.s1 == 0 ? (int)0 : alu25.s1 == -1 ? (int)((uint)0 - (uint)val22.s1) : (int)(val22.s1 / alu25.s1)), (alu25.s2 == 0 ? (int)0 : alu25.s2 == -1 ? (int)((uint)0 - (uint)val22.s2) : (int)(val22.s2 / alu25.s2)), (alu25.s3 == 0 ? (int)0 : alu25.s3 == -1 ? (int)((uint)0 - (uint)val22.s3) : (int)(val22.s3 / alu25.s3)));
  vstore4(alu26, 0, data1 + alu8);
  uchar4 alu29 = (uchar4)((uchar)(val10.s0 < val12.s0), (uchar)(val10.s1 < val12.s1), (uchar)(val10.s2 < val12.s2), (uchar)(val10.s3 < val12.s3));
  float4 alu30 = (float4)((alu29.s0 ? val10.s0 : val12.s0), (alu29.s1 ? val10.s1 : val12.s1), (alu29.s2 ? val10.s2 : val12.s2), (alu29.s3 ? val10.s3 : val12.s3));
  vstore4(alu30, 0, data2 + alu8);
}
