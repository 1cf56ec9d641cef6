// Shared fixtures of the executor tests: hand-built models, boundary buffers, a whole-model
// naive reference run and the split-execution check.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "hetsched/executor.hpp"
#include "policies/model.hpp"
#include "runtime/executor.hpp"
#include "tests/runtime/kernel_reference.hpp"

namespace hetsched::runtime::fixtures {

using policies::LayerDesc;
using policies::ModelDesc;
using policies::OpType;

inline LayerDesc L(const char* name, OpType op, std::vector<int> inputs = {}, int out_c = 0, int k = 1, int s = 1, int p = 0,
            OpType act = OpType::kCount) {
  LayerDesc l;
  l.name = name;
  l.op = op;
  l.inputs = std::move(inputs);
  l.out_channels = out_c;
  l.kernel = k;
  l.stride = s;
  l.pad = p;
  l.activation = act;
  return l;
}

// One block per layer unless `ends` says otherwise.
inline ModelDesc make_model(const char* name, policies::TensorShape input, std::vector<LayerDesc> layers,
                     std::vector<int> ends = {}) {
  ModelDesc m;
  m.name = name;
  m.input = input;
  m.layers = std::move(layers);
  if (ends.empty())
    for (size_t i = 1; i <= m.layers.size(); ++i) ends.push_back(static_cast<int>(i));
  int first = 0;
  for (int e : ends) {
    policies::BlockDesc b;
    b.name = "b" + std::to_string(m.blocks.size());
    b.first_layer = first;
    b.end_layer = e;
    m.blocks.push_back(b);
    first = e;
  }
  return m;
}

// Classifier chain: every op of the CNN classifiers, pooling in Caffe ceil mode.
inline ModelDesc chain_model() {
  std::vector<LayerDesc> ls = {
      L("conv1", OpType::kConv, {}, 8, 3, 2, 1, OpType::kRelu), L("lrn1", OpType::kLrn, {}, 0, 5),
      L("pool1", OpType::kMaxPool, {}, 0, 3, 2, 0), L("dw2", OpType::kDepthwiseConv, {}, 0, 3, 1, 1, OpType::kRelu6),
      L("pw2", OpType::kPointwiseConv, {}, 12, 1, 1, 0, OpType::kRelu6), L("avg3", OpType::kAvgPool, {}, 0, 3, 2, 1),
      L("gap", OpType::kAvgPool), L("fc", OpType::kFullyConnected, {}, 10), L("prob", OpType::kSoftmax)};
  ls[2].ceil_mode = true;
  ls[5].ceil_mode = true;
  ls[6].global_pool = true;
  return make_model("chain", {3, 23, 19}, ls);
}

// YOLO/ResNet-like graph: a residual add over two blocks, a route (concat with an upsampled
// deep tensor) spanning four blocks, and two detection heads (two model outputs).
inline ModelDesc graph_model() {
  const OpType lk = OpType::kLeakyRelu;
  std::vector<LayerDesc> ls = {
      L("c0", OpType::kConv, {}, 6, 3, 1, 1, lk),          // 0
      L("c1", OpType::kConv, {}, 8, 3, 2, 1, lk),          // 1
      L("c2", OpType::kPointwiseConv, {}, 4, 1, 1, 0, lk), // 2
      L("c3", OpType::kConv, {}, 8, 3, 1, 1, lk),          // 3
      L("add", OpType::kAdd, {1, 3}),                      // 4
      L("c5", OpType::kConv, {}, 10, 3, 2, 1, lk),         // 5
      L("head1", OpType::kPointwiseConv, {}, 7, 1, 1, 0),  // 6: model output 1
      L("c7", OpType::kPointwiseConv, {5}, 4, 1, 1, 0, lk),  // 7
      L("up", OpType::kUpsample, {}, 0, 1, 2),             // 8
      L("route", OpType::kConcat, {8, 4}),                 // 9
      L("relu", OpType::kRelu, {}),                        // 10
      L("head2", OpType::kConv, {}, 5, 3, 1, 1)};          // 11: model output 2
  return make_model("graph", {3, 16, 12}, ls, {1, 2, 3, 5, 6, 7, 9, 10, 12});
}

inline std::shared_ptr<const EigenModel> build(const ModelDesc& m, std::uint64_t seed = 1) {
  auto model = EigenModel::create(m, {.weights_path = "", .seed = seed});
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  return model.ok() ? model.value() : nullptr;
}

// Tensors of one boundary in a single vector, with views into it.
struct Boundary {
  std::vector<float> data;
  std::vector<TensorView> views;
  Boundary(const BoundaryLayout& l, int k) : data(static_cast<size_t>(l.boundary_floats(k))),
                                             views(l.boundary[static_cast<size_t>(k)].size()) {
    boundary_views(l, k, data.data(), views.data());
  }
};

inline std::vector<float> random_input(const ModelDesc& m, std::uint32_t seed) {
  std::mt19937 rng(seed);
  return ref::random_vec(m.input.elements(), rng, 0.0f, 1.0f);
}

// Whole-model reference: naive kernels, one buffer per layer, no blocks.
inline std::vector<std::vector<float>> reference_run(const EigenModel& em, const std::vector<float>& input) {
  const ModelPlan& p = em.plan();
  std::vector<std::vector<float>> t(p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const LayerPlan& lp = p.layers[i];
    auto src = [&](size_t k) { return lp.inputs[k] < 0 ? input.data() : t[static_cast<size_t>(lp.inputs[k])].data(); };
    t[i].resize(static_cast<size_t>(lp.out.elements()));
    float* out = t[i].data();
    const float* w = em.params() + lp.param_offset;
    switch (lp.op) {
      case OpType::kConv: case OpType::kDepthwiseConv: case OpType::kPointwiseConv:
        ref::conv2d(lp.conv, src(0), w, w + lp.weight_floats, out); break;
      case OpType::kFullyConnected: ref::fc(lp.fc_in, lp.out.c, src(0), w, w + lp.weight_floats, out, lp.act); break;
      case OpType::kMaxPool: ref::pool(lp.pool, true, src(0), out); break;
      case OpType::kAvgPool: ref::pool(lp.pool, false, src(0), out); break;
      case OpType::kLrn: ref::lrn(lp.out.c, lp.out.h, lp.out.w, lp.lrn_size, kLrnAlpha, kLrnBeta, kLrnK, src(0), out); break;
      case OpType::kSoftmax: ref::softmax(lp.out.c, lp.out.h, lp.out.w, src(0), out); break;
      case OpType::kUpsample: ref::upsample(lp.out.c, lp.out.h / lp.factor, lp.out.w / lp.factor, lp.factor, src(0), out); break;
      case OpType::kRelu: for (size_t j = 0; j < t[i].size(); ++j) out[j] = ref::act(src(0)[j], Act::kRelu); break;
      case OpType::kAdd:
        for (size_t j = 0; j < t[i].size(); ++j) {
          float s = 0;
          for (size_t k = 0; k < lp.inputs.size(); ++k) s += src(k)[j];
          out[j] = ref::act(s, lp.act);
        }
        break;
      case OpType::kConcat:
        for (size_t k = 0; k < lp.inputs.size(); ++k) {
          const auto& sh = lp.inputs[k] < 0 ? p.input : p.layers[static_cast<size_t>(lp.inputs[k])].out;
          out = std::copy(src(k), src(k) + sh.elements(), out);
        }
        break;
      default: ADD_FAILURE() << "reference lacks op " << policies::op_name(lp.op);
    }
  }
  return t;
}

// Full run via run_range, then: block-by-block on a second executor, and for every boundary k
// blocks [k, n) on a third executor (whose arena holds stale data from earlier runs) starting
// from the second executor's boundary k. All final outputs must be bit-identical.
inline void expect_split_identical(const std::shared_ptr<const EigenModel>& model, const std::vector<float>& input,
                            std::vector<float>* final_out = nullptr) {
  auto e1 = EigenExecutor::create(model), e2 = EigenExecutor::create(model), e3 = EigenExecutor::create(model);
  ASSERT_TRUE(e1.ok() && e2.ok() && e3.ok());
  const BoundaryLayout& l = model->plan().layout;
  const int nb = l.num_blocks();
  std::vector<Boundary> bs;
  for (int k = 0; k <= nb; ++k) bs.emplace_back(l, k);
  std::copy(input.begin(), input.end(), bs[0].data.begin());
  Boundary full(l, nb);
  ASSERT_TRUE(e1.value()->run_range(0, nb, bs[0].views.data(), 1, full.views.data(), static_cast<int>(full.views.size())).ok());
  for (int b = 0; b < nb; ++b) {
    const Status st = e2.value()->run_block(b, bs[static_cast<size_t>(b)].views.data(),
                                            static_cast<int>(bs[static_cast<size_t>(b)].views.size()),
                                            bs[static_cast<size_t>(b) + 1].views.data(),
                                            static_cast<int>(bs[static_cast<size_t>(b) + 1].views.size()));
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  EXPECT_EQ(0, std::memcmp(full.data.data(), bs.back().data.data(), full.data.size() * sizeof(float)));
  for (int k = 1; k < nb; ++k) {
    Boundary tail(l, nb);
    const auto& in = bs[static_cast<size_t>(k)].views;
    ASSERT_TRUE(e3.value()->run_range(k, nb, in.data(), static_cast<int>(in.size()), tail.views.data(),
                                      static_cast<int>(tail.views.size())).ok());
    EXPECT_EQ(0, std::memcmp(full.data.data(), tail.data.data(), full.data.size() * sizeof(float)))
        << model->plan().name << " split at boundary " << k;
  }
  if (final_out) *final_out = full.data;
}

}  // namespace hetsched::runtime::fixtures
