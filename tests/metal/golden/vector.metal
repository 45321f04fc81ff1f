#include <metal_stdlib>
using namespace metal;
#define cg_f2u(x) as_type<uint>(x)
#define cg_u2f(x) as_type<float>(x)
kernel void vec4(device float* data0 [[buffer(0)]], device int* data1 [[buffer(1)]], device float* data2 [[buffer(2)]], device const float* data3 [[buffer(3)]], device const float* data4 [[buffer(4)]], device const int* data5 [[buffer(5)]], uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]) {
  int gidx6 = (int)gid.x;
  int alu8 = ((int)((uint)gidx6 * (uint)4));
  float4 val10 = float4(data3[(alu8) + 0], data3[(alu8) + 1], data3[(alu8) + 2], data3[(alu8) + 3]);
  float4 val12 = float4(data4[(alu8) + 0], data4[(alu8) + 1], data4[(alu8) + 2], data4[(alu8) + 3]);
  float4 alu13 = float4((val10[0] * val12[0] + val10[0]), (val10[1] * val12[1] + val10[1]), (val10[2] * val12[2] + val10[2]), (val10[3] * val12[3] + val10[3]));
  float4 vec18 = float4(alu13[3], alu13[2], alu13[1], alu13[0]);
  { data0[(alu8) + 0] = vec18[0]; data0[(alu8) + 1] = vec18[1]; data0[(alu8) + 2] = vec18[2]; data0[(alu8) + 3] = vec18[3]; }
  int4 val22 = int4(data5[(alu8) + 0], data5[(alu8) + 1], data5[(alu8) + 2], data5[(alu8) + 3]);
  int4 vec24 = int4(3, 3, 3, 3);
  int4 alu25 = int4(((int)((uint)val22[0] - (uint)vec24[0])), ((int)((uint)val22[1] - (uint)vec24[1])), ((int)((uint)val22[2] - (uint)vec24[2])), ((int)((uint)val22[3] - (uint)vec24[3])));
  int4 alu26 = int4((alu25[0] == 0 ? (int)0 : alu25[0] == -1 ? (int)((uint)0 - (uint)val22[0]) : (int)(val22[0] / alu25[0])), (alu25[1] == 0 ? (int)0 : alu25[1] == -1 ? (int)((uint)0 - (uint)val22[1]) : (int)(val22[1] / alu25[1])), (alu25[2] == 0 ? (int)0 : alu25[2] == -1 ? (int)((uint)0 - (uint)val22[2]) : (int)(val22[2] / alu25[2])), (alu25[3] == 0 ? (int)0 : alu25[3] == -1 ? (int)((uint)0 - (uint)val22[3]) : (int)(val22[3] / alu25[3])));
  { data1[(alu8) + 0] = alu26[0]; data1[(alu8) + 1] = alu26[1]; data1[(alu8) + 2] = alu26[2]; data1[(alu8) + 3] = alu26[3]; }
  uchar4 alu29 = uchar4((uchar)(val10[0] < val12[0]), (uchar)(val10[1] < val12[1]), (uchar)(val10[2] < val12[2]), (uchar)(val10[3] < val12[3]));
  float4 alu30 = float4((alu29[0] ? val10[0] : val12[0]), (alu29[1] ? val10[1] : val12[1]), (alu29[2] ? val10[2] : val12[2]), (alu29[3] ? val10[3] : val12[3]));
  { data2[(alu8) + 0] = alu30[0]; data2[(alu8) + 1] = alu30[1]; data2[(alu8) + 2] = alu30[2]; data2[(alu8) + 3] = alu30[3]; }
}
