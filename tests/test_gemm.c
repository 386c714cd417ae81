/* Matrix products and convolutions done as matrix products, end to end.
 *
 * The tiles are DLC_GEMM_MR x DLC_GEMM_NR (8 x 48) with vectors of 16 f32
 * lanes, and K runs in blocks of at most 256 (a divisor of K when one is
 * near). The sizes below cover each remainder: M = 1, 7, 8, 9, 11, 12, 13,
 * 16, 17, 25 (row tiles: none full, one, several, with and without a
 * remainder); N = 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 65, 96, 97, 100
 * (column tiles and the vector remainder inside a tile); K = 1, 7, 64,
 * 100, 255, 256, 257, 300, 512, 523, 600, 1031 (one block, one block and a
 * remainder, several blocks exactly, several and a remainder). Each shape
 * runs with its weights as inputs and as constants (packed at compile
 * time), batched and broadcast, in f32, f64 and i32.
 *
 * Convolutions with one group and constant weights go through im2col (or
 * read the input itself for a 1x1, stride 1, no padding) and the same
 * tiles: 1x1, 3x3 with padding, stride 2, 7x7 stride 2 pad 3, dilation 2,
 * batch 2, output channels 1, 13, 33, K = C*kH*kW past 256 with and
 * without a remainder; groups > 1 and depthwise keep the direct loops.
 *
 * Every program is compiled at -O2 and -O0, run with 1 thread against the
 * reference evaluator, and with 2 and 3 threads bit for bit against 1 (at
 * -O0 through $DLCC_NUM_THREADS). Output buffers start as NaN bytes so an
 * element left unwritten fails. Each runs once more with the tile pass
 * skipped: the plain nests lowering makes compute the same. */
#include "tests/e2e.h"

#define RM 1e-4, 3e-4 /* f32 sums of up to 1031 products, FMA contraction */
/* the pipeline without the layout pass: convolutions as matrix products */
#define NO_LAYOUT "fold,cse,fold_bn,dce,fuse"
#define F64 1e-12, 1e-11
#define EXACT 0, 0

static const e2e_case cases[] = {
    /* the weights are inputs: nothing is packed at compile time */
    {"mm_direct_a",
     "input x0 : f32[1,1]\n"
     "input w0 : f32[1,1]\n"
     "input x1 : f32[11,7]\n"
     "input w1 : f32[7,15]\n"
     "input x2 : f32[12,256]\n"
     "input w2 : f32[256,16]\n"
     "input x3 : f32[13,255]\n"
     "input w3 : f32[255,33]\n"
     "input x4 : f32[25,600]\n"
     "input w4 : f32[600,65]\n"
     "input x5 : f32[1,257]\n"
     "input w5 : f32[257,17]\n"
     "output y0_1x1x1 = x0 @ w0\n"
     "output y1_11x15x7 = x1 @ w1\n"
     "output y2_12x16x256 = x2 @ w2\n"
     "output y3_13x33x255 = x3 @ w3\n"
     "output y4_25x65x600 = x4 @ w4\n"
     "output y5_1x17x257 = x5 @ w5\n",
     "k0_matmul k1_matmul k2_matmul k3_matmul k4_matmul k5_matmul",
     -1, 1, RM, NULL},
    {"mm_direct_b",
     "input x0 : f32[8,512]\n"
     "input w0 : f32[512,48]\n"
     "input x1 : f32[9,523]\n"
     "input w1 : f32[523,49]\n"
     "input x2 : f32[16,100]\n"
     "input w2 : f32[100,96]\n"
     "input x3 : f32[17,64]\n"
     "input w3 : f32[64,97]\n"
     "input x4 : f32[7,1]\n"
     "input w4 : f32[1,31]\n"
     "input x5 : f32[25,257]\n"
     "input w5 : f32[257,100]\n"
     "input x6 : f32[24,300]\n"
     "input w6 : f32[300,47]\n"
     "input x7 : f32[3,1031]\n"
     "input w7 : f32[1031,32]\n"
     "input x8 : f32[16,256]\n"
     "input w8 : f32[256,48]\n"
     "output y0_8x48x512 = x0 @ w0\n"
     "output y1_9x49x523 = x1 @ w1\n"
     "output y2_16x96x100 = x2 @ w2\n"
     "output y3_17x97x64 = x3 @ w3\n"
     "output y4_7x31x1 = x4 @ w4\n"
     "output y5_25x100x257 = x5 @ w5\n"
     "output y6_24x47x300 = x6 @ w6\n"
     "output y7_3x32x1031 = x7 @ w7\n"
     "output y8_16x48x256 = x8 @ w8\n",
     "k0_matmul k1_matmul k2_matmul k3_matmul k4_matmul k5_matmul k6_matmul k7_matmul k8_matmul",
     -1, 1, RM, NULL},
    /* A from memory whose rows lie a multiple of 4 KiB apart is packed
     * into row panels at run time (remainder rows padded with zeros); f32
     * with 2048 and 1024 columns, f64 with 1024, small A and large */
    {"mm_pack_a",
     "input x : f32[21,2048]\n"
     "input w : f32[2048,100]\n"
     "input x2 : f64[13,1024]\n"
     "input w2 : f64[1024,97]\n"
     "input x3 : f32[270,2048]\n"
     "input w3 : f32[2048,110]\n"
     "input x4 : f32[19,1024]\n"
     "input w4 : f32[1024,100]\n"
     "output y = x @ w\n"
     "output y2 = x2 @ w2\n"
     "output y3 = x3 @ w3\n"
     "output y4 = x4 @ w4\n",
     "k0_matmul k1_matmul k2_matmul k3_matmul", -1, 1, RM, NULL},
    /* B from memory with a large A (more than 256 rows, or more than 512
     * KiB): B is packed a K block at a time, its rows read in order, into
     * panels the column tiles share (the last one padded with zeros); three
     * K blocks of 200, the last a copy of its own for the fused epilogue */
    {"mm_kpanel",
     "input x : f32[300,600]\n"
     "input w : f32[600,130]\n"
     "input b : f32[130]\n"
     "input x2 : f32[97,1500]\n"
     "input w2 : f32[1500,96]\n"
     "output y = relu(x @ w + b)\n"
     "output y2 = x2 @ w2\n",
     "k0_matmul+add+relu k1_matmul",
     -1, 1, RM, NULL},
    /* a small A, B from memory copied by each column tile (10 of them):
     * only the first 3 row tiles prefetch the next K block's rows, the 9
     * others and the 4 remainder rows do not */
    {"mm_small_a_prefetch",
     "input x : f32[100,300]\n"
     "input w : f32[300,480]\n"
     "output y = x @ w\n",
     "k0_matmul", -1, 1, RM, NULL},
    /* a small A with few column tiles: each column tile is cut into
     * blocks of rows shared among the threads (4 of 4 row tiles in k1, 2
     * of 5 in k3), B packed whole first (from memory: k0, k1, k3; a
     * constant: k2); the remainder rows after them (k1: 131 rows), a
     * narrow last column tile (4 columns), two K blocks (k1, k2), f64 (k3) */
    {"mm_row_blocks",
     "input x0 : f32[64,100]\n"
     "input w0 : f32[100,100]\n"
     "input x1 : f32[131,300]\n"
     "input w1 : f32[300,100]\n"
     "input x2 : f32[96,520]\n"
     "weight w2 : f32[520,200] = random(seed=1)\n"
     "input x3 : f64[80,70]\n"
     "input w3 : f64[70,100]\n"
     "output y0 = x0 @ w0\n"
     "output y1 = x1 @ w1\n"
     "output y2 = x2 @ w2\n"
     "output y3 = x3 @ w3\n",
     "k0_matmul k1_matmul k2_matmul[w2.packed] k3_matmul", -1, 1, 1e-4, 3e-4, NULL},
    /* the same as matrix products of convolutions (im2col, 14x14 output
     * positions): column tiles copy their own panels per block of rows */
    {"conv_row_blocks",
     "input x : f32[1,32,14,14]\n"
     "weight w : f32[64,32,3,3] = random(seed=1)\n"
     "weight b : f32[64] = random(seed=2)\n"
     "output y = relu(conv2d(x, w, b, pad=1))\n",
     "k0_conv2d+relu[w.packed]", -1, 1, RM, NO_LAYOUT},
    /* the weights are constants, packed into column panels */
    {"mm_packed_a",
     "input x0 : f32[1,1]\n"
     "weight w0 : f32[1,1] = random(seed=1)\n"
     "input x1 : f32[11,7]\n"
     "weight w1 : f32[7,15] = random(seed=2)\n"
     "input x2 : f32[12,256]\n"
     "weight w2 : f32[256,16] = random(seed=3)\n"
     "input x3 : f32[13,255]\n"
     "weight w3 : f32[255,33] = random(seed=4)\n"
     "input x4 : f32[25,600]\n"
     "weight w4 : f32[600,65] = random(seed=5)\n"
     "input x5 : f32[1,257]\n"
     "weight w5 : f32[257,17] = random(seed=6)\n"
     "output y0_1x1x1 = x0 @ w0\n"
     "output y1_11x15x7 = x1 @ w1\n"
     "output y2_12x16x256 = x2 @ w2\n"
     "output y3_13x33x255 = x3 @ w3\n"
     "output y4_25x65x600 = x4 @ w4\n"
     "output y5_1x17x257 = x5 @ w5\n",
     "k0_matmul[w0.packed] k1_matmul[w1.packed] k2_matmul[w2.packed] k3_matmul[w3.packed] "
     "k4_matmul[w4.packed] k5_matmul[w5.packed]",
     -1, 1, RM, NULL},
    {"mm_packed_b",
     "input x0 : f32[8,512]\n"
     "weight w0 : f32[512,48] = random(seed=1)\n"
     "input x1 : f32[9,523]\n"
     "weight w1 : f32[523,49] = random(seed=2)\n"
     "input x2 : f32[16,100]\n"
     "weight w2 : f32[100,96] = random(seed=3)\n"
     "input x3 : f32[17,64]\n"
     "weight w3 : f32[64,97] = random(seed=4)\n"
     "input x4 : f32[7,1]\n"
     "weight w4 : f32[1,31] = random(seed=5)\n"
     "input x5 : f32[25,257]\n"
     "weight w5 : f32[257,100] = random(seed=6)\n"
     "input x6 : f32[24,300]\n"
     "weight w6 : f32[300,47] = random(seed=7)\n"
     "input x7 : f32[3,1031]\n"
     "weight w7 : f32[1031,32] = random(seed=8)\n"
     "input x8 : f32[16,256]\n"
     "weight w8 : f32[256,48] = random(seed=9)\n"
     "output y0_8x48x512 = x0 @ w0\n"
     "output y1_9x49x523 = x1 @ w1\n"
     "output y2_16x96x100 = x2 @ w2\n"
     "output y3_17x97x64 = x3 @ w3\n"
     "output y4_7x31x1 = x4 @ w4\n"
     "output y5_25x100x257 = x5 @ w5\n"
     "output y6_24x47x300 = x6 @ w6\n"
     "output y7_3x32x1031 = x7 @ w7\n"
     "output y8_16x48x256 = x8 @ w8\n",
     "k0_matmul[w0.packed] k1_matmul[w1.packed] k2_matmul[w2.packed] k3_matmul[w3.packed] "
     "k4_matmul[w4.packed] k5_matmul[w5.packed] k6_matmul[w6.packed] k7_matmul[w7.packed] "
     "k8_matmul[w8.packed]",
     -1, 1, RM, NULL},
    /* packed B with column tiles first: each step of k prefetches part of
     * the next block (small A: K blocks inside the column tiles; larger
     * A: K blocks outside), several K blocks, remainder tiles both ways */
    {"mm_packed_b_prefetch",
     "input x0 : f32[19,1000]\n"
     "weight w0 : f32[1000,110] = random(seed=1)\n"
     "input x1 : f32[203,700]\n"
     "weight w1 : f32[700,150] = random(seed=2)\n"
     "input x2 : f64[41,530]\n"
     "weight w2 : f64[530,97] = random(seed=3)\n"
     "output y0_19x110x1000 = x0 @ w0\n"
     "output y1_203x150x700 = x1 @ w1\n"
     "output y2_41x97x530 = x2 @ w2\n",
     "k0_matmul[w0.packed] k1_matmul[w1.packed] k2_matmul[w2.packed]",
     -1, 1, RM, NULL},
    /* a constant on the left, packed into row panels */
    {"mm_packed_lhs",
     "weight a0 : f32[13,255] = random(seed=10)\n"
     "input b0 : f32[255,33]\n"
     "weight a1 : f32[9,523] = random(seed=11)\n"
     "input b1 : f32[523,49]\n"
     "weight a2 : f32[25,257] = random(seed=12)\n"
     "input b2 : f32[257,100]\n"
     "weight a3 : f32[1,1] = random(seed=13)\n"
     "input b3 : f32[1,1]\n"
     "weight a4 : f32[17,7] = random(seed=14)\n"
     "input b4 : f32[7,15]\n"
     "output y0_13x33x255 = a0 @ b0\n"
     "output y1_9x49x523 = a1 @ b1\n"
     "output y2_25x100x257 = a2 @ b2\n"
     "output y3_1x1x1 = a3 @ b3\n"
     "output y4_17x15x7 = a4 @ b4\n",
     "k0_matmul[a0.packed] k1_matmul[a1.packed] k2_matmul[a2.packed] k3_matmul[a3.packed] "
     "k4_matmul[a4.packed]",
     -1, 1, RM, NULL},
    /* batch dims, broadcast on either side; a constant [K,N] (or [1,K,N])
     * is packed once for every batch, a constant [3,K,N] is not packed */
    {"mm_batched",
     "input xb : f32[3,13,257]\n"
     "input wb : f32[257,49]\n"
     "weight wk : f32[257,49] = random(seed=1)\n"
     "input x4 : f32[2,1,9,7]\n"
     "input w4 : f32[3,7,17]\n"
     "weight wc4 : f32[3,7,17] = random(seed=2)\n"
     "weight wa : f32[9,7] = random(seed=3)\n"
     "input xb5 : f32[2,7,17]\n"
     "input x6 : f32[9,7]\n"
     "weight w1k : f32[1,257,49] = random(seed=4)\n"
     "weight a1k : f32[1,9,7] = random(seed=5)\n"
     "input xb7 : f32[2,3,25,65]\n"
     "input wb7 : f32[2,3,65,16]\n"
     "output a1 = xb @ wb\n"
     "output a2 = xb @ wk\n"
     "output a3 = x4 @ w4\n"
     "output a4 = x4 @ wc4\n"
     "output a5 = wa @ xb5\n"
     "output a6 = x6 @ xb5\n"
     "output a7 = xb7 @ wb7\n"
     "output a8 = xb @ w1k\n"
     "output a9 = a1k @ xb5\n",
     "k0_matmul k1_matmul[wk.packed] k2_matmul k3_matmul k4_matmul[wa.packed] k5_matmul k6_matmul "
     "k7_matmul[w1k.packed] k8_matmul[a1k.packed]",
     -1, 1, RM, NULL},
    /* batches with a leading 1 (as attention exports have them): the
     * loop over the first batch dim runs once and the others inside it */
    {"mm_batched_lead1",
     "input q : f32[1,3,24,100]\n"
     "input k : f32[1,3,100,150]\n"
     "input b : f32[150]\n"
     "input r : f32[1,2,17,33]\n"
     "input s : f32[1,1,33,200]\n"
     "output y = q @ k + b\n"
     "output z = relu(r @ s)\n",
     NULL, -1, 1, RM, NULL},
    {"mm_i32",
     "input xa : i32[13,523]\n"
     "input wa : i32[523,49]\n"
     "input xb : i32[8,1]\n"
     "weight wb : i32[1,16] = random(seed=1, scale=20)\n"
     "input xc : i32[25,257]\n"
     "weight wc : i32[257,100] = random(seed=2, scale=20)\n"
     "input xd : i32[1,64]\n"
     "input wd : i32[64,97]\n"
     "input xe : i32[3,9,300]\n"
     "weight we : i32[300,33] = random(seed=3, scale=20)\n"
     "output a = xa @ wa\n"
     "output b = xb @ wb\n"
     "output c = xc @ wc\n"
     "output d = xd @ wd\n"
     "output e = xe @ we\n",
     "k0_matmul k1_matmul[wb.packed] k2_matmul[wc.packed] k3_matmul k4_matmul[we.packed]",
     -20, 20, EXACT, NULL},
    {"mm_f64",
     "input xa : f64[11,300]\n"
     "input wa : f64[300,97]\n"
     "input xb : f64[1,7]\n"
     "weight wb : f64[7,1] = random(seed=1)\n"
     "input xc : f64[17,600]\n"
     "weight wc : f64[600,48] = random(seed=2)\n"
     "input xd : f64[2,1,12,256]\n"
     "input wd : f64[3,256,15]\n"
     "output a = xa @ wa\n"
     "output b = xb @ wb\n"
     "output c = xc @ wc\n"
     "output d = xd @ wd\n",
     "k0_matmul k1_matmul[wb.packed] k2_matmul[wc.packed] k3_matmul",
     -1, 1, F64, NULL},
    /* one input as both operands; a product of products through the workspace */
    {"mm_misc",
     "input s : f32[33,33]\n"
     "input x : f32[17,100]\n"
     "weight w1 : f32[100,65] = random(seed=1, scale=0.2)\n"
     "weight w2 : f32[65,17] = random(seed=2, scale=0.2)\n"
     "output q = s @ s\n"
     "h = x @ w1\n"
     "output y = h @ w2\n"
     "output t = transpose(h) @ x\n",
     "k0_matmul k1_matmul[w1.packed] k2_matmul[w2.packed] k3_transpose k4_matmul",
     -1, 1, RM, NULL},
    /* 1x1 stride 1 reads x itself; stride 2 and padding go through
     * im2col; a 3x3 over a 3x3 input has one position */
    {"conv_1x1",
     "input x : f32[2,17,5,7]\n"
     "weight w13 : f32[13,17,1,1] = random(seed=1)\n"
     "weight w33 : f32[33,17,1,1] = random(seed=2)\n"
     "weight b33 : f32[33] = random(seed=3)\n"
     "weight w1 : f32[1,17,1,1] = random(seed=4)\n"
     "weight ws : f32[13,17,1,1] = random(seed=5)\n"
     "output a = conv2d(x, w13)\n"
     "output b = conv2d(x, w33, b33)\n"
     "output c = conv2d(x, w1)\n"
     "output d = conv2d(x, ws, stride=2)\n"
     "weight wp : f32[13,17,1,1] = random(seed=6)\n"
     "output e = conv2d(x, wp, pad=[1,0,0,2])\n"
     "input xs : f32[1,8,3,3]\nweight wg : f32[4,8,3,3] = random(seed=7)\n"
     "output f = conv2d(xs, wg)\n",
     "k0_conv2d[w13.packed] k1_conv2d[w33.packed] k2_conv2d[w1.packed] k3_conv2d[ws.packed] "
     "k4_conv2d[wp.packed] k5_conv2d[wg.packed]",
     -1, 1, RM, NO_LAYOUT},
    {"conv_3x3",
     "input x : f32[1,3,9,11]\n"
     "weight w : f32[33,3,3,3] = random(seed=1)\n"
     "weight w2 : f32[13,3,3,3] = random(seed=2)\n"
     "weight w3 : f32[13,3,3,3] = random(seed=3)\n"
     "weight w4 : f32[1,3,3,2] = random(seed=4)\n"
     "weight b4 : f32[1] = 0.5\n"
     "output a = conv2d(x, w, pad=1)\n"
     "output b = conv2d(x, w2, stride=2)\n"
     "output c = conv2d(x, w3, pad=2, dilation=2)\n"
     "output d = conv2d(x, w4, b4, stride=[2,1], pad=[0,1,2,1], dilation=[1,2])\n",
     "k0_conv2d[w.packed] k1_conv2d[w2.packed] k2_conv2d[w3.packed] k3_conv2d[w4.packed]",
     -1, 1, RM, NO_LAYOUT},
    {"conv_7x7",
     "input x : f32[2,3,23,21]\n"
     "weight w : f32[13,3,7,7] = random(seed=1, scale=0.3)\n"
     "weight b : f32[13] = random(seed=2)\n"
     "weight w1 : f32[1,3,7,7] = random(seed=3, scale=0.3)\n"
     "output a = conv2d(x, w, b, stride=2, pad=3)\n"
     "output c = conv2d(x, w1, stride=2, pad=3)\n",
     "k0_conv2d[w.packed] k1_conv2d[w1.packed]",
     -1, 1, RM, NO_LAYOUT},
    /* im2col in chunks of output rows (Kc * rows * OW floats within 512 KiB):
     * Kc = 576, OW = 30 gives 7 rows a chunk; OH = 30 ends with 2 rows,
     * too few alone, so the last chunk has 9; OH = 32 ends with 4 of its own.
     * Batch 2: chunks per image. */
    {"conv_chunks",
     "input x : f32[2,64,30,30]\n"
     "input y : f32[1,64,32,30]\n"
     "weight w : f32[16,64,3,3] = random(seed=1, scale=0.1)\n"
     "weight b : f32[16] = random(seed=2)\n"
     "output a = relu(conv2d(x, w, b, pad=1))\n"
     "output c = conv2d(y, w, pad=1) + slice(y, axis=1, start=0, end=16)\n",
     NULL, -1, 1, RM, NO_LAYOUT},
    /* K = 37*1*7 = 259: one block of 256 and 3; K = 64*3*3 = 576: three of 192 */
    {"conv_big_k",
     "input x : f32[1,37,6,11]\n"
     "weight w : f32[13,37,1,7] = random(seed=1, scale=0.3)\n"
     "input x2 : f32[2,64,5,5]\n"
     "weight w2 : f32[33,64,3,3] = random(seed=2, scale=0.2)\n"
     "weight b2 : f32[33] = random(seed=3)\n"
     "output a = conv2d(x, w, pad=[0,3])\n"
     "output b = conv2d(x2, w2, b2, pad=1)\n",
     "k0_conv2d[w.packed] k1_conv2d[w2.packed]",
     -1, 1, RM, NO_LAYOUT},
    /* 1024 positions per image: many column tiles, shared among threads */
    {"conv_big_p",
     "input x : f32[2,16,32,32]\n"
     "weight w : f32[16,16,3,3] = random(seed=1, scale=0.3)\n"
     "weight w1 : f32[24,16,1,1] = random(seed=2)\n"
     "output a = conv2d(x, w, pad=1)\n"
     "output b = conv2d(x, w1)\n",
     "k0_conv2d[w.packed] k1_conv2d[w1.packed]",
     -1, 1, RM, NO_LAYOUT},
    /* groups > 1, depthwise, weights as an input and f64 keep the direct loops */
    {"conv_direct",
     "input x : f32[2,8,11,10]\n"
     "weight wg : f32[6,4,3,3] = random(seed=1)\n"
     "weight wd : f32[8,1,3,3] = random(seed=2)\n"
     "weight bd : f32[8] = random(seed=3)\n"
     "input wi : f32[5,8,3,1]\n"
     "input x64 : f64[1,4,7,7]\n"
     "weight w64 : f64[5,4,3,3] = random(seed=4)\n"
     "output a = conv2d(x, wg, groups=2, stride=2, pad=1)\n"
     "output b = conv2d(x, wd, bd, groups=8, pad=2, dilation=2)\n"
     "output c = conv2d(x, wi, pad=[1,0])\n"
     "output d = conv2d(x64, w64, pad=1)\n",
     "k0_conv2d k1_conv2d k2_conv2d k3_conv2d",
     -1, 1, RM, NO_LAYOUT},
    /* ---- channel blocks (the layout pass, conv2d_nchwc) ---- */
    /* a residual block: blocks of 16 from end to end, the relu and the add
     * fused into the second convolution, which reads the first's blocks */
    {"nchwc_residual",
     "input x : f32[1,16,9,11]\n"
     "weight w1 : f32[32,16,3,3] = random(seed=1, scale=0.2)\n"
     "weight b1 : f32[32] = random(seed=2)\n"
     "weight w2 : f32[32,32,3,3] = random(seed=3, scale=0.1)\n"
     "weight wd : f32[32,16,1,1] = random(seed=4, scale=0.3)\n"
     "h = relu(conv2d(x, w1, b1, pad=1))\n"
     "d = conv2d(x, wd, stride=2)\n"
     "output y = relu(conv2d(h, w2, stride=2, pad=1) + d)\n",
     "k0_to_nchwc k1_conv2d_nchwc+relu[w1.nchwc] k2_conv2d_nchwc[wd.nchwc] "
     "k3_conv2d_nchwc+add+relu[w2.nchwc] k4_to_nchw",
     -1, 1, RM, NULL},
    /* 3 input channels read as NCHW; blocks of 8 (24 and 40 channels);
     * a depthwise convolution with clip; batch 2 */
    {"nchwc_mobile",
     "input x : f32[2,3,15,13]\n"
     "weight w1 : f32[24,3,7,7] = random(seed=1, scale=0.2)\n"
     "weight wd : f32[24,1,3,3] = random(seed=2)\n"
     "weight bd : f32[24] = random(seed=3)\n"
     "weight wp : f32[40,24,1,1] = random(seed=4, scale=0.3)\n"
     "a = clip(conv2d(x, w1, stride=2, pad=3), min=0, max=6)\n"
     "b = clip(conv2d(a, wd, bd, groups=24, pad=1), min=0, max=6)\n"
     "output y = conv2d(b, wp)\n",
     "k0_conv2d_nchwc+clip[w1.nchwc] k1_conv2d_nchwc+clip[wd.nchwc] "
     "k2_conv2d_nchwc[wp.nchwc] k3_to_nchw",
     -1, 1, RM, NULL},
    /* 128 input channels (one K block: threads share the rows), a
     * remainder tile of pixels (13 wide), an operand broadcast over
     * channels and scalars in the chain */
    {"nchwc_kblocks",
     "input x : f32[1,128,7,13]\n"
     "input r : f32[1,48,7,13]\n"
     "weight w : f32[48,128,3,3] = random(seed=1, scale=0.05)\n"
     "weight s : f32[1,1,7,13] = random(seed=2)\n"
     "output y = (conv2d(x, w, pad=1) * 0.5 + s) * r\n",
     NULL, -1, 1, RM, NULL},
    /* 17 output blocks: 5 tiles of 3 shared among threads, each over K in
     * two blocks (partial sums wait in y), then a tile of 2 blocks whose
     * rows are shared */
    {"nchwc_tiles_kblocks",
     "input x : f32[1,128,5,6]\n"
     "weight w : f32[272,128,3,3] = random(seed=1, scale=0.05)\n"
     "weight b : f32[272] = random(seed=2)\n"
     "output y = relu(conv2d(x, w, b, pad=1)) + 1\n",
     "k0_to_nchwc k1_conv2d_nchwc+relu+add[w.nchwc] k2_to_nchw",
     -1, 1, RM, NULL},
    /* weights of 1.1 MB: each step prefetches part of the next K block;
     * 20 output blocks in tiles shared among threads, stride 2 with the
     * border tiles testing their reads, 2 images, 3-channel blocks of x
     * from a first convolution */
    {"nchwc_tiles_prefetch",
     "input x : f32[2,5,13,11]\n"
     "weight w0 : f32[96,5,3,3] = random(seed=1, scale=0.2)\n"
     "weight w : f32[320,96,3,3] = random(seed=2, scale=0.05)\n"
     "weight b : f32[320] = random(seed=3)\n"
     "h = relu(conv2d(x, w0, pad=1))\n"
     "output y = relu(conv2d(h, w, b, stride=2, pad=1)) + 1\n",
     "k0_conv2d_nchwc+relu[w0.nchwc] k1_conv2d_nchwc+relu+add[w.nchwc] k2_to_nchw",
     -1, 1, RM, NULL},
    /* depthwise 5x5 with stride, dilation and uneven padding; 64 channels
     * in blocks of 16. Depthwise reads x unpadded: border tiles test their
     * reads, and a window wider than x leaves no untested tile at all */
    {"nchwc_depthwise",
     "input x : f32[1,64,12,17]\n"
     "weight w : f32[64,1,5,5] = random(seed=1)\n"
     "input x2 : f32[2,16,2,3]\n"
     "weight w2 : f32[16,1,3,3] = random(seed=2)\n"
     "output y = conv2d(x, w, stride=[2,1], pad=[1,2,3,0], dilation=[1,2], groups=64)\n"
     "output z = relu(conv2d(x2, w2, pad=2, groups=16))\n",
     "k0_to_nchwc k1_conv2d_nchwc[w.nchwc] k2_to_nchw k3_to_nchwc k4_conv2d_nchwc+relu[w2.nchwc] "
     "k5_to_nchw",
     -1, 1, RM, NULL},
    /* poolings run on the blocks between convolutions; a pooled value that
     * is also an output converts back once */
    {"nchwc_pool",
     "input x : f32[1,3,20,18]\n"
     "weight w1 : f32[16,3,3,3] = random(seed=1, scale=0.3)\n"
     "weight w2 : f32[32,16,3,3] = random(seed=2, scale=0.2)\n"
     "a = relu(conv2d(x, w1, stride=2, pad=1))\n"
     "output p = max_pool2d(a, kernel=3, stride=2, pad=1)\n"
     "c = relu(conv2d(p, w2, pad=1) + 1)\n"
     "q = avg_pool2d(c, kernel=2, stride=2, pad=[0,0,1,1])\n"
     "output y = global_avg_pool(q)\n",
     "k0_conv2d_nchwc+relu[w1.nchwc] k1_max_pool2d k2_to_nchw "
     "k3_conv2d_nchwc+add+relu[w2.nchwc] k4_avg_pool2d k5_to_nchw k6_global_avg_pool",
     -1, 1, RM, NULL},
    /* the operators as written: blocks of 8 in, 16 out, f64, the layout
     * changes alone (any dtype), blocks narrower than a vector (5 in, 3
     * out) with dilation, a depthwise one on blocks of 2 */
    {"nchwc_written",
     "input x : f32[1,16,6,5]\n"
     "input x64 : f64[2,8,5,5]\n"
     "input xi : i32[1,8,2,3]\n"
     "weight w : f32[32,16,3,3] = random(seed=1, scale=0.2)\n"
     "weight w64 : f64[16,8,3,3] = random(seed=2)\n"
     "output a = to_nchw(conv2d_nchwc(to_nchwc(x, block=8), w, pad=1, block=16))\n"
     "output b = conv2d_nchwc(x64, w64, stride=2, block=8)\n"
     "output c = to_nchw(to_nchwc(xi, block=4) + 1)\n"
     "output d = to_nchwc(x, block=16)\n"
     "input x5 : f32[1,10,6,7]\n"
     "weight w5 : f32[9,10,3,3] = random(seed=3, scale=0.3)\n"
     "weight wd : f32[10,1,3,2] = random(seed=4)\n"
     "output e = to_nchw(conv2d_nchwc(to_nchwc(x5, block=5), w5, pad=2, dilation=2, block=3))\n"
     "output f = conv2d_nchwc(to_nchwc(x5, block=2), wd, groups=10, stride=[1,2], pad=1, block=2)\n",
     NULL, -1, 1, RM, NULL},
    /* a constant that is both a packed operand and an operand of the
     * fused chain must stay a kernel parameter too */
    {"packed_and_read_in_chain",
     "input x : f32[5,5]\nweight w : f32[5,5] = random(seed=1)\ninput xc : f32[2,1,4,4]\n"
     "weight wc : f32[1,1,1,1] = 3\n"
     "output y = x @ w + w\noutput z = w @ x * w\noutput c = conv2d(xc, wc) * wc\n",
     NULL, -1, 1, RM, NULL},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

START_TEST(e2e_o2) { e2e_run_threaded(&cases[_i], 2, true); }
END_TEST

START_TEST(e2e_o0) { e2e_run_threaded(&cases[_i], 0, true); }
END_TEST

/* dlcc --no-tile: the same programs with every product left as the plain
 * nest lowering makes, which must compute the same on its own */
START_TEST(plain_nests) { e2e_run_plain(&cases[_i]); }
END_TEST

int main(void) {
  Suite *s = suite_create("gemm");
  suite_add_tcase(s, e2e_loop_tcase("e2e", e2e_o2, e2e_o0, NCASES));
  TCase *plain = tcase_create("plain");
  tcase_set_timeout(plain, 120);
  tcase_add_loop_test(plain, plain_nests, 0, NCASES);
  suite_add_tcase(s, plain);
  return e2e_run_suite(s);
}
