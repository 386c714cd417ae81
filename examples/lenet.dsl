# LeNet-5 for 28x28 grayscale digits (the classic layout with padding on
# the first convolution). Weights are seeded random values; uniform bounds
# follow 1/sqrt(fan_in).
fn dense(x, w, b) {
  return x @ w + b
}

model lenet {
  input x : f32[1, 1, 28, 28]

  weight c1w : f32[6, 1, 5, 5] = random(seed=1, scale=0.2)
  weight c1b : f32[6] = random(seed=2, scale=0.2)
  weight c2w : f32[16, 6, 5, 5] = random(seed=3, scale=0.08)
  weight c2b : f32[16] = random(seed=4, scale=0.08)
  weight f1w : f32[400, 120] = random(seed=5, scale=0.05)
  weight f1b : f32[120] = random(seed=6, scale=0.05)
  weight f2w : f32[120, 84] = random(seed=7, scale=0.09)
  weight f2b : f32[84] = random(seed=8, scale=0.09)
  weight f3w : f32[84, 10] = random(seed=9, scale=0.1)
  weight f3b : f32[10] = random(seed=10, scale=0.1)

  c1 = max_pool2d(relu(conv2d(x, c1w, c1b, pad=2)), kernel=2, stride=2)   # 6x14x14
  c2 = max_pool2d(relu(conv2d(c1, c2w, c2b)), kernel=2, stride=2)         # 16x5x5
  f = flatten(c2)                                                          # 1x400
  h1 = relu(dense(f, f1w, f1b))
  h2 = relu(dense(h1, f2w, f2b))
  output logits = dense(h2, f3w, f3b)
  output probs = softmax(logits)
}
