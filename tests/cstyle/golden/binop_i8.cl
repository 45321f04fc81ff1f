#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void binop(__global char* data0, __global const char* data1, __global const char* data2) {
  int gidx3 = (int)get_group_id(0);
  char val5 = data1[gidx3];
  char val7 = data2[gidx3];
  char alu8 = ((char)((uint)val5 + (uint)val7));
  int alu10 = ((int)((uint)0 + (uint)gidx3));
  data0[alu10] = alu8;
  char alu13 = ((char)((uint)val5 * (uint)val7));
  int alu15 = ((int)((uint)8 + (uint)gidx3));
  data0[alu15] = alu13;
  char alu18 = (val7 == 0 ? (char)0 : val7 == -1 ? (char)((uint)0 - (uint)val5) : (char)(val5 / val7));
  int alu20 = ((int)((uint)16 + (uint)gidx3));
  data0[alu20] = alu18;
  char alu23 = ((val7 == 0 || val7 == -1) ? (char)0 : (char)(val5 % val7));
  int alu25 = ((int)((uint)24 + (uint)gidx3));
  data0[alu25] = alu23;
  char alu28 = ((char)((uint)val5 << (val7 & 7)));
  int alu30 = ((int)((uint)32 + (uint)gidx3));
  data0[alu30] = alu28;
  char alu33 = ((char)(val5 >> (val7 & 7)));
  int alu35 = ((int)((uint)40 + (uint)gidx3));
  data0[alu35] = alu33;
  char alu38 = (val5 < val7 ? val7 : val5);
  int alu40 = ((int)((uint)48 + (uint)gidx3));
  data0[alu40] = alu38;
  bool alu43 = (val5 < val7);
  char cast44 = ((char)alu43);
  int alu46 = ((int)((uint)56 + (uint)gidx3));
  data0[alu46] = cast44;
}
