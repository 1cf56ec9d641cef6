// `hetsched trace import-armcoup RAW_POWER_FILE TIME_LOG --out TRACE`: an ARM-CO-UP measurement
// (../shared/calibration/armcoup/*/raw/, formats in its SOURCE.md) as a hetsched trace, so a real
// board run is inspected with `trace info/dump` like any other trace (docs/replay.md).
//
//   power_<tag>.csv  headerless "gpio,t_ms,power_mW" (INA260 in the supply line, ~1.36 ms
//                    spacing; the board raises the GPIO while a layer block runs)
//     -> Sample board_power_mw (source "board") at t_ns = t_ms · 1e6, verbatim;
//        Event note "gpio 1" / "gpio 0" (source "gpio") at every GPIO edge (the phases' timing).
//   time_<tag>.txt   the run's console log (no clock)
//     -> Event config_applied (source "log") "ORDER:GPU_HOST NPU_HOST" from "Order is" and the
//        host lines, and Event note (source "log") for each logged phase: frames ("Frame Index"),
//        per-block times ("Layer Number"), the governor frequency settings, the summary lines.
//        The log has no timestamps, so these events carry t_ns 0 and their log line number.
// Header: producer, platform (the board folder name when it is a known platform), model (the
// tag's model part when it names a model), metadata mode=import, the source files, and the
// logged order/hosts/frames/average latency. No decisions: replay says so.
//
// Bad input (missing fields, non-numbers, time going backwards, a power file and a log of
// different runs) fails with the file and line.
#pragma once

#include <cstdint>
#include <string>

#include "telemetry/status.hpp"

namespace hetsched::tools {

struct ImportStats {
  std::uint64_t samples = 0;   // power samples written
  std::uint64_t edges = 0;     // GPIO edges (events)
  std::uint64_t log_events = 0;
  double duration_s = 0;       // last - first power timestamp
};

Result<ImportStats> import_armcoup(const std::string& power_path, const std::string& log_path, const std::string& out_path,
                                   const std::string& data_dir);

}  // namespace hetsched::tools
