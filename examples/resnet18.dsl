# ResNet-18 (the torchvision architecture) for one 224x224 RGB image.
# Every weight is a seeded random value: convolutions uniform within
# sqrt(6/fan_in) (He initialization), batch-norm scales 1, shifts and
# running means small, running variances 1.

fn conv_bn(x, w, s, b, m, v, stride=1, pad=1) {
  return batch_norm(conv2d(x, w, stride=stride, pad=pad), s, b, m, v)
}

# Two 3x3 convolutions with an identity shortcut.
fn basic_block(x, w1, s1, b1, m1, v1, w2, s2, b2, m2, v2) {
  y = relu(conv_bn(x, w1, s1, b1, m1, v1))
  return relu(conv_bn(y, w2, s2, b2, m2, v2) + x)
}

# The first block of a stage: stride 2 and a 1x1 projection shortcut.
fn down_block(x, w1, s1, b1, m1, v1, w2, s2, b2, m2, v2, wd, sd, bd, md, vd) {
  y = relu(conv_bn(x, w1, s1, b1, m1, v1, stride=2))
  shortcut = conv_bn(x, wd, sd, bd, md, vd, stride=2, pad=0)
  return relu(conv_bn(y, w2, s2, b2, m2, v2) + shortcut)
}

model resnet18 {
  input image : f32[1, 3, 224, 224]

  weight conv1_w : f32[64, 3, 7, 7] = random(seed=1, scale=0.2020)
  weight conv1_s : f32[64] = ones
  weight conv1_b : f32[64] = random(seed=2, scale=0.1)
  weight conv1_m : f32[64] = random(seed=3, scale=0.1)
  weight conv1_v : f32[64] = ones

  weight l1a1_w : f32[64, 64, 3, 3] = random(seed=4, scale=0.1021)
  weight l1a1_s : f32[64] = ones
  weight l1a1_b : f32[64] = random(seed=5, scale=0.1)
  weight l1a1_m : f32[64] = random(seed=6, scale=0.1)
  weight l1a1_v : f32[64] = ones
  weight l1a2_w : f32[64, 64, 3, 3] = random(seed=7, scale=0.1021)
  weight l1a2_s : f32[64] = ones
  weight l1a2_b : f32[64] = random(seed=8, scale=0.1)
  weight l1a2_m : f32[64] = random(seed=9, scale=0.1)
  weight l1a2_v : f32[64] = ones
  weight l1b1_w : f32[64, 64, 3, 3] = random(seed=10, scale=0.1021)
  weight l1b1_s : f32[64] = ones
  weight l1b1_b : f32[64] = random(seed=11, scale=0.1)
  weight l1b1_m : f32[64] = random(seed=12, scale=0.1)
  weight l1b1_v : f32[64] = ones
  weight l1b2_w : f32[64, 64, 3, 3] = random(seed=13, scale=0.1021)
  weight l1b2_s : f32[64] = ones
  weight l1b2_b : f32[64] = random(seed=14, scale=0.1)
  weight l1b2_m : f32[64] = random(seed=15, scale=0.1)
  weight l1b2_v : f32[64] = ones

  weight l2a1_w : f32[128, 64, 3, 3] = random(seed=16, scale=0.1021)
  weight l2a1_s : f32[128] = ones
  weight l2a1_b : f32[128] = random(seed=17, scale=0.1)
  weight l2a1_m : f32[128] = random(seed=18, scale=0.1)
  weight l2a1_v : f32[128] = ones
  weight l2a2_w : f32[128, 128, 3, 3] = random(seed=19, scale=0.0722)
  weight l2a2_s : f32[128] = ones
  weight l2a2_b : f32[128] = random(seed=20, scale=0.1)
  weight l2a2_m : f32[128] = random(seed=21, scale=0.1)
  weight l2a2_v : f32[128] = ones
  weight l2ad_w : f32[128, 64, 1, 1] = random(seed=22, scale=0.3062)
  weight l2ad_s : f32[128] = ones
  weight l2ad_b : f32[128] = random(seed=23, scale=0.1)
  weight l2ad_m : f32[128] = random(seed=24, scale=0.1)
  weight l2ad_v : f32[128] = ones
  weight l2b1_w : f32[128, 128, 3, 3] = random(seed=25, scale=0.0722)
  weight l2b1_s : f32[128] = ones
  weight l2b1_b : f32[128] = random(seed=26, scale=0.1)
  weight l2b1_m : f32[128] = random(seed=27, scale=0.1)
  weight l2b1_v : f32[128] = ones
  weight l2b2_w : f32[128, 128, 3, 3] = random(seed=28, scale=0.0722)
  weight l2b2_s : f32[128] = ones
  weight l2b2_b : f32[128] = random(seed=29, scale=0.1)
  weight l2b2_m : f32[128] = random(seed=30, scale=0.1)
  weight l2b2_v : f32[128] = ones

  weight l3a1_w : f32[256, 128, 3, 3] = random(seed=31, scale=0.0722)
  weight l3a1_s : f32[256] = ones
  weight l3a1_b : f32[256] = random(seed=32, scale=0.1)
  weight l3a1_m : f32[256] = random(seed=33, scale=0.1)
  weight l3a1_v : f32[256] = ones
  weight l3a2_w : f32[256, 256, 3, 3] = random(seed=34, scale=0.0510)
  weight l3a2_s : f32[256] = ones
  weight l3a2_b : f32[256] = random(seed=35, scale=0.1)
  weight l3a2_m : f32[256] = random(seed=36, scale=0.1)
  weight l3a2_v : f32[256] = ones
  weight l3ad_w : f32[256, 128, 1, 1] = random(seed=37, scale=0.2165)
  weight l3ad_s : f32[256] = ones
  weight l3ad_b : f32[256] = random(seed=38, scale=0.1)
  weight l3ad_m : f32[256] = random(seed=39, scale=0.1)
  weight l3ad_v : f32[256] = ones
  weight l3b1_w : f32[256, 256, 3, 3] = random(seed=40, scale=0.0510)
  weight l3b1_s : f32[256] = ones
  weight l3b1_b : f32[256] = random(seed=41, scale=0.1)
  weight l3b1_m : f32[256] = random(seed=42, scale=0.1)
  weight l3b1_v : f32[256] = ones
  weight l3b2_w : f32[256, 256, 3, 3] = random(seed=43, scale=0.0510)
  weight l3b2_s : f32[256] = ones
  weight l3b2_b : f32[256] = random(seed=44, scale=0.1)
  weight l3b2_m : f32[256] = random(seed=45, scale=0.1)
  weight l3b2_v : f32[256] = ones

  weight l4a1_w : f32[512, 256, 3, 3] = random(seed=46, scale=0.0510)
  weight l4a1_s : f32[512] = ones
  weight l4a1_b : f32[512] = random(seed=47, scale=0.1)
  weight l4a1_m : f32[512] = random(seed=48, scale=0.1)
  weight l4a1_v : f32[512] = ones
  weight l4a2_w : f32[512, 512, 3, 3] = random(seed=49, scale=0.0361)
  weight l4a2_s : f32[512] = ones
  weight l4a2_b : f32[512] = random(seed=50, scale=0.1)
  weight l4a2_m : f32[512] = random(seed=51, scale=0.1)
  weight l4a2_v : f32[512] = ones
  weight l4ad_w : f32[512, 256, 1, 1] = random(seed=52, scale=0.1531)
  weight l4ad_s : f32[512] = ones
  weight l4ad_b : f32[512] = random(seed=53, scale=0.1)
  weight l4ad_m : f32[512] = random(seed=54, scale=0.1)
  weight l4ad_v : f32[512] = ones
  weight l4b1_w : f32[512, 512, 3, 3] = random(seed=55, scale=0.0361)
  weight l4b1_s : f32[512] = ones
  weight l4b1_b : f32[512] = random(seed=56, scale=0.1)
  weight l4b1_m : f32[512] = random(seed=57, scale=0.1)
  weight l4b1_v : f32[512] = ones
  weight l4b2_w : f32[512, 512, 3, 3] = random(seed=58, scale=0.0361)
  weight l4b2_s : f32[512] = ones
  weight l4b2_b : f32[512] = random(seed=59, scale=0.1)
  weight l4b2_m : f32[512] = random(seed=60, scale=0.1)
  weight l4b2_v : f32[512] = ones

  weight fc_w : f32[512, 1000] = random(seed=61, scale=0.0442)
  weight fc_b : f32[1000] = random(seed=62, scale=0.0442)

  x0 = relu(conv_bn(image, conv1_w, conv1_s, conv1_b, conv1_m, conv1_v, stride=2, pad=3))   # 64x112x112
  x1 = max_pool2d(x0, kernel=3, stride=2, pad=1)                # 64x56x56
  s1a = basic_block(x1, l1a1_w, l1a1_s, l1a1_b, l1a1_m, l1a1_v, l1a2_w, l1a2_s, l1a2_b, l1a2_m, l1a2_v)
  s1b = basic_block(s1a, l1b1_w, l1b1_s, l1b1_b, l1b1_m, l1b1_v, l1b2_w, l1b2_s, l1b2_b, l1b2_m, l1b2_v)
  s2a = down_block(s1b, l2a1_w, l2a1_s, l2a1_b, l2a1_m, l2a1_v, l2a2_w, l2a2_s, l2a2_b, l2a2_m, l2a2_v,
                    l2ad_w, l2ad_s, l2ad_b, l2ad_m, l2ad_v)
  s2b = basic_block(s2a, l2b1_w, l2b1_s, l2b1_b, l2b1_m, l2b1_v, l2b2_w, l2b2_s, l2b2_b, l2b2_m, l2b2_v)
  s3a = down_block(s2b, l3a1_w, l3a1_s, l3a1_b, l3a1_m, l3a1_v, l3a2_w, l3a2_s, l3a2_b, l3a2_m, l3a2_v,
                    l3ad_w, l3ad_s, l3ad_b, l3ad_m, l3ad_v)
  s3b = basic_block(s3a, l3b1_w, l3b1_s, l3b1_b, l3b1_m, l3b1_v, l3b2_w, l3b2_s, l3b2_b, l3b2_m, l3b2_v)
  s4a = down_block(s3b, l4a1_w, l4a1_s, l4a1_b, l4a1_m, l4a1_v, l4a2_w, l4a2_s, l4a2_b, l4a2_m, l4a2_v,
                    l4ad_w, l4ad_s, l4ad_b, l4ad_m, l4ad_v)
  s4b = basic_block(s4a, l4b1_w, l4b1_s, l4b1_b, l4b1_m, l4b1_v, l4b2_w, l4b2_s, l4b2_b, l4b2_m, l4b2_v)
  pooled = flatten(global_avg_pool(s4b))                     # 1x512
  output logits = pooled @ fc_w + fc_b
}
