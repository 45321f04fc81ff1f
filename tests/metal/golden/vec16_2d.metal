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
kernel void vec16_2d(device half* data0 [[buffer(0)]], device ushort* data1 [[buffer(1)]], device float* data2 [[buffer(2)]], device uchar* data3 [[buffer(3)]], device const half* data4 [[buffer(4)]], device const ushort* data5 [[buffer(5)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx6 = (int)gid.x;
  int lidx7 = (int)lid.x;
  int lidx8 = (int)lid.y;
  int alu10 = ((int)((uint)lidx8 * (uint)4));
  int alu11 = ((int)((uint)alu10 + (uint)lidx7));
  int alu13 = ((int)((uint)gidx6 * (uint)8));
  int alu14 = ((int)((uint)alu13 + (uint)alu11));
  int alu16 = ((int)((uint)alu14 * (uint)4));
  half4 val18 = half4(data4[(alu16) + 0], data4[(alu16) + 1], data4[(alu16) + 2], data4[(alu16) + 3]);
  float4 val20 = float4(cg_b2f(data5[(alu16) + 0]), cg_b2f(data5[(alu16) + 1]), cg_b2f(data5[(alu16) + 2]), cg_b2f(data5[(alu16) + 3]));
  half4 alu21 = half4((val18[0] * val18[0]), (val18[1] * val18[1]), (val18[2] * val18[2]), (val18[3] * val18[3]));
  { data0[(alu16) + 0] = alu21[0]; data0[(alu16) + 1] = alu21[1]; data0[(alu16) + 2] = alu21[2]; data0[(alu16) + 3] = alu21[3]; }
  float4 alu24 = float4(cg_rb((val20[0] + val20[0])), cg_rb((val20[1] + val20[1])), cg_rb((val20[2] + val20[2])), cg_rb((val20[3] + val20[3])));
  { data1[(alu16) + 0] = cg_f2b(alu24[0]); data1[(alu16) + 1] = cg_f2b(alu24[1]); data1[(alu16) + 2] = cg_f2b(alu24[2]); data1[(alu16) + 3] = cg_f2b(alu24[3]); }
  float4 cast27 = float4(((float)val18[0]), ((float)val18[1]), ((float)val18[2]), ((float)val18[3]));
  { data2[(alu16) + 0] = cast27[0]; data2[(alu16) + 1] = cast27[1]; data2[(alu16) + 2] = cast27[2]; data2[(alu16) + 3] = cast27[3]; }
  half4 cast30 = half4(((half)val20[0]), ((half)val20[1]), ((half)val20[2]), ((half)val20[3]));
  uchar4 alu31 = uchar4((uchar)(val18[0] < cast30[0]), (uchar)(val18[1] < cast30[1]), (uchar)(val18[2] < cast30[2]), (uchar)(val18[3] < cast30[3]));
  { data3[(alu16) + 0] = (uchar)(alu31[0]); data3[(alu16) + 1] = (uchar)(alu31[1]); data3[(alu16) + 2] = (uchar)(alu31[2]); data3[(alu16) + 3] = (uchar)(alu31[3]); }
}
