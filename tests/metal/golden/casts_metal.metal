#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
static inline float cg_b2f(ushort b) { return cg_u2f((uint)b << 16); }
static inline ushort cg_f2b(float f) {
  uint u = cg_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float cg_rb(float f) { return cg_b2f(cg_f2b(f)); }
kernel void casts_metal(device int* data0 [[buffer(0)]], device uchar* data1 [[buffer(1)]], device char* data2 [[buffer(2)]], device ulong* data3 [[buffer(3)]], device uchar* data4 [[buffer(4)]], device half* data5 [[buffer(5)]], device ushort* data6 [[buffer(6)]], device long* data7 [[buffer(7)]], device const float* data8 [[buffer(8)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx9 = (int)gid.x;
  float val11 = data8[gidx9];
  int cast12 = (val11 != val11 ? (int)0 : val11 <= -2147483648.0f ? (-2147483647-1) : val11 >= 2147483648.0f ? 2147483647 : (int)val11);
  data0[gidx9] = cast12;
  uchar cast15 = (val11 != val11 ? (uchar)0 : val11 <= -1.0f ? ((uchar)0) : val11 >= 256.0f ? ((uchar)255) : (uchar)val11);
  data1[gidx9] = cast15;
  char cast18 = (val11 != val11 ? (char)0 : val11 <= -128.0f ? ((char)-128) : val11 >= 128.0f ? ((char)127) : (char)val11);
  data2[gidx9] = cast18;
  ulong cast21 = (val11 != val11 ? (ulong)0 : val11 <= -1.0f ? 0UL : val11 >= 18446744073709551616.0f ? 18446744073709551615UL : (ulong)val11);
  data3[gidx9] = cast21;
  bool cast24 = (val11 != 0);
  data4[gidx9] = (uchar)(cast24);
  half cast27 = ((half)val11);
  data5[gidx9] = cast27;
  float cast30 = cg_rb((float)val11);
  data6[gidx9] = cg_f2b(cast30);
  long cast33 = (val11 != val11 ? (long)0 : val11 <= -9223372036854775808.0f ? (-9223372036854775807L-1) : val11 >= 9223372036854775808.0f ? 9223372036854775807L : (long)val11);
  data7[gidx9] = cast33;
}
