// policies/policy_file: round trip, and every refusal (schema, bit flips, truncation,
// non-policy files) comes with a message naming the file and what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <msgpack.hpp>
#include <string>

#include "policies/policy_file.hpp"

namespace hp = hetsched::policies;
namespace fs = std::filesystem;
using hetsched::StatusCode;

namespace {

const hp::PolicySchema kSchema{"rockpi_n10", "googlenet", "order13x4:freq6x6", 3};

hp::Mlp small_net() {
  auto m = hp::Mlp::create({.layer_sizes = {3, 4, 2}, .hidden_activation = hp::Activation::kTanh});
  EXPECT_TRUE(m.ok());
  float v = -1.0f;
  for (float& p : m->params()) p = (v += 0.173f);
  return std::move(m).value();
}

std::string temp_path(const std::string& name) {
  return (fs::path(testing::TempDir()) / ("hetsched_policy_" + name)).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(PolicyFile, RoundTripKeepsWeightsSchemaAndMetadata) {
  const auto net = small_net();
  const std::map<std::string, std::string> meta = {{"seed", "7"}, {"steps", "12000"}, {"learner", "double-dqn"}};
  const std::string path = temp_path("roundtrip.hpol");
  ASSERT_TRUE(hp::save_policy_file(path, net, kSchema, meta).ok());
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto f = hp::load_policy_file(path, kSchema, 3, 2);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->mlp.options().layer_sizes, net.options().layer_sizes);
  EXPECT_EQ(f->mlp.options().hidden_activation, hp::Activation::kTanh);
  EXPECT_EQ(f->mlp.checksum(), net.checksum());  // bit-identical weights
  EXPECT_EQ(f->metadata, meta);
  EXPECT_EQ(f->schema_hash, hp::schema_hash(kSchema));
  EXPECT_EQ(f->schema.action_space, kSchema.action_space);
}

TEST(PolicyFile, SchemaHashSeparatesFields) {
  auto h = hp::schema_hash(kSchema);
  EXPECT_NE(h, hp::schema_hash({"rockpi_n1", "0googlenet", kSchema.action_space, 3}));
  EXPECT_NE(h, hp::schema_hash({kSchema.platform, kSchema.model, kSchema.action_space, 4}));
  EXPECT_EQ(h, hp::schema_hash(hp::PolicySchema(kSchema)));
}

TEST(PolicyFile, RefusesAnotherSchemaNamingEachDifference) {
  const std::string path = temp_path("schema.hpol");
  ASSERT_TRUE(hp::save_policy_file(path, small_net(), kSchema, {}).ok());
  struct Case {
    hp::PolicySchema expected;
    std::string must_mention;
  };
  const Case cases[] = {
      {{"vim3", "googlenet", kSchema.action_space, 3}, "platform 'rockpi_n10' (expected 'vim3')"},
      {{"rockpi_n10", "alexnet", kSchema.action_space, 3}, "model 'googlenet' (expected 'alexnet')"},
      {{"rockpi_n10", "googlenet", "order13x4:freq6x7", 3}, "action_space"},
      {{"rockpi_n10", "googlenet", kSchema.action_space, 4}, "obs_schema_version '3' (expected '4')"},
  };
  for (const auto& c : cases) {
    auto f = hp::load_policy_file(path, c.expected);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(f.status().message(), path)) << f.status().message();
    EXPECT_TRUE(contains(f.status().message(), c.must_mention)) << f.status().message();
  }
  auto both = hp::load_policy_file(path, {"vim3", "alexnet", kSchema.action_space, 3});
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(contains(both.status().message(), "platform") && contains(both.status().message(), "model"));
  auto dims = hp::load_policy_file(path, kSchema, 4, 2);
  ASSERT_FALSE(dims.ok());
  EXPECT_TRUE(contains(dims.status().message(), "observation_size '3' (expected '4')")) << dims.status().message();
  dims = hp::load_policy_file(path, kSchema, 3, 5);
  ASSERT_FALSE(dims.ok());
  EXPECT_TRUE(contains(dims.status().message(), "num_actions")) << dims.status().message();
}

// Every single-bit flip anywhere in the file is refused (checksum, magic, version or structure),
// and the parser never crashes on any of them.
TEST(PolicyFile, EveryBitFlipIsRefused) {
  const std::string bytes = hp::encode_policy(small_net(), kSchema, {{"seed", "1"}});
  ASSERT_TRUE(hp::decode_policy(bytes, "ok.hpol").ok());
  int checksum_refusals = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto f = hp::decode_policy(bad, "flip.hpol");
      ASSERT_FALSE(f.ok()) << "flip of byte " << i << " bit " << bit << " accepted";
      EXPECT_EQ(f.status().code(), StatusCode::kCorrupt);
      EXPECT_TRUE(contains(f.status().message(), "flip.hpol")) << f.status().message();
      checksum_refusals += contains(f.status().message(), "checksum mismatch");
    }
  }
  EXPECT_GT(checksum_refusals, static_cast<int>(bytes.size()) * 8 / 2);  // the payload is most of the file
}

TEST(PolicyFile, ChecksumMismatchMessageOnDisk) {
  std::string bytes = hp::encode_policy(small_net(), kSchema, {});
  bytes[bytes.size() - 5] ^= 0x10;  // inside the weights
  const std::string path = temp_path("flipped.hpol");
  write_bytes(path, bytes);
  auto f = hp::load_policy_file(path, kSchema);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(contains(f.status().message(), path)) << f.status().message();
  EXPECT_TRUE(contains(f.status().message(), "checksum mismatch")) << f.status().message();
}

TEST(PolicyFile, EveryTruncationIsRefused) {
  const std::string bytes = hp::encode_policy(small_net(), kSchema, {{"date", "2026-11-25"}});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto f = hp::decode_policy(bytes.substr(0, n), "cut.hpol");
    ASSERT_FALSE(f.ok()) << "truncated to " << n << " bytes accepted";
    EXPECT_TRUE(contains(f.status().message(), "cut.hpol"));
  }
  auto f = hp::decode_policy(bytes.substr(0, bytes.size() / 2), "cut.hpol");
  EXPECT_TRUE(contains(f.status().message(), "truncated")) << f.status().message();
  auto extra = hp::decode_policy(bytes + "x", "extra.hpol");
  ASSERT_FALSE(extra.ok());
  EXPECT_TRUE(contains(extra.status().message(), "unexpected bytes")) << extra.status().message();
}

TEST(PolicyFile, NonPolicyFilesAreRefused) {
  auto missing = hp::read_policy_file(temp_path("does_not_exist.hpol"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(missing.status().message(), "does_not_exist.hpol"));
  auto dir = hp::read_policy_file(testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(contains(dir.status().message(), "not a regular file"));

  const std::string empty = temp_path("empty.hpol");
  write_bytes(empty, "");
  auto e = hp::read_policy_file(empty);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(contains(e.status().message(), "empty file")) << e.status().message();

  const std::string json = temp_path("json.hpol");
  write_bytes(json, "{\"magic\": \"hetsched-policy\"}\n");
  auto j = hp::read_policy_file(json);
  ASSERT_FALSE(j.ok());
  EXPECT_TRUE(contains(j.status().message(), "not a hetsched policy file")) << j.status().message();

  // A well-formed msgpack map that is something else (e.g. a trace header).
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  pk.pack_map(2);
  pk.pack(std::string("magic")), pk.pack(std::string("hetsched-trace"));
  pk.pack(std::string("format_version")), pk.pack(1);
  auto t = hp::decode_policy(std::string(buf.data(), buf.size()), "trace.bin");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.status().message(), "magic 'hetsched-trace'")) << t.status().message();

  // Right magic, future version.
  msgpack::sbuffer v2;
  msgpack::packer<msgpack::sbuffer> pv(&v2);
  pv.pack_map(2);
  pv.pack(std::string("magic")), pv.pack(std::string(hp::kPolicyMagic));
  pv.pack(std::string("format_version")), pv.pack(2);
  auto fv = hp::decode_policy(std::string(v2.data(), v2.size()), "v2.hpol");
  ASSERT_FALSE(fv.ok());
  EXPECT_TRUE(contains(fv.status().message(), "format_version 2")) << fv.status().message();
}

TEST(PolicyFile, SaveToAnUnwritablePlaceFailsCleanly) {
  auto s = hp::save_policy_file("/nonexistent_dir_hetsched/x.hpol", small_net(), kSchema, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(s.message(), "/nonexistent_dir_hetsched/x.hpol"));
  EXPECT_FALSE(hp::save_policy_file(temp_path("empty_net.hpol"), hp::Mlp(), kSchema, {}).ok());
}

// A file with a valid checksum whose contents disagree (a writer bug or a forged file):
// refused by the structure checks, and huge layer sizes are refused before any allocation.
TEST(PolicyFile, ConsistentChecksumButInconsistentContentIsRefused) {
  auto forge = [](const std::vector<int>& sizes, std::size_t weight_bytes, const std::string& platform) {
    msgpack::sbuffer payload;
    msgpack::packer<msgpack::sbuffer> pk(&payload);
    pk.pack_map(10);
    const hp::PolicySchema schema{platform, kSchema.model, kSchema.action_space, 3};
    pk.pack(std::string("schema_hash")), pk.pack(hp::schema_hash(kSchema));  // hash of kSchema
    pk.pack(std::string("platform")), pk.pack(schema.platform);
    pk.pack(std::string("model")), pk.pack(schema.model);
    pk.pack(std::string("action_space")), pk.pack(schema.action_space);
    pk.pack(std::string("obs_schema_version")), pk.pack(3);
    pk.pack(std::string("layer_sizes")), pk.pack(sizes);
    pk.pack(std::string("hidden_activation")), pk.pack(std::string("relu"));
    pk.pack(std::string("output_activation")), pk.pack(std::string("identity"));
    const std::string w(weight_bytes, '\0');
    pk.pack(std::string("weights")), pk.pack_bin(static_cast<std::uint32_t>(w.size())),
        pk.pack_bin_body(w.data(), static_cast<std::uint32_t>(w.size()));
    pk.pack(std::string("metadata")), pk.pack_map(0);
    msgpack::sbuffer file;
    msgpack::packer<msgpack::sbuffer> po(&file);
    po.pack_map(4);
    po.pack(std::string("magic")), po.pack(std::string(hp::kPolicyMagic));
    po.pack(std::string("format_version")), po.pack(hp::kPolicyFormatVersion);
    po.pack(std::string("checksum")), po.pack(hp::fnv1a64(payload.data(), payload.size()));
    po.pack(std::string("payload")), po.pack_bin(static_cast<std::uint32_t>(payload.size())),
        po.pack_bin_body(payload.data(), static_cast<std::uint32_t>(payload.size()));
    return std::string(file.data(), file.size());
  };
  // Sanity: the forger makes acceptable files when everything agrees.
  const std::size_t ok_bytes = (3 * 4 + 4 + 4 * 2 + 2) * sizeof(float);
  ASSERT_TRUE(hp::decode_policy(forge({3, 4, 2}, ok_bytes, kSchema.platform), "forged.hpol").ok());
  auto wrong_size = hp::decode_policy(forge({3, 4, 2}, ok_bytes - 4, kSchema.platform), "forged.hpol");
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_TRUE(contains(wrong_size.status().message(), "weights hold 100 bytes, layer_sizes need 104"))
      << wrong_size.status().message();
  // 17 layers of 4096 would need 1 GiB: refused on the size comparison, nothing allocated.
  auto huge = hp::decode_policy(forge(std::vector<int>(17, 4096), 16, kSchema.platform), "forged.hpol");
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(contains(huge.status().message(), "layer_sizes need")) << huge.status().message();
  auto too_wide = hp::decode_policy(forge({3, 5000, 2}, 16, kSchema.platform), "forged.hpol");
  ASSERT_FALSE(too_wide.ok());
  EXPECT_TRUE(contains(too_wide.status().message(), "layer_sizes[1]")) << too_wide.status().message();
  auto bad_hash = hp::decode_policy(forge({3, 4, 2}, ok_bytes, "vim3"), "forged.hpol");
  ASSERT_FALSE(bad_hash.ok());
  EXPECT_TRUE(contains(bad_hash.status().message(), "schema_hash")) << bad_hash.status().message();
}
