/* cgrad plugin conformance suite: the interface between the `cgrad conformance` command
 * (tools/cgrad.c, which finds the plugin's manifest through the core's loader) and the
 * suite (sdk/conformance/, which loads the plugin itself and runs the numbered rules).
 * The rules and the YAML report are described in docs/plugin-guide.md. */
#ifndef CG_CONFORMANCE_H
#define CG_CONFORMANCE_H

#include <stdio.h>

#define CG_CONF_SUITE_VERSION "1.0"

/* What the host's loader knows about one plugin (from its manifest). */
typedef struct {
  const char *id;             /* plugin id as asked */
  const char *manifest;       /* manifest path; NULL if no manifest has this id */
  const char *library;        /* library path resolved from the manifest; may be NULL */
  int abi[2];                 /* manifest ABI major.minor, abi[0] < 0 if unknown */
  int ir_min[2], ir_max[2];   /* manifest IR range */
  const char *problem;        /* why the manifest is unusable (malformed, duplicate, ...),
                                 NULL if it was read fine */
} cg_conf_plugin;

typedef struct {
  cg_conf_plugin plugin;      /* under test */
  cg_conf_plugin ref;         /* the reference ('ref'); library NULL = numerics SKIP */
  const char *cases_dir;      /* folder of the *.yaml case tables */
  const char *report;         /* YAML report path, NULL = none */
  const char *only;           /* comma list of rule ids or prefixes ("3,7.2"); NULL = all */
  const char *exclude;        /* comma list of rule ids or prefixes reported as SKIP */
  int device;                 /* index of the device under test */
  int verbose;                /* print every rule's detail */
  FILE *out;                  /* progress, failures and the summary line */
} cg_conf_options;

/* Runs the suite. Returns 0 if no rule failed, 1 if one did, 2 if it could not start
 * (bad options, unreadable cases, report not writable; the reason is printed). */
int cg_conformance_run(const cg_conf_options *o);

/* Prints the numbered rules, one per line (numerics rules come from cases_dir). */
void cg_conformance_list(FILE *f, const char *cases_dir);

#endif
