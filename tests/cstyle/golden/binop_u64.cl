#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void binop(__global ulong* data0, __global const ulong* data1, __global const ulong* data2) {
  int gidx3 = (int)get_group_id(0);
  ulong val5 = data1[gidx3];
  ulong val7 = data2[gidx3];
  ulong alu8 = (val5 + val7);
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = alu8;
  ulong alu13 = (val5 * val7);
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = alu13;
  ulong alu18 = (val7 == 0 ? (ulong)0 : (ulong)(val5 / val7));
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = alu18;
  ulong alu23 = (val7 == 0 ? (ulong)0 : (ulong)(val5 % val7));
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = alu23;
  ulong alu28 = ((ulong)((ulong)val5 << (val7 & 63)));
  int alu30 = ((int)((uint)32 + (uint)gidx3));
  data0[alu30] = alu28;
  ulong alu33 = ((ulong)(val5 >> (val7 & 63)));
  int alu35 = ((int)((uint)40 + (uint)gidx3));
  data0[alu35] = alu33;
  ulong alu38 = (val5 < val7 ? val7 : val5);
  int alu40 = ((int)((uint)48 + (uint)gidx3));
  data0[alu40] = alu38;
  bool alu43 = (val5 < val7);
  ulong cast44 = ((ulong)alu43);
  int alu46 = ((int)((uint)56 + (uint)gidx3));
  data0[alu46] = cast44;
}
