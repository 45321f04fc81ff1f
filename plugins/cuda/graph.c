/* CUDA plugin: the graph slot (api->graph_create / graph_launch / graph_free), the
 * JIT's batched replay, on CUDA graphs through the driver API.
 *
 * graph_create records the n launches as a chain of kernel nodes (node i depends on
 * node i-1, so they run in order like launches on the device stream) and instantiates
 * it once. graph_launch patches, with cuGraphExecKernelNodeSetParams, only the nodes
 * whose buffers, offsets, variables or dims differ from what the node holds, then
 * submits the whole chain with one cuGraphLaunch on the device stream (ordered with the
 * device's copies and launches; returns before the work is done). A graph must be freed
 * before the programs it recorded are unloaded. */
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

static int graphs_available(const cu_driver *cu) {
  return cu->GraphCreate && cu->GraphDestroy && cu->GraphAddKernelNode && cu->GraphInstantiate &&
         cu->GraphExecKernelNodeSetParams && cu->GraphLaunch && cu->GraphExecDestroy;
}

/* Node argument storage for program p: current values (what the executable node
 * holds) and the recorded ones (graph_launch with args NULL goes back to them). */
static int node_alloc(cu_gnode *g, const cu_program *p) {
  size_t np = (size_t)p->nparams + 1, nv = (size_t)p->nvars + 1;
  g->prog = p;
  g->params = calloc(np + nv, sizeof(void *));
  g->ptrs = calloc(2 * np, sizeof(CUdeviceptr));
  g->vals = calloc(2 * nv, sizeof(int));
  if (!g->params || !g->ptrs || !g->vals) return -1;
  g->rec_ptrs = g->ptrs + np;
  g->rec_vals = g->vals + nv;
  for (uint32_t k = 0; k < p->nparams; k++) g->params[k] = &g->ptrs[k];
  for (uint32_t k = 0; k < p->nvars; k++) g->params[p->nparams + k] = &g->vals[k];
  memset(&g->kp, 0, sizeof g->kp);
  g->kp.func = p->fn;
  g->kp.sharedMemBytes = p->smem;
  g->kp.kernelParams = g->params;
  return 0;
}

static void node_free(cu_gnode *g) {
  free(g->params);
  free(g->ptrs);
  free(g->vals);
}

/* Argument values of launch i from a (validated against the node's program). */
static cg_pstatus launch_values(const cu_gnode *g, const cg_launch_args *a, uint32_t i, CUdeviceptr *ptrs,
                                int *vals, unsigned dims[6]) {
  const cu_program *p = g->prog;
  if (a->struct_size < offsetof(cg_launch_args, time_s))
    return cu__error(CG_P_ERR_INVALID, "cuda: graph launch %u: launch args struct too small", i);
  if (a->nbufs != p->nparams || a->nvars != p->nvars || (p->nparams && !a->bufs) ||
      (p->nvars && !a->vars))
    return cu__error(CG_P_ERR_INVALID,
                     "cuda: graph launch %u: kernel takes %u buffers and %u vars, got %u and %u", i,
                     p->nparams, p->nvars, a->nbufs, a->nvars);
  for (uint32_t k = 0; k < p->nparams; k++) {
    const cu_buffer *b = a->bufs[k];
    size_t off = a->buf_offsets ? a->buf_offsets[k] : 0;
    if (!b || off > b->size)
      return cu__error(CG_P_ERR_INVALID, "cuda: graph launch %u: buffer %u is NULL or offset too large",
                       i, k);
    ptrs[k] = b->ptr + off;
  }
  for (uint32_t k = 0; k < p->nvars; k++) vals[k] = (int)a->vars[k]; /* IR variables are int32 */
  for (int k = 0; k < 3; k++) {
    dims[k] = a->global[k] ? a->global[k] : 1;
    dims[3 + k] = a->local[k] ? a->local[k] : 1;
  }
  return CG_P_OK;
}

/* Make the node hold ptrs/vals/dims; returns 1 if anything changed. */
static int node_put(cu_gnode *g, const CUdeviceptr *ptrs, const int *vals, const unsigned dims[6]) {
  const cu_program *p = g->prog;
  CUDA_KERNEL_NODE_PARAMS *kp = &g->kp;
  unsigned old[6] = {kp->gridDimX, kp->gridDimY, kp->gridDimZ, kp->blockDimX, kp->blockDimY, kp->blockDimZ};
  int changed = memcmp(ptrs, g->ptrs, p->nparams * sizeof ptrs[0]) != 0 ||
                memcmp(vals, g->vals, p->nvars * sizeof vals[0]) != 0 || memcmp(dims, old, sizeof old) != 0;
  memmove(g->ptrs, ptrs, p->nparams * sizeof ptrs[0]);
  memmove(g->vals, vals, p->nvars * sizeof vals[0]);
  kp->gridDimX = dims[0], kp->gridDimY = dims[1], kp->gridDimZ = dims[2];
  kp->blockDimX = dims[3], kp->blockDimY = dims[4], kp->blockDimZ = dims[5];
  return changed;
}

void cu__graph_free(void *dev, void *graph) {
  cu_device *d = dev;
  cu_graph *g = graph;
  if (!g) return;
  cu_driver *cu = &d->pl->cu;
  if (cu->CtxSetCurrent(d->ctx) == CUDA_SUCCESS) {
    cu->StreamSynchronize(d->stream); /* a replay may still be running */
    if (g->exec) cu->GraphExecDestroy(g->exec);
    if (g->graph) cu->GraphDestroy(g->graph);
  }
  for (uint32_t i = 0; g->nodes && i < g->n; i++) node_free(&g->nodes[i]);
  free(g->nodes);
  free(g->tmp_ptrs);
  free(g->tmp_vals);
  free(g);
}

cg_pstatus cu__graph_create(void *dev, uint32_t n, void *const *handles, const cg_launch_args *args,
                            void **out) {
  cu_device *d = dev;
  cu_driver *cu = &d->pl->cu;
  if (!graphs_available(cu))
    return cu__error(CG_P_ERR_UNSUPPORTED, "cuda: this driver has no CUDA graph API (cuGraph*)");
  if (!out || n == 0 || !handles || !args)
    return cu__error(CG_P_ERR_INVALID, "cuda: graph_create: no launches or NULL arguments");
  cu_graph *g = calloc(1, sizeof *g);
  if (g) g->nodes = calloc(n, sizeof *g->nodes);
  if (!g || !g->nodes) {
    free(g);
    return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  }
  g->n = n;
  size_t maxp = 1, maxv = 1; /* scratch for graph_launch's new values */
  for (uint32_t i = 0; i < n; i++) {
    const cu_program *p = handles[i];
    if (p && p->nparams > maxp) maxp = p->nparams;
    if (p && p->nvars > maxv) maxv = p->nvars;
  }
  g->tmp_ptrs = calloc(maxp, sizeof(CUdeviceptr));
  g->tmp_vals = calloc(maxv, sizeof(int));
  cg_pstatus st = !g->tmp_ptrs || !g->tmp_vals ? cu__error(CG_P_ERR_NOMEM, "cuda: out of memory") : CG_P_OK;
  CUresult r = st == CG_P_OK ? cu->CtxSetCurrent(d->ctx) : CUDA_SUCCESS;
  const char *what = "cuCtxSetCurrent";
  if (r == CUDA_SUCCESS && st == CG_P_OK) r = cu->GraphCreate(&g->graph, 0), what = "cuGraphCreate";
  for (uint32_t i = 0; i < n && r == CUDA_SUCCESS && st == CG_P_OK; i++) {
    cu_gnode *gn = &g->nodes[i];
    if (!handles[i]) st = cu__error(CG_P_ERR_INVALID, "cuda: graph_create: launch %u has no program", i);
    else if (node_alloc(gn, handles[i]) != 0) st = cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
    else st = launch_values(gn, &args[i], i, gn->rec_ptrs, gn->rec_vals, gn->rec_dims);
    if (st == CG_P_OK) node_put(gn, gn->rec_ptrs, gn->rec_vals, gn->rec_dims);
    if (st == CG_P_OK)
      r = cu->GraphAddKernelNode(&gn->node, g->graph, i ? &g->nodes[i - 1].node : NULL, i ? 1 : 0, &gn->kp),
      what = "cuGraphAddKernelNode";
  }
  if (r == CUDA_SUCCESS && st == CG_P_OK) r = cu->GraphInstantiate(&g->exec, g->graph, 0), what = "cuGraphInstantiate";
  if (st == CG_P_OK && r != CUDA_SUCCESS) st = cu__cuerror(d->pl, CG_P_ERR_LAUNCH, r, what);
  if (st != CG_P_OK) {
    cu__graph_free(dev, g);
    return st;
  }
  *out = g;
  return CG_P_OK;
}

cg_pstatus cu__graph_launch(void *dev, void *graph, const cg_launch_args *args) {
  cu_device *d = dev;
  cu_graph *g = graph;
  cu_driver *cu = &d->pl->cu;
  if (!g) return cu__error(CG_P_ERR_INVALID, "cuda: graph_launch: NULL graph");
  CUresult r = cu->CtxSetCurrent(d->ctx);
  const char *what = "cuCtxSetCurrent";
  CUdeviceptr *ptrs = g->tmp_ptrs;
  int *vals = g->tmp_vals;
  unsigned dims[6];
  for (uint32_t i = 0; args && i < g->n; i++) { /* validate everything before patching */
    cg_pstatus st = launch_values(&g->nodes[i], &args[i], i, ptrs, vals, dims);
    if (st != CG_P_OK) return st;
  }
  for (uint32_t i = 0; i < g->n && r == CUDA_SUCCESS; i++) {
    cu_gnode *gn = &g->nodes[i];
    int changed;
    if (args) {
      launch_values(gn, &args[i], i, ptrs, vals, dims); /* validated above */
      changed = node_put(gn, ptrs, vals, dims);
    } else {
      changed = node_put(gn, gn->rec_ptrs, gn->rec_vals, gn->rec_dims); /* as recorded */
    }
    if (changed) {
      r = cu->GraphExecKernelNodeSetParams(g->exec, gn->node, &gn->kp), what = "cuGraphExecKernelNodeSetParams";
      if (r != CUDA_SUCCESS) gn->kp.gridDimX = 0; /* unknown state: patch again next time */
    }
  }
  if (r == CUDA_SUCCESS) r = cu->GraphLaunch(g->exec, d->stream), what = "cuGraphLaunch";
  return r == CUDA_SUCCESS ? CG_P_OK : cu__cuerror(d->pl, CG_P_ERR_LAUNCH, r, what);
}
