#include "policies/policy_file.hpp"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <msgpack.hpp>
#include <vector>

namespace hetsched::policies {

// Weights are written as raw float32 bytes; every target (x86-64, AArch64 Linux) is little-endian.
static_assert(std::endian::native == std::endian::little, "policy files store little-endian float32");

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string printable(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (c >= 32 && c < 127) ? c : '?';  // corrupt strings stay printable
  if (s.size() > 80) out += "...";
  return out + "'";
}

// A view of one msgpack map with typed field accessors that produce "file: field ..." errors.
class MapView {
 public:
  MapView(const msgpack::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  Status check_keys_unique() const {
    const auto& m = o_.via.map;
    for (std::uint32_t i = 0; i < m.size; ++i) {
      if (m.ptr[i].key.type != msgpack::type::STR) return err("a map key is not a string");
      for (std::uint32_t j = 0; j < i; ++j)
        if (m.ptr[j].key == m.ptr[i].key) return err("duplicate field " + printable(key_of(i)));
    }
    return Status::Ok();
  }
  Result<const msgpack::object*> field(std::string_view key, msgpack::type::object_type type,
                                       const char* type_name) const {
    const auto& m = o_.via.map;
    for (std::uint32_t i = 0; i < m.size; ++i) {
      if (key_of(i) != key) continue;
      if (m.ptr[i].val.type != type)
        return err("field '" + std::string(key) + "' is not a " + type_name);
      return &m.ptr[i].val;
    }
    return err("missing field '" + std::string(key) + "'");
  }
  Result<std::string> str(std::string_view key) const {
    auto f = field(key, msgpack::type::STR, "string");
    if (!f.ok()) return f.status();
    return std::string((*f)->via.str.ptr, (*f)->via.str.size);
  }
  Result<std::uint64_t> u64(std::string_view key) const {
    auto f = field(key, msgpack::type::POSITIVE_INTEGER, "non-negative integer");
    if (!f.ok()) return f.status();
    return (*f)->via.u64;
  }
  Status err(const std::string& what) const { return Error(StatusCode::kCorrupt, where_ + ": " + what); }

 private:
  std::string_view key_of(std::uint32_t i) const {
    const auto& k = o_.via.map.ptr[i].key;
    return k.type == msgpack::type::STR ? std::string_view(k.via.str.ptr, k.via.str.size) : std::string_view();
  }
  const msgpack::object& o_;
  std::string where_;
};

// Unpacks exactly one msgpack map spanning all of `bytes`, with bounded sizes so a corrupt
// length field cannot make the parser allocate gigabytes.
Status unpack_map(std::string_view bytes, msgpack::object_handle* out, const std::string& where) {
  const msgpack::unpack_limit limit(/*array=*/kMlpMaxLayers + 2, /*map=*/4096, /*str=*/1 << 20,
                                    /*bin=*/kPolicyMaxFileBytes, /*ext=*/0, /*depth=*/4);
  std::size_t offset = 0;
  try {
    *out = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
  } catch (const msgpack::insufficient_bytes&) {
    return Error(StatusCode::kCorrupt, where + ": truncated (msgpack data ends early)");
  } catch (const std::exception& e) {
    return Error(StatusCode::kCorrupt, where + ": not valid msgpack (" + e.what() + ")");
  }
  if (out->get().type != msgpack::type::MAP)
    return Error(StatusCode::kCorrupt, where + ": not a hetsched policy file (does not start with a msgpack map)");
  if (offset != bytes.size())
    return Error(StatusCode::kCorrupt, where + ": " + std::to_string(bytes.size() - offset) +
                                           " unexpected bytes after the msgpack map");
  return Status::Ok();
}

}  // namespace

std::uint64_t schema_hash(const PolicySchema& s) noexcept {
  std::uint64_t h = kFnvOffset;
  for (const std::string* f : {&s.platform, &s.model, &s.action_space}) {
    const auto n = static_cast<std::uint64_t>(f->size());
    h = fnv1a64(&n, sizeof n, h);
    h = fnv1a64(f->data(), f->size(), h);
  }
  const auto v = static_cast<std::int64_t>(s.observation_schema_version);
  return fnv1a64(&v, sizeof v, h);
}

std::string encode_policy(const Mlp& mlp, const PolicySchema& schema,
                          const std::map<std::string, std::string>& metadata) {
  msgpack::sbuffer payload;
  {
    Packer pk(&payload);
    pk.pack_map(10);
    pack_str(pk, "schema_hash"), pk.pack_uint64(schema_hash(schema));
    pack_str(pk, "platform"), pack_str(pk, schema.platform);
    pack_str(pk, "model"), pack_str(pk, schema.model);
    pack_str(pk, "action_space"), pack_str(pk, schema.action_space);
    pack_str(pk, "obs_schema_version"), pk.pack_int64(schema.observation_schema_version);
    pack_str(pk, "layer_sizes"), pk.pack_array(static_cast<std::uint32_t>(mlp.options().layer_sizes.size()));
    for (int w : mlp.options().layer_sizes) pk.pack_int64(w);
    pack_str(pk, "hidden_activation"), pack_str(pk, activation_name(mlp.options().hidden_activation));
    pack_str(pk, "output_activation"), pack_str(pk, activation_name(mlp.options().output_activation));
    const auto nbytes = static_cast<std::uint32_t>(mlp.num_params() * sizeof(float));
    pack_str(pk, "weights"), pk.pack_bin(nbytes);
    pk.pack_bin_body(reinterpret_cast<const char*>(mlp.params().data()), nbytes);
    pack_str(pk, "metadata"), pk.pack_map(static_cast<std::uint32_t>(metadata.size()));
    for (const auto& [k, v] : metadata) pack_str(pk, k), pack_str(pk, v);
  }
  msgpack::sbuffer file;
  Packer pk(&file);
  pk.pack_map(4);
  pack_str(pk, "magic"), pack_str(pk, kPolicyMagic);
  pack_str(pk, "format_version"), pk.pack_int64(kPolicyFormatVersion);
  pack_str(pk, "checksum"), pk.pack_uint64(fnv1a64(payload.data(), payload.size()));
  pack_str(pk, "payload"), pk.pack_bin(static_cast<std::uint32_t>(payload.size()));
  pk.pack_bin_body(payload.data(), static_cast<std::uint32_t>(payload.size()));
  return std::string(file.data(), file.size());
}

Status save_policy_file(const std::string& path, const Mlp& mlp, const PolicySchema& schema,
                        const std::map<std::string, std::string>& metadata) {
  if (mlp.num_layers() == 0) return Error(StatusCode::kInvalidArgument, "policy file '" + path + "': empty MLP");
  const std::string bytes = encode_policy(mlp, schema, metadata);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error(StatusCode::kIoError, "policy file '" + tmp + "': cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return Error(StatusCode::kIoError, "policy file '" + tmp + "': write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error(StatusCode::kIoError, "policy file '" + path + "': rename from .tmp failed: " + ec.message());
  return Status::Ok();
}

Result<PolicyFile> decode_policy(std::string_view bytes, const std::string& source) {
  const std::string where = "policy file '" + source + "'";
  if (bytes.empty()) return Error(StatusCode::kCorrupt, where + ": empty file, not a hetsched policy file");
  msgpack::object_handle outer_h;
  HETSCHED_RETURN_IF_ERROR(unpack_map(bytes, &outer_h, where));
  const MapView outer(outer_h.get(), where);
  HETSCHED_RETURN_IF_ERROR(outer.check_keys_unique());
  auto magic = outer.str("magic");
  if (!magic.ok() || *magic != kPolicyMagic)
    return Error(StatusCode::kCorrupt, where + ": not a hetsched policy file (magic " +
                                           (magic.ok() ? printable(*magic) : std::string("missing")) +
                                           ", expected '" + std::string(kPolicyMagic) + "')");
  auto version = outer.u64("format_version");
  if (!version.ok()) return version.status();
  if (*version != static_cast<std::uint64_t>(kPolicyFormatVersion))
    return Error(StatusCode::kCorrupt, where + ": format_version " + std::to_string(*version) +
                                           ", this build reads version " + std::to_string(kPolicyFormatVersion));
  auto stored = outer.u64("checksum");
  if (!stored.ok()) return stored.status();
  auto payload_o = outer.field("payload", msgpack::type::BIN, "bin");
  if (!payload_o.ok()) return payload_o.status();
  if (outer_h.get().via.map.size != 4) return outer.err("outer map has unexpected extra fields");
  const std::string_view payload((*payload_o)->via.bin.ptr, (*payload_o)->via.bin.size);
  const std::uint64_t computed = fnv1a64(payload.data(), payload.size());
  if (computed != *stored)
    return Error(StatusCode::kCorrupt, where + ": checksum mismatch (stored " + hex64(*stored) + ", computed " +
                                           hex64(computed) + "): the file is corrupted");

  // The checksum matched, so from here on errors mean a writer bug or a forged file.
  msgpack::object_handle inner_h;
  HETSCHED_RETURN_IF_ERROR(unpack_map(payload, &inner_h, where + " payload"));
  const MapView in(inner_h.get(), where + " payload");
  HETSCHED_RETURN_IF_ERROR(in.check_keys_unique());
  PolicyFile pf;
  pf.checksum = *stored;
  auto sh = in.u64("schema_hash");
  auto platform = in.str("platform");
  auto model = in.str("model");
  auto action_space = in.str("action_space");
  auto hidden = in.str("hidden_activation");
  auto output = in.str("output_activation");
  for (const Status& s : {sh.status(), platform.status(), model.status(), action_space.status(), hidden.status(),
                          output.status()})
    HETSCHED_RETURN_IF_ERROR(s);
  auto obs_v = in.field("obs_schema_version", msgpack::type::POSITIVE_INTEGER, "non-negative integer");
  if (!obs_v.ok()) return obs_v.status();
  if ((*obs_v)->via.u64 > 0x7fffffffULL) return in.err("obs_schema_version out of range");
  pf.schema = {*platform, *model, *action_space, static_cast<int>((*obs_v)->via.u64)};
  pf.schema_hash = *sh;
  if (schema_hash(pf.schema) != pf.schema_hash)
    return in.err("schema_hash " + hex64(pf.schema_hash) + " does not match the schema strings (" +
                  hex64(schema_hash(pf.schema)) + ")");

  MlpOptions mo;
  if (!parse_activation(*hidden, &mo.hidden_activation)) return in.err("unknown hidden_activation " + printable(*hidden));
  if (!parse_activation(*output, &mo.output_activation)) return in.err("unknown output_activation " + printable(*output));
  auto sizes = in.field("layer_sizes", msgpack::type::ARRAY, "array");
  if (!sizes.ok()) return sizes.status();
  for (std::uint32_t i = 0; i < (*sizes)->via.array.size; ++i) {
    const auto& e = (*sizes)->via.array.ptr[i];
    if (e.type != msgpack::type::POSITIVE_INTEGER || e.via.u64 > static_cast<std::uint64_t>(kMlpMaxWidth))
      return in.err("layer_sizes[" + std::to_string(i) + "] is not a width in 1.." + std::to_string(kMlpMaxWidth));
    mo.layer_sizes.push_back(static_cast<int>(e.via.u64));
  }
  if (Status s = validate(mo); !s.ok()) return in.err(s.message());
  auto weights = in.field("weights", msgpack::type::BIN, "bin");
  if (!weights.ok()) return weights.status();
  // Compare sizes before Mlp::create allocates: a forged file must not make us allocate 1 GiB.
  std::size_t want = 0;
  for (std::size_t l = 0; l + 1 < mo.layer_sizes.size(); ++l)
    want += (static_cast<std::size_t>(mo.layer_sizes[l]) + 1) * static_cast<std::size_t>(mo.layer_sizes[l + 1]);
  want *= sizeof(float);
  if ((*weights)->via.bin.size != want)
    return in.err("weights hold " + std::to_string((*weights)->via.bin.size) + " bytes, layer_sizes need " +
                  std::to_string(want));
  auto mlp = Mlp::create(mo);
  if (!mlp.ok()) return in.err(mlp.status().message());
  pf.mlp = std::move(*mlp);
  std::memcpy(pf.mlp.params().data(), (*weights)->via.bin.ptr, want);
  for (std::size_t i = 0; i < pf.mlp.num_params(); ++i)
    if (!std::isfinite(pf.mlp.params()[i])) return in.err("weight " + std::to_string(i) + " is not finite");

  auto meta = in.field("metadata", msgpack::type::MAP, "map");
  if (!meta.ok()) return meta.status();
  const MapView mv(**meta, where + " metadata");
  HETSCHED_RETURN_IF_ERROR(mv.check_keys_unique());
  for (std::uint32_t i = 0; i < (*meta)->via.map.size; ++i) {
    const auto& kv = (*meta)->via.map.ptr[i];
    if (kv.val.type != msgpack::type::STR) return mv.err("a metadata value is not a string");
    pf.metadata.emplace(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                        std::string(kv.val.via.str.ptr, kv.val.via.str.size));
  }
  if (inner_h.get().via.map.size != 10) return in.err("payload has unexpected extra fields");
  return pf;
}

Result<PolicyFile> read_policy_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Error(StatusCode::kNotFound, "policy file '" + path + "': no such file");
  if (!fs::is_regular_file(st)) return Error(StatusCode::kIoError, "policy file '" + path + "': not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) return Error(StatusCode::kIoError, "policy file '" + path + "': cannot stat: " + ec.message());
  if (size > kPolicyMaxFileBytes)
    return Error(StatusCode::kCorrupt, "policy file '" + path + "': " + std::to_string(size) +
                                           " bytes, larger than any policy (limit " +
                                           std::to_string(kPolicyMaxFileBytes) + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kIoError, "policy file '" + path + "': cannot open for reading");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size))
    return Error(StatusCode::kIoError, "policy file '" + path + "': short read");
  return decode_policy(bytes, path);
}

Status check_schema(const PolicyFile& f, const PolicySchema& e, const std::string& source, int expected_obs,
                    int expected_actions) {
  std::string diff;
  // Long strings (the action space lists every candidate) are shown from a little before their
  // first difference, so the message shows what differs instead of two identical prefixes.
  auto add = [&](const char* field, const std::string& got, const std::string& want) {
    std::size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    const std::size_t from = at > 80 ? at - 20 : 0;
    const std::string where = from ? " from char " + std::to_string(from) : "";
    diff += std::string(diff.empty() ? "" : "; ") + field + where + " " + printable(std::string_view(got).substr(from)) +
            " (expected " + printable(std::string_view(want).substr(from)) + ")";
  };
  if (f.schema.platform != e.platform) add("platform", f.schema.platform, e.platform);
  if (f.schema.model != e.model) add("model", f.schema.model, e.model);
  if (f.schema.action_space != e.action_space) add("action_space", f.schema.action_space, e.action_space);
  if (f.schema.observation_schema_version != e.observation_schema_version)
    add("obs_schema_version", std::to_string(f.schema.observation_schema_version),
        std::to_string(e.observation_schema_version));
  if (expected_obs > 0 && f.mlp.input_size() != expected_obs)
    add("observation_size", std::to_string(f.mlp.input_size()), std::to_string(expected_obs));
  if (expected_actions > 0 && f.mlp.output_size() != expected_actions)
    add("num_actions", std::to_string(f.mlp.output_size()), std::to_string(expected_actions));
  if (diff.empty()) return Status::Ok();
  return Error(StatusCode::kInvalidArgument, "policy file '" + source + "' was trained for another schema: " + diff);
}

Result<PolicyFile> load_policy_file(const std::string& path, const PolicySchema& expected, int expected_obs,
                                    int expected_actions) {
  auto f = read_policy_file(path);
  if (!f.ok()) return f.status();
  HETSCHED_RETURN_IF_ERROR(check_schema(*f, expected, path, expected_obs, expected_actions));
  return f;
}

}  // namespace hetsched::policies
