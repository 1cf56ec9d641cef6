#include "env/sim_costs.hpp"

namespace hetsched::env {

// CostModel::idle_power_mw is documented as the board at die temperature temp_c, i.e. it
// already adds leakage_power_mw(temp_c) (0 at the calibration temperature); see docs/simulator.md.
double CostModelCosts::board_idle_mw(const std::array<std::int8_t, kMaxUnits>& opp, double temp_c) const noexcept {
  return c_.idle_power_mw(opp, temp_c);
}

}  // namespace hetsched::env
