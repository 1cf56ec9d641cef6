// The one place that maps this machine's CPU units (what the runtime discovers:
// runtime::host_units(), named cpu<first core>) onto platform units as the policies see them,
// and a policies Config onto a runtime split.
//
// Mapping rule: host unit i (in discovery order, i.e. ascending first core) is platform unit i
// with letter 'A' + i and name "cpu<first core>" (cpu0 -> A, cpu1 -> B on this 2-core VM). The
// letters only exist because ARM-CO-UP configs ("ORDER:HOSTS:FREQS") need one letter per unit;
// the name is kept in UnitDesc::name and is what the runtime and its splits use. A host
// profile (`hetsched profile`) is written with this mapping and its loader enforces it.
//
// Split text form (runtime/pipeline_plan.hpp, RuntimeOptions::split): "cpu0:20,cpu1:8" =
// unit name:number of consecutive blocks, in pipeline order.
#pragma once

#include <string>

#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::policies {

// The "format" value that marks a platform file as a host profile (docs/platforms.md).
inline constexpr const char* kHostProfileFormat = "hetsched-host-profile/1";

// 'A' + index for index in [0, kMaxUnits); '?' otherwise.
char host_unit_letter(int index) noexcept;
// "cpu<first_cpu>".
std::string host_unit_name(int first_cpu);

// Config -> runtime split: consecutive blocks on one unit become "name:count". Errors name the
// block whose letter is not a CPU unit of the platform, or a block-count mismatch with the model.
Result<std::string> host_split_from_config(const Config& config, const PlatformDesc& platform, const ModelDesc& model);
// Runtime split -> Config (pipeline mode, every unit at its top OPP, hosts = the first CPU unit).
// Errors name the item ("item 2 'cpu7:8': unknown unit ...") or the block-count total.
Result<Config> config_from_host_split(const std::string& split, const PlatformDesc& platform, const ModelDesc& model);

}  // namespace hetsched::policies
