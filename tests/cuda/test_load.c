/* cuda plugin: loads everywhere. Without a GPU (or driver) it must report 0 devices
 * and refuse device_open/device_props with CG_P_ERR_NODEV and a "no CUDA device"
 * message; with one, the properties must be sane (sm_XY arch, warp 32, SMs > 0). */
#include <string.h>

#include "harness.h"

static void check_no_device(th_plugin *t) {
  void *dev = NULL;
  cg_device_props p = {.struct_size = sizeof p};
  th_clear_error();
  CHECK(t->api->device_open(t->ctx, 0, &dev) == CG_P_ERR_NODEV, "device_open must fail with NODEV");
  CHECK(strstr(th_last_error(), "no CUDA device") != NULL, "message: '%s'", th_last_error());
  th_clear_error();
  CHECK(t->api->device_props(t->ctx, 0, &p) == CG_P_ERR_NODEV, "device_props must fail with NODEV");
  CHECK(strstr(th_last_error(), "no CUDA device") != NULL, "message: '%s'", th_last_error());
  printf("no CUDA device here, reported as: %s\n", th_last_error());
}

static void check_props(th_plugin *t) {
  cg_device_props p = {.struct_size = sizeof p};
  CHECK(t->api->device_props(t->ctx, 0, &p) == CG_P_OK, "device_props: %s", th_last_error());
  printf("device 0: %s, %s, %u SMs, %u threads/block, %u B shared, warp %u, %u TC shapes, "
         "%.1f GiB\n", p.name, p.arch, p.compute_units, p.max_local_size, p.local_mem_bytes,
         p.warp_size, p.n_tc_shapes, (double)p.global_mem_bytes / (1 << 30));
  CHECK(p.kind == CG_DEVICE_GPU, "kind");
  CHECK(strncmp(p.arch, "sm_", 3) == 0, "arch '%s'", p.arch);
  CHECK(p.warp_size == 32 && p.compute_units > 0 && p.max_local_size >= 256, "limits");
  CHECK(p.local_mem_bytes >= 16384, "shared memory");
  CHECK(p.dtypes & (1u << CG_IR_FLOAT16) && p.dtypes & (1u << CG_IR_BFLOAT16), "f16/bf16");
  CHECK(p.native_ops & (1ull << CG_IR_ADD), "native ops");
  /* A smaller struct_size must not be written past. */
  unsigned char small[16];
  memset(small, 0xAB, sizeof small);
  uint32_t sz = 8;
  memcpy(small, &sz, sizeof sz);
  CHECK(t->api->device_props(t->ctx, 0, (cg_device_props *)(void *)small) == CG_P_OK, "small props");
  CHECK(small[8] == 0xAB && small[15] == 0xAB, "wrote past struct_size");
  void *dev = NULL;
  CHECK(t->api->device_open(t->ctx, 999, &dev) == CG_P_ERR_NODEV, "device 999 must not open");
  CHECK(th_open(t) == 0, "device_open 0: %s", th_last_error());
  /* A second handle left open on purpose: shutdown must close it (ASan checks). */
  void *extra = NULL;
  CHECK(t->api->device_open(t->ctx, 0, &extra) == CG_P_OK, "second open: %s", th_last_error());
  if (t->dev) printf("compiler: %s\n", t->api->compiler_id(t->dev));
}

int main(int argc, char **argv) {
  th_plugin t;
  if (argc < 2 || th_load(&t, argv[1]) != 0) return 1;
  CHECK(strcmp(t.api->id, "cuda") == 0, "id '%s'", t.api->id);
  printf("cuda plugin %s: %d device(s)\n", t.api->version, t.ndev);
  if (t.ndev == 0) check_no_device(&t);
  else check_props(&t);
  th_unload(&t);
  if (th_failures) printf("%d check(s) failed\n", th_failures);
  return th_failures ? 1 : 0;
}
