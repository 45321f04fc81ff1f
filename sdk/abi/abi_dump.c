/* ABI dump and check of the plugin boundary: prints the size, alignment and every field
 * offset/size of each struct that crosses the plugin boundary (plugin.h, ir.h), and the
 * value of every ABI constant (versions, status codes, IR op and type numbers), one fact
 * per line. The committed dump (sdk/abi/abi-v1.txt, LP64 Linux) is compared with a fresh
 * one in CTest, so an accidental layout change fails CI.
 *   cgrad-abi-dump                 print the dump
 *   cgrad-abi-dump --check FILE    compare with FILE; exit 0 if identical, else print
 *                                  each difference, say whether it is compatible
 *                                  (only additions / growing structs) and exit 1
 * Regenerate after an intended, append-only change:
 *   build/tests/sdk/cgrad-abi-dump > sdk/abi/abi-v1.txt */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/plugin.h>

/* The dump is built in memory as lines, so --check can compare it. */
static char **lines;
static size_t nlines;

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char **n = realloc(lines, sizeof *lines * (nlines + 1));
  char *s = malloc(strlen(buf) + 1);
  if (!n || !s) {
    fprintf(stderr, "cgrad-abi-dump: out of memory\n");
    exit(2);
  }
  lines = n;
  lines[nlines++] = strcpy(s, buf);
}

#define STRUCT(T) add("struct %s size %zu align %zu", #T, sizeof(T), _Alignof(T))
#define FIELD(T, f) add("field %s.%s offset %zu size %zu", #T, #f, offsetof(T, f), sizeof(((T *)0)->f))
#define CONST(v) add("const %s %lld", #v, (long long)(v))

static void dump_plugin_structs(void) {
  STRUCT(cg_host_services);
  FIELD(cg_host_services, struct_size);
  FIELD(cg_host_services, host_ctx);
  FIELD(cg_host_services, log);
  FIELD(cg_host_services, set_error);
  FIELD(cg_host_services, get_option);
  STRUCT(cg_plugin_query);
  FIELD(cg_plugin_query, struct_size);
  FIELD(cg_plugin_query, host_major);
  FIELD(cg_plugin_query, host_minor);
  FIELD(cg_plugin_query, host_min_minor);
  FIELD(cg_plugin_query, pad);
  FIELD(cg_plugin_query, host);
  STRUCT(cg_plugin_reply);
  FIELD(cg_plugin_reply, struct_size);
  FIELD(cg_plugin_reply, major);
  FIELD(cg_plugin_reply, minor);
  FIELD(cg_plugin_reply, api);
  STRUCT(cg_device_props);
  FIELD(cg_device_props, struct_size);
  FIELD(cg_device_props, kind);
  FIELD(cg_device_props, name);
  FIELD(cg_device_props, arch);
  FIELD(cg_device_props, dtypes);
  FIELD(cg_device_props, pad0);
  FIELD(cg_device_props, native_ops);
  FIELD(cg_device_props, max_local_size);
  FIELD(cg_device_props, max_local);
  FIELD(cg_device_props, local_mem_bytes);
  FIELD(cg_device_props, compute_units);
  FIELD(cg_device_props, warp_size);
  FIELD(cg_device_props, n_tc_shapes);
  FIELD(cg_device_props, tc_shapes);
  FIELD(cg_device_props, global_mem_bytes);
  STRUCT(cg_launch_args);
  FIELD(cg_launch_args, struct_size);
  FIELD(cg_launch_args, nbufs);
  FIELD(cg_launch_args, bufs);
  FIELD(cg_launch_args, buf_offsets);
  FIELD(cg_launch_args, nvars);
  FIELD(cg_launch_args, pad);
  FIELD(cg_launch_args, vars);
  FIELD(cg_launch_args, global);
  FIELD(cg_launch_args, local);
  FIELD(cg_launch_args, time_s);
}

static void dump_api(void) {
  STRUCT(cg_plugin_api);
  FIELD(cg_plugin_api, struct_size);
  FIELD(cg_plugin_api, pad);
  FIELD(cg_plugin_api, id);
  FIELD(cg_plugin_api, version);
  FIELD(cg_plugin_api, init);
  FIELD(cg_plugin_api, shutdown);
  FIELD(cg_plugin_api, device_count);
  FIELD(cg_plugin_api, device_props);
  FIELD(cg_plugin_api, device_open);
  FIELD(cg_plugin_api, device_close);
  FIELD(cg_plugin_api, mem_alloc);
  FIELD(cg_plugin_api, mem_free);
  FIELD(cg_plugin_api, copy_in);
  FIELD(cg_plugin_api, copy_out);
  FIELD(cg_plugin_api, copy_d2d);
  FIELD(cg_plugin_api, render);
  FIELD(cg_plugin_api, compile);
  FIELD(cg_plugin_api, program_load);
  FIELD(cg_plugin_api, program_unload);
  FIELD(cg_plugin_api, launch);
  FIELD(cg_plugin_api, synchronize);
  FIELD(cg_plugin_api, release);
  FIELD(cg_plugin_api, compiler_id);
  FIELD(cg_plugin_api, graph_create);
  FIELD(cg_plugin_api, graph_launch);
  FIELD(cg_plugin_api, graph_free);
  FIELD(cg_plugin_api, caps);
}

static void dump_ir_structs(void) {
  STRUCT(cg_ir_type);
  FIELD(cg_ir_type, scalar);
  FIELD(cg_ir_type, vec);
  FIELD(cg_ir_type, space);
  FIELD(cg_ir_type, pad);
  STRUCT(cg_ir_inst);
  FIELD(cg_ir_inst, op);
  FIELD(cg_ir_inst, nsrc);
  FIELD(cg_ir_inst, type);
  FIELD(cg_ir_inst, src_start);
  FIELD(cg_ir_inst, pad);
  FIELD(cg_ir_inst, arg);
  STRUCT(cg_ir_param);
  FIELD(cg_ir_param, scalar);
  FIELD(cg_ir_param, flags);
  FIELD(cg_ir_param, pad);
  FIELD(cg_ir_param, pad2);
  FIELD(cg_ir_param, count);
  STRUCT(cg_ir_var);
  FIELD(cg_ir_var, name);
  FIELD(cg_ir_var, min);
  FIELD(cg_ir_var, max);
  STRUCT(cg_ir_program);
  FIELD(cg_ir_program, magic);
  FIELD(cg_ir_program, version_major);
  FIELD(cg_ir_program, version_minor);
  FIELD(cg_ir_program, total_size);
  FIELD(cg_ir_program, nparams);
  FIELD(cg_ir_program, params_off);
  FIELD(cg_ir_program, nvars);
  FIELD(cg_ir_program, vars_off);
  FIELD(cg_ir_program, ninsts);
  FIELD(cg_ir_program, insts_off);
  FIELD(cg_ir_program, nsrcs);
  FIELD(cg_ir_program, srcs_off);
  FIELD(cg_ir_program, global);
  FIELD(cg_ir_program, local);
  FIELD(cg_ir_program, pad);
  FIELD(cg_ir_program, flops);
  FIELD(cg_ir_program, bytes);
  FIELD(cg_ir_program, name);
}

static void dump_constants(void) {
  CONST(CG_PLUGIN_ABI_MAJOR);
  CONST(CG_PLUGIN_ABI_MINOR);
  CONST(CG_IR_MAGIC);
  CONST(CG_IR_VERSION_MAJOR);
  CONST(CG_IR_VERSION_MINOR);
#define PS(n, v, m) CONST(CG_P_##n);
  CG_PSTATUS(PS)
#undef PS
  CONST(CG_LOG_ERROR);
  CONST(CG_LOG_WARN);
  CONST(CG_LOG_INFO);
  CONST(CG_LOG_DEBUG);
  CONST(CG_DEVICE_CPU);
  CONST(CG_DEVICE_GPU);
  CONST(CG_DEVICE_ACCEL);
  CONST(CG_API_CAP_CONCURRENT_COMPILE);
#define OP(name, n, doc) CONST(CG_IR_##name);
  CG_IR_OPS(OP)
#undef OP
  CONST(CG_IR_OP_COUNT);
  CONST(CG_IR_BOOL);
  CONST(CG_IR_INT8);
  CONST(CG_IR_INT16);
  CONST(CG_IR_INT32);
  CONST(CG_IR_INT64);
  CONST(CG_IR_UINT8);
  CONST(CG_IR_UINT16);
  CONST(CG_IR_UINT32);
  CONST(CG_IR_UINT64);
  CONST(CG_IR_FLOAT16);
  CONST(CG_IR_BFLOAT16);
  CONST(CG_IR_FLOAT32);
  CONST(CG_IR_FLOAT64);
  CONST(CG_IR_VOID);
  CONST(CG_IR_AS_NONE);
  CONST(CG_IR_AS_GLOBAL);
  CONST(CG_IR_AS_LOCAL);
  CONST(CG_IR_AS_REG);
  CONST(CG_IR_SPECIAL_GROUP);
  CONST(CG_IR_SPECIAL_LOCAL);
  CONST(CG_IR_PARAM_READ);
  CONST(CG_IR_PARAM_WRITE);
}

/* Index of line s in a[0..n), or -1. */
static long find(char **a, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(a[i], s)) return (long)i;
  return -1;
}

/* A struct line of the same struct with a larger size counts as compatible growth. */
static int grew(const char *old) {
  char name[128];
  size_t osz, oal;
  if (sscanf(old, "struct %127s size %zu align %zu", name, &osz, &oal) != 3) return 0;
  for (size_t i = 0; i < nlines; i++) {
    char n2[128];
    size_t sz, al;
    if (sscanf(lines[i], "struct %127s size %zu align %zu", n2, &sz, &al) == 3 && !strcmp(n2, name))
      return sz > osz && al == oal;
  }
  return 0;
}

static int check(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cgrad-abi-dump: cannot open %s\n", path);
    return 2;
  }
  char **old = NULL, buf[256];
  size_t nold = 0;
  while (fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\n")] = 0;
    if (!buf[0] || buf[0] == '#') continue;
    char **n = realloc(old, sizeof *old * (nold + 1));
    char *s = malloc(strlen(buf) + 1);
    if (!n || !s) {
      fprintf(stderr, "cgrad-abi-dump: out of memory\n");
      exit(2);
    }
    old = n;
    old[nold++] = strcpy(s, buf);
  }
  fclose(f);
  int breaking = 0, additions = 0;
  for (size_t i = 0; i < nold; i++) {
    if (find(lines, nlines, old[i]) >= 0) continue;
    if (grew(old[i])) {
      printf("grown:   %s\n", old[i]);
      additions++;
    } else if (strstr(old[i], "const CG_PLUGIN_ABI_MINOR") || strstr(old[i], "const CG_IR_VERSION_MINOR") ||
               strstr(old[i], "const CG_IR_OP_COUNT")) {
      printf("bumped:  %s\n", old[i]);
      additions++;
    } else {
      printf("BROKEN:  %s (changed or removed)\n", old[i]);
      breaking++;
    }
  }
  for (size_t i = 0; i < nlines; i++)
    if (find(old, nold, lines[i]) < 0) {
      printf("added:   %s\n", lines[i]);
      additions++;
    }
  for (size_t i = 0; i < nold; i++) free(old[i]);
  free(old);
  if (breaking) {
    printf("ABI check FAILED: %d incompatible change(s) against %s. Fields, offsets and\n"
           "constants of ABI v1 never change; new fields and slots are appended.\n", breaking, path);
    return 1;
  }
  if (additions) {
    printf("ABI check FAILED: %d compatible addition(s) not recorded in %s. If intended,\n"
           "bump CG_PLUGIN_ABI_MINOR / CG_IR_VERSION_MINOR as needed and regenerate the file\n"
           "with cgrad-abi-dump > %s\n", additions, path, path);
    return 1;
  }
  printf("ABI check passed: %zu facts match %s\n", nlines, path);
  return 0;
}

int main(int argc, char **argv) {
  dump_plugin_structs();
  dump_api();
  dump_ir_structs();
  dump_constants();
  int rc = 0;
  if (argc == 3 && !strcmp(argv[1], "--check")) {
    rc = check(argv[2]);
  } else if (argc == 1) {
    printf("# cgrad plugin ABI v1 layout (LP64 Linux), generated by sdk/abi/abi_dump.c.\n"
           "# Checked in CTest (sdk_abi); see the file's comment before editing.\n");
    for (size_t i = 0; i < nlines; i++) printf("%s\n", lines[i]);
  } else {
    fprintf(stderr, "usage: cgrad-abi-dump [--check FILE]\n");
    rc = 2;
  }
  for (size_t i = 0; i < nlines; i++) free(lines[i]);
  free(lines);
  return rc;
}
