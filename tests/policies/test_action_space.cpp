// Action space: every action yields a valid configuration; masks exclude offline units,
// thermally capped OPPs, unsupported ops and NPU placements over the accuracy budget.
#include <gtest/gtest.h>

#include "policies/action_space.hpp"
#include "policies/mlp.hpp"

namespace hp = hetsched::policies;

namespace {

struct Fixture {
  hp::PlatformDesc p;
  hp::ModelDesc m;
};

Fixture load(const std::string& model) {
  auto p = hp::load_platform_by_name(HETSCHED_SOURCE_DIR, "rockpi_n10");
  auto m = hp::load_model_by_name(HETSCHED_SOURCE_DIR, model);
  EXPECT_TRUE(p.ok() && m.ok());
  return {*p, *m};
}

hp::Config cfg(const Fixture& f, const std::string& text) {
  auto c = hp::parse_config(text, f.p, f.m);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

}  // namespace

TEST(ActionSpace, EveryActionGivesAValidConfig) {
  Fixture f = load("googlenet");
  hp::ActionSpaceOptions o;
  o.candidates = {cfg(f, "BBBBGGGGGNNNN:BL:5,7,4"), cfg(f, "LLLLLLLLLLLLL:BB:2,7,0"), cfg(f, "BBBBGGGGGNNNN:BL:5,7,4")};
  auto s = hp::ActionSpace::create(f.p, f.m, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->num_candidates(), 2);  // duplicate removed
  EXPECT_EQ(s->size(), 2 + 2 * 3 + 1);  // L, B, G have DVFS; the NPU does not
  for (int start = 0; start < 2; ++start)
    for (int a = 0; a < s->size(); ++a) {
      const hp::Config c = s->apply(a, s->candidate(start));
      EXPECT_TRUE(hp::validate_config(c, f.p, f.m).ok()) << s->describe(a);
    }
  EXPECT_EQ(s->apply(s->stay_action(), s->candidate(1)), s->candidate(1));
  EXPECT_EQ(s->apply(hp::kNoAction, s->candidate(1)), s->candidate(1));
  EXPECT_EQ(s->describe(s->stay_action()), "stay");
  hp::Config top = s->candidate(0);
  const int up_b = 2 + 2 * 1 + 1;  // B+
  EXPECT_EQ(s->describe(up_b), "B+");
  EXPECT_EQ(s->apply(up_b, top).freq_idx[1], 7);  // already at the top: clamped
}

TEST(ActionSpace, MasksOfflineCappedAndUnused) {
  Fixture f = load("googlenet");
  hp::ActionSpaceOptions o;
  o.candidates = {cfg(f, "BBBBGGGGGNNNN:BL:5,7,4"), cfg(f, "LLLLLLLLLLLLL:BB:2,7,0"), cfg(f, "BBBBBBBBBBBBB:BB:0,3,0")};
  auto s = hp::ActionSpace::create(f.p, f.m, o);
  ASSERT_TRUE(s.ok());
  std::vector<std::uint8_t> m(static_cast<size_t>(s->size()));
  hp::MaskInput in;
  ASSERT_TRUE(s->mask(s->candidate(0), in, m));
  EXPECT_EQ(m[0] + m[1] + m[2], 3);
  in.online[3] = false;  // NPU offline
  ASSERT_TRUE(s->mask(s->candidate(0), in, m));
  EXPECT_EQ(m[0], 0);
  EXPECT_EQ(m[1], 1);
  EXPECT_EQ(m[static_cast<size_t>(s->stay_action())], 0);  // the current config uses the NPU
  in.online[3] = true;
  in.max_opp[1] = 5;  // thermal cap on B: the candidates needing B at 7 are out
  ASSERT_TRUE(s->mask(s->candidate(2), in, m));
  EXPECT_EQ(m[0], 0);  // B at 7 hosts the GPU: capped out
  EXPECT_EQ(m[1], 1);  // all-L: B's OPP is irrelevant, the cap on B does not mask it
  EXPECT_EQ(m[2], 1);
  // Nudges from candidate 2 (B only at OPP 3): L and G unused, B down/up allowed below the cap.
  EXPECT_EQ(m[3] + m[4], 0);
  EXPECT_EQ(m[5], 1);
  EXPECT_EQ(m[6], 1);
  EXPECT_EQ(m[7] + m[8], 0);
  std::vector<std::uint8_t> wrong(3);
  EXPECT_FALSE(s->mask(s->candidate(0), in, wrong));
}

TEST(ActionSpace, UnsupportedOpMasksStatically) {
  Fixture f = load("googlenet");
  hp::ActionSpaceOptions o;
  o.candidates = {cfg(f, "BBBBGGGGGNNNN:BL:5,7,4"), cfg(f, "LLLLLLLLLLLLL:BB:2,7,0")};
  o.unsupported = {{hp::UnitKind::kNpu, hp::OpType::kConcat}};  // GoogleNet's inception blocks concat
  auto s = hp::ActionSpace::create(f.p, f.m, o);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->statically_allowed(0));
  EXPECT_TRUE(s->statically_allowed(1));
  std::vector<std::uint8_t> m(static_cast<size_t>(s->size()));
  ASSERT_TRUE(s->mask(s->candidate(1), {}, m));
  EXPECT_EQ(m[0], 0);
  EXPECT_EQ(m[1], 1);
}

TEST(ActionSpace, AccuracyBudgetForYolov3) {
  Fixture f = load("yolov3");
  auto acc = hp::load_accuracy_table(HETSCHED_SOURCE_DIR, "yolov3");
  ASSERT_TRUE(acc.ok()) << acc.status().message();
  ASSERT_EQ(static_cast<int>(acc->drop.size()), f.m.num_blocks());
  const std::string all_n(static_cast<size_t>(f.m.num_blocks()), 'N');
  const std::string all_b(static_cast<size_t>(f.m.num_blocks()), 'B');
  hp::ActionSpaceOptions o;
  o.candidates = {cfg(f, all_n + ":BB:0,7,0"), cfg(f, all_b + ":BB:0,7,0")};
  o.accuracy = *acc;
  // The measured mAP with every layer int8 is 64.7 (fp32 ~68.8): a 66.0 budget excludes it.
  EXPECT_NEAR(hp::predicted_map(*acc, o.candidates[0]), 64.7, 0.5);
  EXPECT_NEAR(hp::predicted_map(*acc, o.candidates[1]), acc->fp32_map, 1e-12);
  o.min_map = 66.0;
  auto s = hp::ActionSpace::create(f.p, f.m, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->statically_allowed(0));
  EXPECT_TRUE(s->statically_allowed(1));
  // Other models have no table: no accuracy mask.
  auto none = hp::load_accuracy_table(HETSCHED_SOURCE_DIR, "googlenet");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->model.empty());
}

TEST(ActionSpace, RejectsBadCandidates) {
  Fixture f = load("googlenet");
  hp::ActionSpaceOptions o;
  EXPECT_FALSE(hp::ActionSpace::create(f.p, f.m, o).ok());
  hp::Config c = cfg(f, "BBBBGGGGGNNNN:BL:5,7,4");
  c.unit[0] = 'X';
  o.candidates = {c};
  auto s = hp::ActionSpace::create(f.p, f.m, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("candidates[0]"), std::string::npos);
}
