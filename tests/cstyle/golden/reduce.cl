#pragma OPENCL FP_CONTRACT OFF
#define cg_f2u(x) as_uint(x)
#define cg_u2f(x) as_float(x)
__kernel void r_sum(__global float* data0, __global const float* data1) {
  int gidx2 = (int)get_group_id(0);
  float acc4[1];
  acc4[0] = 0.0f;
  int alu9 = ((int)((uint)gidx2 * (uint)16));
  for (int ridx11 = 0; ridx11 < 16; ridx11++) {
    int alu12 = ((int)((uint)alu9 + (uint)ridx11));
    float val14 = data1[alu12];
    float val16 = acc4[0];
    float alu17 = (val16 + val14);
    acc4[0] = alu17;
  }
  float val22 = acc4[0];
  data0[gidx2] = val22;
}
