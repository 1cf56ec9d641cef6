// Host configurations: the controller speaks policies::Config (ARM-CO-UP notation, one unit
// letter per block), the host pipeline runs a PipelinePlan. A host PlatformDesc (a `hetsched
// profile` loaded as platform "host", or default_host_desc()) has one CPU unit per pipeline
// unit, in the same order, so platform unit u <-> pipeline unit u; consecutive blocks with the
// same letter form one stage. Host units have one OPP (freq_idx = top) and no GPU/NPU, so the
// hosts fields are the first unit's letter.
#pragma once

#include <string>
#include <vector>

#include "policies/config.hpp"
#include "policies/platform.hpp"
#include "runtime/pipeline_plan.hpp"
#include "telemetry/status.hpp"

namespace hetsched::runtime {

// A platform for host units when no profile is given: unit u is a CPU unit with letter 'A'+u
// ('A', 'B', ... ; hosts "" ; one nominal 1 GHz OPP, as a host profile has one), named after
// the pipeline unit ("cpu0"): the mapping of policies/host_mapping.hpp.
policies::PlatformDesc default_host_desc(const std::vector<std::string>& unit_names,
                                         const std::vector<std::vector<int>>& cpu_ids);

// Checks that `platform` can describe the pipeline units: same count, distinct letters, CPU
// units only. Errors name the platform, the unit and the field.
Status check_host_desc(const policies::PlatformDesc& platform, const std::vector<std::string>& unit_names);

// Config -> plan; false if a letter is not a platform unit or num_blocks != plan blocks.
// noexcept and allocation-free (the target's apply() calls it).
bool plan_from_config(const policies::Config& config, const policies::PlatformDesc& platform, int num_blocks,
                      PipelinePlan* out) noexcept;
// Plan -> config (unit letters per block, freq_idx -1 / 0 as the platform's DVFS tables allow).
policies::Config config_from_plan(const PipelinePlan& plan, const policies::PlatformDesc& platform) noexcept;

}  // namespace hetsched::runtime
