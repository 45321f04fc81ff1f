/* Conformance rules 1.x (packaging and exports), 2.x (ABI negotiation, calling
 * cg_plugin_entry directly with crafted queries) and 3.x (struct-size robustness:
 * smaller and larger structs in both directions, canary bytes after small structs). */
#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>

#include "conf_impl.h"

#define CANARY 0xA5

/* A struct buffer: `size` bytes of struct followed by canary bytes. */
typedef struct {
  _Alignas(16) unsigned char b[1024];
} sbuf;

static void sbuf_init(sbuf *s, uint32_t struct_size) {
  memset(s->b, CANARY, sizeof s->b);
  memset(s->b, 0, struct_size > sizeof s->b ? sizeof s->b : struct_size);
  memcpy(s->b, &struct_size, sizeof struct_size);
}

/* Index of the first byte at or after `from` that is not a canary, or -1. */
static long canary_hit(const sbuf *s, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (s->b[i] != CANARY) return (long)i;
  return -1;
}

/* ---- 1.x packaging ---- */

static void r_loads(conf *c, rres *r) {
  const cg_conf_plugin *m = &c->o->plugin;
  if (!m->manifest) return rfail(r, "no manifest with id '%s' on the search path", m->id);
  if (m->problem) return rfail(r, "%s (manifest %s)", m->problem, m->manifest);
  if (m->abi[0] != CG_PLUGIN_ABI_MAJOR)
    return rfail(r, "manifest says ABI %d.%d, host speaks ABI major %d", m->abi[0], m->abi[1], CG_PLUGIN_ABI_MAJOR);
  if (!c->p_ok) return rfail(r, "%s", c->p.why);
  rdetail(r, "%s loaded, version %s, %d device(s)", m->library, c->p.tbl.version ? c->p.tbl.version : "?", c->p.ndev);
}

static void r_manifest(conf *c, rres *r) {
  const cg_conf_plugin *m = &c->o->plugin;
  const pinst *p = &c->p;
  if (m->abi[0] != p->major || m->abi[1] != p->minor)
    rfail(r, "manifest says ABI %d.%d but the library answers %u.%u", m->abi[0], m->abi[1], p->major, p->minor);
  bool min_le_max = m->ir_min[0] < m->ir_max[0] || (m->ir_min[0] == m->ir_max[0] && m->ir_min[1] <= m->ir_max[1]);
  if (!min_le_max) rfail(r, "IR range %d.%d..%d.%d is empty", m->ir_min[0], m->ir_min[1], m->ir_max[0], m->ir_max[1]);
  if (m->ir_min[0] > CG_IR_VERSION_MAJOR || m->ir_max[0] < CG_IR_VERSION_MAJOR)
    rfail(r, "IR range %d.%d..%d.%d excludes IR major %d", m->ir_min[0], m->ir_min[1], m->ir_max[0], m->ir_max[1],
          CG_IR_VERSION_MAJOR);
  if (m->ir_max[0] == CG_IR_VERSION_MAJOR && m->ir_max[1] > CG_IR_VERSION_MINOR)
    rfail(r, "IR range ends at %d.%d, newer than this SDK's IR %d.%d", m->ir_max[0], m->ir_max[1],
          CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  if (!p->tbl.version || !p->tbl.version[0]) rfail(r, "the function table has no version string");
  rdetail(r, "id %s, ABI %u.%u, IR %d.%d..%d.%d", p->tbl.id, p->major, p->minor, m->ir_min[0], m->ir_min[1],
          m->ir_max[0], m->ir_max[1]);
}

/* Reads the whole file; NULL on failure. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *data = NULL;
  long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (len > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)len))) {
    if (fread(data, 1, (size_t)len, f) != (size_t)len) {
      free(data);
      data = NULL;
    }
    *n = (size_t)len;
  }
  fclose(f);
  return data;
}

/* Lists the defined, globally visible symbols of an ELF64 file's .dynsym other than
 * cg_plugin_entry into out. Returns their count, or -1 if the file is not ELF64. */
static int extra_exports(const unsigned char *d, size_t n, char *out, size_t outlen, int *entry_found) {
  const Elf64_Ehdr *eh = (const void *)d;
  out[0] = 0;
  if (n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64) return -1;
  if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > n)
    return -1;
  const Elf64_Shdr *sh = (const void *)(d + eh->e_shoff);
  int extra = 0;
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr *str = &sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > n || str->sh_offset + str->sh_size > n) return -1;
    const Elf64_Sym *sym = (const void *)(d + sh[i].sh_offset);
    size_t count = sh[i].sh_size / sizeof *sym;
    for (size_t k = 1; k < count; k++) {
      int bind = ELF64_ST_BIND(sym[k].st_info), type = ELF64_ST_TYPE(sym[k].st_info);
      if (sym[k].st_shndx == SHN_UNDEF || bind == STB_LOCAL || type == STT_SECTION || type == STT_FILE) continue;
      if (ELF64_ST_VISIBILITY(sym[k].st_other) != STV_DEFAULT && ELF64_ST_VISIBILITY(sym[k].st_other) != STV_PROTECTED)
        continue;
      if (sym[k].st_name >= str->sh_size) continue;
      const char *name = (const char *)d + str->sh_offset + sym[k].st_name;
      if (!strcmp(name, "cg_plugin_entry")) {
        *entry_found = 1;
        continue;
      }
      size_t used = strlen(out);
      if (used + 64 < outlen) snprintf(out + used, outlen - used, "%s%.60s", extra ? ", " : "", name);
      extra++;
    }
  }
  return extra;
}

static void r_exports(conf *c, rres *r) {
  size_t n = 0;
  unsigned char *d = slurp(c->o->plugin.library, &n);
  if (!d) return rfail(r, "cannot read %s", c->o->plugin.library);
  char names[512];
  int entry = 0, extra = extra_exports(d, n, names, sizeof names, &entry);
  free(d);
  if (extra < 0) return rskip(r, "not an ELF64 shared object: dynamic symbols not checked");
  if (!entry) rfail(r, "cg_plugin_entry is not in the dynamic symbol table");
  if (extra) rfail(r, "%d symbol(s) exported besides cg_plugin_entry: %s (link with the SDK's version script)", extra, names);
  rdetail(r, "dynamic symbol table exports only cg_plugin_entry");
}

/* Internal names a plugin typically links in (SDK helpers) must not be visible. */
static void r_hidden(conf *c, rres *r) {
  static const char *const names[] = {"cg_irb_new", "cg_ir_verify", "cg_ir_print", "cg_ir_parse",
                                      "cg_cstyle_render", "cg_cstyle_c", "cg_hash64", "cg_ir_op_name"};
  int found = 0;
  char list[256] = "";
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    dlerror();
    if (dlsym(c->p.dl, names[i])) {
      size_t used = strlen(list);
      snprintf(list + used, sizeof list - used, "%s%s", found++ ? ", " : "", names[i]);
    }
  }
  if (found) rfail(r, "internal SDK symbols visible through dlsym: %s (build with hidden visibility)", list);
  rdetail(r, "%zu SDK-internal names checked with dlsym", sizeof names / sizeof *names);
}

/* ---- 2.x negotiation ---- */

/* Calls the entry point with a query (host services standard) into a full reply. */
static cg_pstatus call_entry(conf *c, uint16_t major, uint16_t minor, uint16_t min_minor, cg_plugin_reply *rep) {
  cg_plugin_query q = conf_query();
  q.host_major = major, q.host_minor = minor, q.host_min_minor = min_minor;
  *rep = (cg_plugin_reply){sizeof *rep, 0, 0, NULL};
  conf_msg_clear();
  return c->p.entry(&q, rep);
}

/* Checks an OK answer is the plugin's real version and table. */
static void same_answer(conf *c, rres *r, const char *what, cg_pstatus ps, const cg_plugin_reply *rep) {
  if (ps != CG_P_OK) return rfail(r, "%s: returned %s (%s)", what, conf_pstatus_name(ps), conf_msg_or("no message"));
  if (rep->major != c->p.major || rep->minor != c->p.minor)
    return rfail(r, "%s: answered %u.%u, the plugin's version is %u.%u", what, rep->major, rep->minor, c->p.major,
                 c->p.minor);
  if (rep->api != c->p.api) rfail(r, "%s: returned a different function table", what);
}

static void r_current(conf *c, rres *r) {
  cg_plugin_reply rep;
  cg_pstatus ps = call_entry(c, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, &rep);
  same_answer(c, r, "current version (second call)", ps, &rep);
  if (c->p.major != CG_PLUGIN_ABI_MAJOR) rfail(r, "plugin speaks major %u", c->p.major);
  size_t want = conf_table_size(c->p.minor);
  if (c->p.api->struct_size < want)
    rfail(r, "function table is %u bytes; ABI %u.%u defines %zu", c->p.api->struct_size, c->p.major, c->p.minor, want);
  rdetail(r, "plugin ABI %u.%u, table %u bytes", c->p.major, c->p.minor, c->p.api->struct_size);
}

static void r_newer_host(conf *c, rres *r) {
  cg_plugin_reply rep;
  cg_pstatus ps = call_entry(c, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR + 3, 0, &rep);
  same_answer(c, r, "host minor +3", ps, &rep);
  ps = call_entry(c, CG_PLUGIN_ABI_MAJOR, 0xffff, 0, &rep);
  same_answer(c, r, "host minor 65535", ps, &rep);
}

static void r_older_host(conf *c, rres *r) {
  cg_plugin_reply rep;
  cg_pstatus ps = call_entry(c, CG_PLUGIN_ABI_MAJOR, 0, 0, &rep);
  same_answer(c, r, "host minor 0", ps, &rep);
}

/* A host whose oldest driven minor is above the plugin's: refusing is fine, lying is not. */
static void r_min_minor(conf *c, rres *r) {
  cg_plugin_reply rep;
  uint16_t mm = (uint16_t)(c->p.minor + 1);
  cg_pstatus ps = call_entry(c, CG_PLUGIN_ABI_MAJOR, (uint16_t)(mm + 2), mm, &rep);
  if (ps == CG_P_OK && (rep.major != c->p.major || rep.minor != c->p.minor))
    rfail(r, "host needs minor >= %u: plugin answered %u.%u instead of its real %u.%u", mm, rep.major, rep.minor,
          c->p.major, c->p.minor);
  else if (ps != CG_P_OK && ps != CG_P_ERR_VERSION)
    rfail(r, "host needs minor >= %u: returned %s, expected CG_P_OK (host decides) or CG_P_ERR_VERSION", mm,
          conf_pstatus_name(ps));
  rdetail(r, "answer %s", ps == CG_P_OK ? "OK with its real version" : "CG_P_ERR_VERSION");
}

static void r_other_major(conf *c, rres *r) {
  static const uint16_t majors[] = {0, CG_PLUGIN_ABI_MAJOR + 1, 0xffff};
  for (size_t i = 0; i < sizeof majors / sizeof *majors; i++) {
    cg_plugin_reply rep;
    cg_pstatus ps = call_entry(c, majors[i], 0, 0, &rep);
    if (ps != CG_P_ERR_VERSION)
      rfail(r, "host major %u: returned %s, must be CG_P_ERR_VERSION", majors[i], conf_pstatus_name(ps));
    else if (rep.major != 0 && rep.major != c->p.major)
      rfail(r, "host major %u: reply says major %u, the plugin's is %u", majors[i], rep.major, c->p.major);
  }
}

/* ---- 3.x struct sizes ---- */

/* Reply smaller than 1.0 (4 and 8 bytes): nothing written past struct_size. */
static void r_small_reply(conf *c, rres *r) {
  static const uint32_t sizes[] = {sizeof(uint32_t), offsetof(cg_plugin_reply, api)};
  for (size_t i = 0; i < 2; i++) {
    sbuf s;
    sbuf_init(&s, sizes[i]);
    cg_plugin_query q = conf_query();
    conf_msg_clear();
    cg_pstatus ps = c->p.entry(&q, (cg_plugin_reply *)s.b);
    long hit = canary_hit(&s, sizes[i], sizeof s.b);
    uint32_t after;
    memcpy(&after, s.b, sizeof after);
    if (hit >= 0) rfail(r, "reply struct_size %u: the plugin wrote byte %ld past it", sizes[i], hit);
    else if (after != sizes[i]) rfail(r, "reply struct_size %u: the plugin changed struct_size to %u", sizes[i], after);
    else if (ps != CG_P_OK && ps != CG_P_ERR_INVALID)
      rfail(r, "reply struct_size %u: returned %s (expected OK or CG_P_ERR_INVALID)", sizes[i], conf_pstatus_name(ps));
  }
  rdetail(r, "replies of 4 and %zu bytes, 1 KiB of canaries after each", offsetof(cg_plugin_reply, api));
}

/* Query, reply and host services larger than 1.0: tails ignored, nothing written past. */
static void r_large(conf *c, rres *r) {
  static struct {
    cg_host_services h;
    unsigned char tail[64];
  } big_host; /* static: plugins keep the pointer until the next negotiation */
  big_host.h = conf_host;
  big_host.h.struct_size = sizeof big_host;
  memset(big_host.tail, 0x5A, sizeof big_host.tail);
  sbuf qb, rb;
  uint32_t qsize = sizeof(cg_plugin_query) + 64, rsize = sizeof(cg_plugin_reply) + 64;
  sbuf_init(&qb, qsize);
  memset(qb.b + sizeof(cg_plugin_query), 0x5A, 64); /* junk a newer host might send */
  cg_plugin_query q = conf_query();
  q.struct_size = qsize;
  q.host = &big_host.h;
  memcpy(qb.b, &q, sizeof q);
  sbuf_init(&rb, rsize);
  conf_msg_clear();
  cg_pstatus ps = c->p.entry((const cg_plugin_query *)qb.b, (cg_plugin_reply *)rb.b);
  cg_plugin_reply rep;
  memcpy(&rep, rb.b, sizeof rep);
  same_answer(c, r, "query/reply/host services 64 bytes larger", ps, &rep);
  long hit = canary_hit(&rb, rsize, sizeof rb.b);
  if (hit >= 0) rfail(r, "larger reply (struct_size %u): the plugin wrote byte %ld past it", rsize, hit);
  if (rep.struct_size != rsize) rfail(r, "larger reply: struct_size changed from %u to %u", rsize, rep.struct_size);
  rdetail(r, "query %u, reply %u, host services %zu bytes", qsize, rsize, sizeof big_host);
}

/* Calls that read options and report errors: device queries and, with a device, a
 * kernel built and launched and a refused allocation. */
static void exercise(conf *c) {
  int n = 0;
  cg_device_props props = {.struct_size = sizeof props};
  c->p.tbl.device_count(c->p.ctx, &n);
  c->p.tbl.device_props(c->p.ctx, c->o->device, &props);
  if (!c->dev_ok) return;
  enum { N = 8 };
  float a[N] = {0}, out[N];
  hbuf bufs[2] = {{out, sizeof out}, {a, sizeof a}};
  char why[512];
  cg_ir_program *ir = conf_kernel_add1(N, "conf_spy");
  if (ir) conf_run(&c->p, ir, bufs, 2, NULL, why, sizeof why);
  free(ir);
  void *b = NULL;
  if (c->p.tbl.mem_alloc(c->p.dev, (size_t)1 << 62, &b) == CG_P_OK) c->p.tbl.mem_free(c->p.dev, b);
}

/* Query and host services smaller than 1.0: fields past struct_size must not be used.
 * The hidden fields point at spy services that count every call. */
static void r_small_query(conf *c, rres *r) {
  static cg_host_services small_host; /* static: plugins keep the pointer */
  small_host = conf_spy_host;
  small_host.log = conf_host.log, small_host.set_error = conf_host.set_error;
  small_host.struct_size = offsetof(cg_host_services, get_option); /* no get_option */
  cg_plugin_query q = conf_query();
  q.host = &small_host;
  cg_plugin_reply rep = {sizeof rep, 0, 0, NULL};
  conf_spy_calls = 0;
  cg_pstatus ps = c->p.entry(&q, &rep);
  same_answer(c, r, "host services without get_option", ps, &rep);
  if (ps == CG_P_OK) exercise(c); /* options are read while compiling and launching */
  if (conf_spy_calls) rfail(r, "host services struct_size %u excludes get_option, but the plugin called it", small_host.struct_size);
  /* a query that ends before the host field: treat host services as absent */
  sbuf qb;
  uint32_t qsize = offsetof(cg_plugin_query, host);
  sbuf_init(&qb, qsize);
  q = conf_query();
  q.struct_size = qsize;
  q.host = &conf_spy_host; /* past struct_size: must not be used */
  memcpy(qb.b, &q, sizeof q);
  rep = (cg_plugin_reply){sizeof rep, 0, 0, NULL};
  conf_spy_calls = 0;
  ps = c->p.entry((const cg_plugin_query *)qb.b, &rep);
  if (ps != CG_P_OK && ps != CG_P_ERR_INVALID)
    rfail(r, "query of %u bytes: returned %s (expected OK or CG_P_ERR_INVALID)", qsize, conf_pstatus_name(ps));
  c->p.tbl.device_props(c->p.ctx, -1, &(cg_device_props){.struct_size = sizeof(cg_device_props)});
  exercise(c);
  if (conf_spy_calls) rfail(r, "query struct_size %u excludes the host field, but the plugin used the services there", qsize);
  rdetail(r, "spy services past struct_size: %d call(s)", conf_spy_calls);
}

/* Device properties: 4 bytes, up to arch, and 64 bytes larger. */
static void r_props(conf *c, rres *r) {
  uint32_t sizes[] = {sizeof(uint32_t), offsetof(cg_device_props, dtypes), sizeof(cg_device_props) + 64};
  for (int i = 0; i < 3; i++) {
    sbuf s;
    sbuf_init(&s, sizes[i]);
    conf_msg_clear();
    cg_pstatus ps = c->p.tbl.device_props(c->p.ctx, c->o->device, (cg_device_props *)s.b);
    long hit = canary_hit(&s, sizes[i], sizeof s.b);
    uint32_t after;
    memcpy(&after, s.b, sizeof after);
    if (hit >= 0) rfail(r, "props struct_size %u: the plugin wrote byte %ld past it", sizes[i], hit);
    else if (after != sizes[i]) rfail(r, "props struct_size %u: struct_size changed to %u", sizes[i], after);
    else if (i > 0 && ps != CG_P_OK) rfail(r, "props struct_size %u: returned %s: %s", sizes[i], conf_pstatus_name(ps), conf_msg_or("no message"));
    if (i == 1 && ps == CG_P_OK) {
      const cg_device_props *p = (const void *)s.b;
      if (memcmp(p->name, c->p.props.name, sizeof p->name) || p->kind != c->p.props.kind)
        rfail(r, "props struct_size %u: name/kind differ from a full read", sizes[i]);
    }
    if (i == 2 && ps == CG_P_OK && memcmp(s.b + 4, (const char *)&c->p.props + 4, sizeof(cg_device_props) - 4))
      rfail(r, "larger props: fields differ from a full read");
  }
  rdetail(r, "props of 4, %zu and %zu bytes", offsetof(cg_device_props, dtypes), sizeof(cg_device_props) + 64);
}

/* Launch args without time_s (a newer field to an older host) and 64 bytes larger. */
static void r_launch_args(conf *c, rres *r) {
  enum { N = 64 };
  cg_ir_program *ir = conf_kernel_add1(N, "conf_launch_args");
  char why[1024];
  void *h = ir ? conf_build(&c->p, ir, why, sizeof why) : NULL;
  if (!h) {
    free(ir);
    return rfail(r, "cannot build the test kernel: %s", ir ? why : "out of memory");
  }
  const cg_plugin_api *a = &c->p.tbl;
  float in[N], out[N];
  for (int i = 0; i < N; i++) in[i] = (float)i * 0.5f;
  void *bufs[2] = {NULL, NULL};
  cg_pstatus ps = a->mem_alloc(c->p.dev, sizeof out, &bufs[0]);
  if (!ps) ps = a->mem_alloc(c->p.dev, sizeof in, &bufs[1]);
  if (!ps) ps = a->copy_in(c->p.dev, bufs[1], 0, in, sizeof in);
  uint32_t sizes[2] = {offsetof(cg_launch_args, time_s), sizeof(cg_launch_args) + 64};
  for (int k = 0; k < 2 && !ps; k++) {
    struct {
      cg_launch_args a;
      unsigned char tail[64];
    } la;
    memset(&la, 0x5A, sizeof la);
    double hidden = 12345.0; /* the time_s slot exists but lies past struct_size */
    la.a = (cg_launch_args){.struct_size = sizes[k], .nbufs = 2, .bufs = bufs, .buf_offsets = NULL, .nvars = 0,
                            .vars = NULL, .global = {N, 1, 1}, .local = {1, 1, 1}, .time_s = k == 0 ? &hidden : NULL};
    memset(out, 0, sizeof out);
    if (!ps) ps = a->copy_in(c->p.dev, bufs[0], 0, out, sizeof out);
    conf_msg_clear();
    if (!ps) ps = a->launch(c->p.dev, h, &la.a);
    if (!ps && a->synchronize) ps = a->synchronize(c->p.dev);
    if (!ps) ps = a->copy_out(c->p.dev, out, bufs[0], 0, sizeof out);
    if (ps) {
      rfail(r, "launch args struct_size %u: %s: %s", sizes[k], conf_pstatus_name(ps), conf_msg_or("no message"));
      break;
    }
    if (k == 0 && hidden != 12345.0) rfail(r, "launch args struct_size %u excludes time_s, but the plugin wrote it", sizes[k]);
    for (int i = 0; i < N; i++)
      if (out[i] != in[i] + 1.0f) {
        rfail(r, "launch args struct_size %u: out[%d] = %g, expected %g", sizes[k], i, (double)out[i], (double)(in[i] + 1));
        break;
      }
  }
  if (ps && r->st != R_FAIL) rfail(r, "buffers: %s: %s", conf_pstatus_name(ps), conf_msg_or("no message"));
  for (int k = 0; k < 2; k++)
    if (bufs[k]) a->mem_free(c->p.dev, bufs[k]);
  a->program_unload(c->p.dev, h);
  free(ir);
  rdetail(r, "launch args of %zu and %zu bytes", offsetof(cg_launch_args, time_s), sizeof(cg_launch_args) + 64);
}

const rule_def conf_abi_rules[] = {
    {"1.1", "the manifest is valid and the library loads, negotiates and initialises", NEED_NONE, r_loads},
    {"1.2", "manifest and library agree (id, ABI version, IR range, version string)", NEED_PLUGIN, r_manifest},
    {"1.3", "only cg_plugin_entry is exported (ELF dynamic symbol table)", NEED_PLUGIN, r_exports},
    {"1.4", "SDK-internal symbols are hidden (dlsym finds none)", NEED_PLUGIN, r_hidden},
    {"2.1", "current host version: same answer every call, complete table", NEED_PLUGIN, r_current},
    {"2.2", "newer host minor: accepted, the plugin answers its own minor", NEED_PLUGIN, r_newer_host},
    {"2.3", "older host minor (1.0): accepted with the same table", NEED_PLUGIN, r_older_host},
    {"2.4", "host's oldest minor above the plugin's: refuses or answers truthfully", NEED_PLUGIN, r_min_minor},
    {"2.5", "other majors (0, 2, 65535): CG_P_ERR_VERSION", NEED_PLUGIN, r_other_major},
    {"3.1", "smaller reply (4, 8 bytes): nothing written past struct_size", NEED_PLUGIN, r_small_reply},
    {"3.2", "larger query, reply and host services: tails ignored, nothing written past", NEED_PLUGIN, r_large},
    {"3.3", "smaller query and host services: fields past struct_size unused", NEED_PLUGIN, r_small_query},
    {"3.4", "device props of 4 bytes, up to arch, and larger: nothing written past", NEED_PLUGIN | NEED_DEVICE, r_props},
    {"3.5", "launch args without time_s and larger: correct, time_s untouched", NEED_PLUGIN | NEED_DEVICE, r_launch_args},
    {NULL, NULL, 0, NULL},
};
