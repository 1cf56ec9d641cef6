#include "runtime/linux_samples.hpp"

namespace hetsched::runtime {

Result<LinuxSampleSources> register_sources(const LinuxPlatform& platform, telemetry::SourceTable* table) {
  if (table == nullptr) return Error(StatusCode::kInvalidArgument, "register_sources: table is null");
  LinuxSampleSources s;
  auto add = [&](const std::string& name, std::uint16_t* id) -> Status {
    auto r = table->add(name);
    if (!r) return Error(StatusCode::kOutOfRange, "source table full; cannot add '" + name + "'");
    *id = *r;
    return Status::Ok();
  };
  const LinuxTopology& t = platform.topology();
  for (std::size_t i = 0; i < t.units.size() && i < s.unit.size(); ++i) HETSCHED_RETURN_IF_ERROR(add(t.units[i].name, &s.unit[i]));
  for (std::size_t z = 0; z < t.zones.size() && z < s.zone.size(); ++z) HETSCHED_RETURN_IF_ERROR(add(t.zones[z].type, &s.zone[z]));
  for (std::size_t p = 0; p < t.power.size() && p < s.power.size(); ++p)
    HETSCHED_RETURN_IF_ERROR(add(static_cast<int>(p) == t.board_power ? std::string("board") : t.power[p].name, &s.power[p]));
  s.board_power = t.board_power;
  return s;
}

std::size_t to_samples(const SensorReadings& r, const LinuxSampleSources& src, std::span<telemetry::Sample> out) noexcept {
  std::size_t n = 0;
  auto emit = [&](telemetry::SampleKind kind, std::uint16_t source, double value) {
    if (n < out.size()) out[n++] = telemetry::Sample{.t_ns = r.t_ns, .value = value, .source = source, .kind = kind};
  };
  for (int i = 0; i < r.num_units && i < kMaxLinuxUnits; ++i) {
    const UnitReadings& u = r.units[i];
    if (u.freq_khz.ok()) emit(telemetry::SampleKind::kFreq, src.unit[i], static_cast<double>(u.freq_khz.value));
    if (u.util_permille.ok()) emit(telemetry::SampleKind::kUtil, src.unit[i], static_cast<double>(u.util_permille.value));
  }
  for (int z = 0; z < r.num_zones && z < kMaxLinuxZones; ++z)
    if (r.temp_mc[z].ok()) emit(telemetry::SampleKind::kTemp, src.zone[z], static_cast<double>(r.temp_mc[z].value));
  for (int p = 0; p < r.num_power && p < kMaxLinuxPower; ++p)
    if (r.power_uw[p].ok())
      emit(p == src.board_power ? telemetry::SampleKind::kBoardPower : telemetry::SampleKind::kRailPower, src.power[p],
           static_cast<double>(r.power_uw[p].value) / 1000.0);
  return n;
}

}  // namespace hetsched::runtime
