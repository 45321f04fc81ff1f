#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
static inline float cg_b2f(ushort b) { return cg_u2f((uint)b << 16); }
static inline ushort cg_f2b(float f) {
  uint u = cg_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float cg_rb(float f) { return cg_b2f(cg_f2b(f)); }
__kernel void casts(__global int* data0, __global uchar* data1, __global char* data2, __global ulong* data3, __global uchar* data4, __global half* data5, __global ushort* data6, __global double* data7, __global long* data8, __global const float* data9) {
  int gidx10 = (int)get_group_id(0);
  float val12 = data9[gidx10];
  int cast13 = (val12 != val12 ? (int)0 : val12 <= -2147483648.0f ? (-2147483647-1) : val12 >= 2147483648.0f ? 2147483647 : (int)val12);
  data0[gidx10] = cast13;
  uchar cast16 = (val12 != val12 ? (uchar)0 : val12 <= -1.0f ? ((uchar)0) : val12 >= 256.0f ? ((uchar)255) : (uchar)val12);
  data1[gidx10] = cast16;
  char cast19 = (val12 != val12 ? (char)0 : val12 <= -128.0f ? ((char)-128) : val12 >= 128.0f ? ((char)127) : (char)val12);
  data2[gidx10] = cast19;
  ulong cast22 = (val12 != val12 ? (ulong)0 : val12 <= -1.0f ? 0UL : val12 >= 18446744073709551616.0f ? 18446744073709551615UL : (ulong)val12);
  data3[gidx10] = cast22;
  bool cast25 = (val12 != 0);
  data4[gidx10] = (uchar)(cast25);
  half cast28 = ((half)val12);
  data5[gidx10] = cast28;
  float cast31 = cg_rb((float)val12);
  data6[gidx10] = cg_f2b(cast31);
  double cast34 = ((double)val12);
  data7[gidx10] = cast34;
  long cast37 = (val12 != val12 ? (long)0 : val12 <= -9223372036854775808.0f ? (-9223372036854775807L-1) : val12 >= 9223372036854775808.0f ? 9223372036854775807L : (long)val12);
  data8[gidx10] = cast37;
}
