// Bridge from LinuxPlatform readings to telemetry Samples (the trace/snapshot vocabulary).
//
// Sources are registered once by name in the trace's SourceTable: units by their unit name
// ("L", "B", "G" or "cpu0", "gpu"), thermal zones by their type ("cpu-thermal"), power sensors
// by their hwmon name, except the platform's board sensor, which is "board". The conversion
// itself is allocation-free so a sensing thread can run it after every read().
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "runtime/linux_platform.hpp"
#include "telemetry/sample.hpp"

namespace hetsched::runtime {

struct LinuxSampleSources {
  std::array<std::uint16_t, kMaxLinuxUnits> unit{};   // source id per unit (freq_khz, util_permille)
  std::array<std::uint16_t, kMaxLinuxZones> zone{};   // source id per thermal zone (temp_mc)
  std::array<std::uint16_t, kMaxLinuxPower> power{};  // source id per power sensor
  int board_power = -1;                               // sensor emitted as kBoardPower, -1 none
};

// Adds the platform's source names to `table`. kOutOfRange when the table is full.
Result<LinuxSampleSources> register_sources(const LinuxPlatform& platform, telemetry::SourceTable* table);

// Upper bound of samples one SensorReadings can produce.
inline std::size_t max_samples(const SensorReadings& r) noexcept {
  return static_cast<std::size_t>(2 * r.num_units + r.num_zones + r.num_power);
}

// Writes one Sample per valid reading (invalid ones are skipped: a gap, not a zero) stamped
// with r.t_ns: kFreq (kHz), kUtil (permille), kTemp (m°C), kRailPower/kBoardPower (mW = uW/1000).
// Returns the number written; stops early when `out` is full. No allocation.
std::size_t to_samples(const SensorReadings& r, const LinuxSampleSources& src, std::span<telemetry::Sample> out) noexcept;

}  // namespace hetsched::runtime
