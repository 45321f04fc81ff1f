/* Metal plugin: the entry point, the function table and devices.
 *
 * init opens libobjc and Metal.framework (runtime.c); where they are missing (Linux,
 * or macOS without a Metal GPU) init still succeeds, device_count answers 0 and
 * device_open/device_props answer CG_P_ERR_NODEV with "no Metal device: <why>".
 *
 * There is no compile slot: Metal compiles MSL source into a library at program_load
 * (the host then passes the rendered source as the blob). NOT RUN ON APPLE HARDWARE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metal_impl.h"

#define MT_PLUGIN_VERSION "0.1.0"

static cg_pstatus mt_init(void **ctx) {
  mt_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return cg_host_error(CG_P_ERR_NOMEM, "metal: out of memory");
  mt__load(pl);
  if (pl->ndev == 0) cg_host_log(CG_LOG_INFO, "metal: no Metal device: %s", pl->why);
  *ctx = pl;
  return CG_P_OK;
}

static void device_destroy(mt_device *d);

/* Releases devices and open device state; the libraries stay mapped (system frameworks
 * are never unloaded, and plugins are not unloaded either). */
static void mt_shutdown(void *ctx) {
  mt_plugin *pl = ctx;
  if (!pl) return;
  while (pl->open) device_destroy(pl->open);
  for (int i = 0; i < pl->ndev; i++) mt__release(&pl->rt, pl->devices[i]);
  free(pl->devices);
  free(pl);
}

static cg_pstatus mt_device_count(void *ctx, int *count) {
  mt_plugin *pl = ctx;
  *count = pl ? pl->ndev : 0;
  return CG_P_OK;
}

static cg_pstatus check_index(mt_plugin *pl, int index) {
  if (pl->ndev == 0) return cg_host_error(CG_P_ERR_NODEV, "metal: no Metal device: %s", pl->why);
  if (index < 0 || index >= pl->ndev)
    return cg_host_error(CG_P_ERR_NODEV, "metal: device %d does not exist (%d found)", index, pl->ndev);
  return CG_P_OK;
}

/* MTLSize-returning getter: objc_msgSend_stret on x86_64, objc_msgSend on arm64. */
static mt_size size_getter(mt_runtime *rt, mt_id o, mt_sel s) {
#if defined(__x86_64__)
  return ((mt_size(*)(mt_id, mt_sel))rt->msgSend_stret)(o, s);
#else
  return MT_SEND(rt, mt_size, (mt_id, mt_sel))(o, s);
#endif
}

static cg_pstatus mt_device_props(void *ctx, int index, cg_device_props *out) {
  mt_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  if (!out || out->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "metal: device_props: NULL or empty props struct");
  mt_runtime *rt = &pl->rt;
  mt_id dev = pl->devices[index];
  cg_device_props p;
  memset(&p, 0, sizeof p);
  p.struct_size = out->struct_size;
  p.kind = CG_DEVICE_GPU;
  void *pool = rt->poolPush();
  snprintf(p.name, sizeof p.name, "%s", mt__cstr(rt, MT_SEND(rt, mt_id, (mt_id, mt_sel))(dev, rt->sel.name)));
  rt->poolPop(pool);
  snprintf(p.arch, sizeof p.arch, "metal:%.57s", p.name); /* no arch query in Metal: the GPU name */
  for (char *c = p.arch; *c; c++)
    if (*c == ' ') *c = '_';
  p.dtypes = ((1u << CG_IR_VOID) - 1) & ~(1u << CG_IR_FLOAT64); /* no double in Metal */
  p.native_ops = mt__native_ops();
  mt_size m = size_getter(rt, dev, rt->sel.maxThreadsPerThreadgroup);
  p.max_local[0] = (uint32_t)m.width;
  p.max_local[1] = (uint32_t)m.height;
  p.max_local[2] = (uint32_t)m.depth;
  p.max_local_size = (uint32_t)m.width; /* the total limit equals the x limit (1024) */
  p.local_mem_bytes = (uint32_t)MT_SEND(rt, mt_uint, (mt_id, mt_sel))(dev, rt->sel.maxThreadgroupMemoryLength);
  p.warp_size = 32; /* SIMD-group width of Apple GPUs */
  p.global_mem_bytes = MT_SEND(rt, uint64_t, (mt_id, mt_sel))(dev, rt->sel.recommendedMaxWorkingSetSize);
  size_t n = out->struct_size < sizeof p ? out->struct_size : sizeof p;
  memcpy(out, &p, n);
  return CG_P_OK;
}

static void device_destroy(mt_device *d) {
  for (mt_device **p = &d->pl->open; *p; p = &(*p)->next)
    if (*p == d) {
      *p = d->next;
      break;
    }
  mt__wait(d);
  mt__release(&d->pl->rt, d->queue);
  free(d);
}

static cg_pstatus mt_device_open(void *ctx, int index, void **out) {
  mt_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  mt_device *d = calloc(1, sizeof *d);
  if (!d) return cg_host_error(CG_P_ERR_NOMEM, "metal: out of memory");
  d->pl = pl;
  d->dev = pl->devices[index];
  d->queue = MT_SEND(&pl->rt, mt_id, (mt_id, mt_sel))(d->dev, pl->rt.sel.newCommandQueue);
  if (!d->queue) {
    free(d);
    return cg_host_error(CG_P_ERR_NODEV, "metal: newCommandQueue failed on device %d", index);
  }
  d->next = pl->open;
  pl->open = d;
  *out = d;
  return CG_P_OK;
}

static void mt_device_close(void *dev) {
  if (dev) device_destroy(dev);
}

static void mt_release_mem(void *ptr) { free(ptr); }

static const cg_plugin_api mt_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "metal",
    .version = MT_PLUGIN_VERSION,
    .init = mt_init,
    .shutdown = mt_shutdown,
    .device_count = mt_device_count,
    .device_props = mt_device_props,
    .device_open = mt_device_open,
    .device_close = mt_device_close,
    .mem_alloc = mt__mem_alloc,
    .mem_free = mt__mem_free,
    .copy_in = mt__copy_in,
    .copy_out = mt__copy_out,
    .copy_d2d = mt__copy_d2d,
    .render = mt__render,
    .compile = NULL, /* Metal compiles the source at program_load */
    .program_load = mt__program_load,
    .program_unload = mt__program_unload,
    .launch = mt__launch,
    .synchronize = mt__synchronize,
    .release = mt_release_mem,
    .compiler_id = NULL,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &mt_api);
}
