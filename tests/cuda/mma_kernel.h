/* A hand-built IR matmul on the tensor cores (WMMA, mma.sync m16n8k16), shared by
 * tests/cuda/test_mma.c (numerics) and cuda_mma_bench (speed at 4096).
 *
 * C (M x N, float32, row-major) = A (M x K, row-major) * B^T, B given as N x K row-major
 * ("NT": both operands K-contiguous), A and B float16 or bfloat16, fp32 accumulation. */
#ifndef CG_CUDA_MMA_KERNEL_H
#define CG_CUDA_MMA_KERNEL_H

#include <cgrad/ir.h>

/* M a multiple of 128, N of 64, K of 32. shape = the device's tensor-core shape id for
 * dt. Parameters in order: C, A, B. Launch: grid (N/64, M/128), 128 work-items. */
cg_ir_program *mma_matmul_ir(int M, int N, int K, cg_ir_scalar dt, int shape);

/* The same product staged through shared memory: a work-group of 8 warps computes a
 * 128 x 128 tile; every step of 32 k values is copied (16-byte loads and stores) into
 * two 8 KB shared tiles while the next step's global loads are already in flight.
 * M and N multiples of 128, K of 32. Launch: grid (N/128, M/128), 256 work-items. */
cg_ir_program *mma_matmul_smem_ir(int M, int N, int K, cg_ir_scalar dt, int shape);

#endif
