// Readers for the measured whole-inference sets in ../shared/calibration (ARM-CO-UP
// notation) and their conversion to Config, shared by `hetsched calibrate`, `predict` and
// `validate`. Also the deterministic fit / held-back split.
#pragma once

#include <string>
#include <vector>

#include "policies/config.hpp"
#include "policies/model.hpp"
#include "policies/platform.hpp"
#include "telemetry/status.hpp"

namespace hetsched::env {

// One measured pipeline-mode point (pipeline_googlenet_lbgn.csv, pipeline_single_pe_5models.csv).
struct PipelineRow {
  std::string file;
  int line = 0;
  std::string model;          // as written in the file (alias)
  std::string order;
  char gpu_host = 'B', npu_host = 'B';
  long long f_little_khz = 0, f_big_khz = 0, f_gpu_hz = 0;
  double latency_ms = 0, fps = 0, power_mw = 0;
};

// One measured serial (switch-mode) run (eval_switch_*, eval_single_pe_*).
struct SwitchRow {
  std::string file;
  int line = 0;
  std::string model;
  std::string order;
  std::string freq;           // "((3, 4), (1,), ...)", "{{max}}", "{{min}}", "(('max',),)"
  std::string host;           // "BB", "LB" ... ("" = default B B)
  double total_ms = 0, energy_mj = 0;
  double anchor_err_time = 0, anchor_err_energy = 0;  // |Error_*| of the repo's cost model (%), NaN if absent
};

// Reads every usable (status ok, complete) row; files that do not exist for the platform are skipped.
// Pipeline rows also come from runs measured both pipelined and serially (khadas_vim3
// eval_profiling2_* / eval_parapipe_*: fps = 1000 / pipelinetime, power_mw = NaN: not measured
// pipelined); their serial side (total_time, total_e) is read as switch rows.
Result<std::vector<PipelineRow>> read_pipeline_rows(const std::string& calib_dir, const std::string& platform);
Result<std::vector<SwitchRow>> read_switch_rows(const std::string& calib_dir, const std::string& platform);

// Deterministic split: a key is held back (never fitted on) when FNV-1a(key) % 5 == 0 (20 %).
bool held_back(const std::string& key) noexcept;
std::string pipeline_key(const PipelineRow& r);  // model|order|gpu_host npu_host (all frequencies of a key together)
std::string switch_key(const SwitchRow& r);      // model|order|host|freq

// Expands an order given per group of any grouping of the model to one letter per block.
Result<std::string> expand_order_groups(const policies::ModelDesc& m, const std::string& order);

// Builds a pipeline-mode Config. Frequencies must be exact OPPs of the platform (kHz; GPU in Hz);
// a value 0 is allowed for units the order does not use. Errors name the field.
Result<policies::Config> pipeline_config(const policies::PlatformDesc& p, const policies::ModelDesc& m,
                                         const std::string& order, char gpu_host, char npu_host,
                                         long long f_little_khz, long long f_big_khz, long long f_gpu_hz);
// Builds a switch-mode Config from an ARM-CO-UP freq tuple string and host pair.
Result<policies::Config> switch_config(const policies::PlatformDesc& p, const policies::ModelDesc& m,
                                       const std::string& order, const std::string& freq, const std::string& host);

}  // namespace hetsched::env
