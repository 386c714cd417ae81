# One BERT-base encoder layer: sequence 128, hidden 768, 12 attention heads
# of 64, a GELU feed-forward of 3072, post-layer-norm residuals. The mask is
# additive (0 to attend, a large negative number to ignore a position).
# Weights are seeded random values with bounds 1/sqrt(fan_in).

fn linear(x, w, b) {
  return x @ w + b
}

# [128, 768] -> [12, 128, 64]: one slice of the hidden size per head
fn split_heads(t) {
  return transpose(reshape(t, [128, 12, 64]), perm=[1, 0, 2])
}

fn attention(x, mask, wq, bq, wk, bk, wv, bv, wo, bo) {
  q = split_heads(linear(x, wq, bq))
  k = split_heads(linear(x, wk, bk))
  v = split_heads(linear(x, wv, bv))
  scores = q @ transpose(k, perm=[0, 2, 1]) / 8   # sqrt(64)
  p = softmax(scores + mask, axis=-1)
  ctx = reshape(transpose(p @ v, perm=[1, 0, 2]), [128, 768])
  return linear(ctx, wo, bo)
}

model bert_layer {
  input x    : f32[128, 768]
  input mask : f32[1, 1, 128]

  weight wq : f32[768, 768] = random(seed=1, scale=0.036)
  weight bq : f32[768] = random(seed=2, scale=0.036)
  weight wk : f32[768, 768] = random(seed=3, scale=0.036)
  weight bk : f32[768] = random(seed=4, scale=0.036)
  weight wv : f32[768, 768] = random(seed=5, scale=0.036)
  weight bv : f32[768] = random(seed=6, scale=0.036)
  weight wo : f32[768, 768] = random(seed=7, scale=0.036)
  weight bo : f32[768] = random(seed=8, scale=0.036)
  weight g1 : f32[768] = ones
  weight n1 : f32[768] = zeros
  weight w1 : f32[768, 3072] = random(seed=9, scale=0.036)
  weight b1 : f32[3072] = random(seed=10, scale=0.036)
  weight w2 : f32[3072, 768] = random(seed=11, scale=0.018)
  weight b2 : f32[768] = random(seed=12, scale=0.018)
  weight g2 : f32[768] = ones
  weight n2 : f32[768] = zeros

  a = attention(x, mask, wq, bq, wk, bk, wv, bv, wo, bo)
  h = layer_norm(x + a, g1, n1, eps=1e-12)
  f = linear(gelu(linear(h, w1, b1)), w2, b2)
  output y = layer_norm(h + f, g2, n2, eps=1e-12)
}
