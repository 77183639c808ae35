/*
 * The blocked product of sgemm.c for one vector width, included there once per instruction set
 * it is compiled for: VL floats a vector, NAME(x) naming this copy's functions. Tiles are MR×NR
 * with NR two vectors wide. See sgemm.c for the algorithm.
 */
#define NV 2
#define NR (NV * VL)
typedef float NAME(vf) __attribute__((vector_size(VL * 4), aligned(VL * 4)));
/* the same, for loads and stores at any float's address (B's and C's rows) */
typedef float NAME(vfu) __attribute__((vector_size(VL * 4), aligned(4), may_alias));
#define VF NAME(vf)
#define VFU NAME(vfu)

/*
 * Packs op(B)[0, kc) × [0, nc) into panels of NR columns: element (p, j) of panel s at
 * packed[s·NR·kc + p·NR + j], columns past nc zero. op(B)(p, j) is b[p·ldb + j], or
 * b[j·ldb + p] when transposed (then each of B's rows is read in order and scattered with a
 * stride of NR: the panel, 16 KB, stays in L1 while it is written).
 */
INLINE void NAME(pack_b)(bool trans, int64_t kc, int64_t nc, const float *b, int64_t ldb,
                   float *packed) {
  for (int64_t s = 0; s < nc; s += NR, packed += NR * kc) {
    const int64_t cols = nc - s < NR ? nc - s : NR;
    if (trans) {
      for (int64_t j = 0; j < cols; j++) {
        const float *row = b + (s + j) * ldb;
        for (int64_t p = 0; p < kc; p++) packed[p * NR + j] = row[p];
      }
      for (int64_t j = cols; j < NR; j++)
        for (int64_t p = 0; p < kc; p++) packed[p * NR + j] = 0;
    } else if (cols == NR) {
      for (int64_t p = 0; p < kc; p++)
        for (int v = 0; v < NV; v++)
          *(VF *)(packed + p * NR + v * VL) = *(const VFU *)(b + p * ldb + s + v * VL);
    } else {
      for (int64_t p = 0; p < kc; p++) {
        for (int64_t j = 0; j < cols; j++) packed[p * NR + j] = b[p * ldb + s + j];
        for (int64_t j = cols; j < NR; j++) packed[p * NR + j] = 0;
      }
    }
  }
}

/*
 * The micro-kernel: C[rows×cols tile] = alpha·(A panel · B panel) + beta·C, over kc, element
 * (i, p) of the A panel at a[i·rs + p·cs] (inlined with constant strides where they are known,
 * so that the loads need no multiplications). beta 0 writes C without reading it (as BLAS
 * does: NaN or garbage there does not leak through). Edge tiles (rows < MR or cols < NR) go
 * through a tile on the stack.
 */
INLINE void NAME(micro_kernel)(int64_t kc, const float *restrict a, int64_t rs, int64_t cs,
                         const float *restrict b, float *c, int64_t ldc, float alpha, float beta,
                         int64_t rows, int64_t cols) {
  /* MR×NV accumulators, NV vectors of B and one broadcast of A in registers: with AVX2's
     8-float vectors 12 + 2 + 1 of the 16 ymm registers (BLIS's 6×16), with 4-float ones
     (SSE2, NEON) 12 + 2 + 1 of 16 or 32 (6×8) */
  VF acc[MR][NV];
  const float *restrict row[MR];
  for (int i = 0; i < MR; i++) {
    row[i] = a + i * rs;
    for (int v = 0; v < NV; v++) acc[i][v] = (VF){0};
  }
  for (int64_t p = 0; p < kc; p++, b += NR) {
    VF bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = *(const VF *)(b + v * VL);
    /* scalar × vector broadcasts: with FMA each is one vfmadd231ps */
    for (int i = 0; i < MR; i++) {
      const float ai = row[i][p * cs];
      for (int v = 0; v < NV; v++) acc[i][v] += ai * bv[v];
    }
  }
  if (rows == MR && cols == NR) {
    for (int i = 0; i < MR; i++) {
      VFU *to = (VFU *)(c + i * ldc);
      for (int v = 0; v < NV; v++)
        to[v] = beta == 0 ? alpha * acc[i][v] : alpha * acc[i][v] + beta * to[v];
    }
    return;
  }
  float tile[MR * NR] __attribute__((aligned(64)));
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) *(VF *)(tile + i * NR + v * VL) = acc[i][v];
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      c[i * ldc + j] = alpha * tile[i * NR + j] + (beta == 0 ? 0 : beta * c[i * ldc + j]);
}

/* One tile row of the block: the micro-kernel along the packed B panels, A where it lies or
   (the edge) packed; strides constant where they are known. */
INLINE void NAME(tile_row)(bool trans_a, int64_t rows, int64_t kc, int64_t nc, const float *a,
                     int64_t lda, const float *pb, float *c, int64_t ldc, float alpha,
                     float beta, float *edge) {
  if (rows < MR) {
    pack_a_edge(rows, kc, a, trans_a ? 1 : lda, trans_a ? lda : 1, edge);
    for (int64_t jr = 0; jr < nc; jr += NR)
      NAME(micro_kernel)(kc, edge, 1, MR, pb + jr * kc, c + jr, ldc, alpha, beta, rows,
                   nc - jr < NR ? nc - jr : NR);
  } else if (trans_a) {
    for (int64_t jr = 0; jr < nc; jr += NR)
      NAME(micro_kernel)(kc, a, 1, lda, pb + jr * kc, c + jr, ldc, alpha, beta, MR,
                   nc - jr < NR ? nc - jr : NR);
  } else {
    for (int64_t jr = 0; jr < nc; jr += NR)
      NAME(micro_kernel)(kc, a, lda, 1, pb + jr * kc, c + jr, ldc, alpha, beta, MR,
                   nc - jr < NR ? nc - jr : NR);
  }
}

/* The loops around the micro-kernel (Goto 2008; BLIS 2015, figure 2). */
static void NAME(blocked)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                                  float alpha, const float *a, int64_t lda, const float *b,
                                  int64_t ldb, float beta, float *c, int64_t ldc, float *edge,
                                  float *pb) {
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = n - jc < NC ? n - jc : NC;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = k - pc < KC ? k - pc : KC;
      /* the first KC block applies beta; the later ones add to it */
      const float beta_here = pc == 0 ? beta : 1.0f;
      NAME(pack_b)(trans_b, kc, nc, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, pb);
      /* MC rows of A at a time (in L2) along the panels of B (in L3, each in L1 in turn) */
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = m - ic < MC ? m - ic : MC;
        for (int64_t ir = ic; ir < ic + mc; ir += MR)
          NAME(tile_row)(trans_a, ic + mc - ir < MR ? ic + mc - ir : MR, kc, nc,
                   trans_a ? a + pc * lda + ir : a + ir * lda + pc, lda, pb, c + ir * ldc + jc,
                   ldc, alpha, beta_here, edge);
      }
    }
  }
}

#undef VF
#undef VFU
#undef NR
#undef NV
