// Shared helpers for the strict JSON loaders of policies/ (model and platform files): every
// error names the file and the field, and unknown keys are errors, never ignored.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "telemetry/status.hpp"

namespace hetsched::policies::detail {

// Collects the context ("file: field") for error messages.
struct Ctx {
  std::string file;
  Status err(const std::string& field, const std::string& what) const {
    return Error(StatusCode::kCorrupt, file + ": " + field + ": " + what);
  }
};

// obj must be an object whose keys are all in `allowed`; the error lists the allowed keys.
inline Status check_keys(const Ctx& c, const nlohmann::json& obj, const std::string& field,
                         std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) return c.err(field, "must be a JSON object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      return c.err(field + "." + it.key(), "unknown key (allowed: " + list + ")");
    }
  }
  return Status::Ok();
}

}  // namespace hetsched::policies::detail
