# A two-layer perceptron for 28x28 images flattened to 784 values.
# Weights come from --weights examples/mlp.safetensors, except b2.
model mlp {
  input  x  : f32[1, 784]
  weight w1 : f32[784, 256]
  weight b1 : f32[256]
  weight w2 : f32[256, 10]
  weight b2 : f32[10] = zeros

  h = relu(x @ w1 + b1)
  output y = softmax(h @ w2 + b2, axis=-1)
}
