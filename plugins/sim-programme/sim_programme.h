// The sim-programme source plugin: paces ProgrammeModel's events onto the hub at a configured
// rate. The simulation itself lives in programme_model.h; this class only reads its config,
// keeps time, emits, and keeps a cursor (how many events are out) so a restarted instance resumes
// the sequence where it stopped instead of replaying it.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "programme_model.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::sim_programme {

struct SimConfig {
  ModelConfig model;
  double rate = 50;         // events per second
  uint64_t max_events = 0;  // 0: unbounded
};

// Reads and checks the instance's `config:` mapping. Throws simpang::sdk::ConfigError naming the
// key and the problem, e.g. "config.rate: must be a positive number, got -3".
SimConfig parse_config(const nlohmann::json& config, const std::string& instance_name);

class SimProgramme : public simpang::sdk::Source {
 public:
  // How often the emission timer fires; each tick emits rate * kTick worth of events.
  static constexpr std::chrono::milliseconds kTick{20};
  // The cursor: the number of events published, stored by the hub with the events themselves.
  static constexpr const char* kCursor = "emitted";
  // On resume the model is replayed (it is deterministic) this many events per tick, so a long
  // catch-up never holds the runtime thread for long.
  static constexpr uint64_t kCatchUpPerTick = 5000;

  explicit SimProgramme(simpang::sdk::Context& ctx);

  void on_start(simpang::sdk::Context& ctx) override;
  void on_stop(simpang::sdk::Context& ctx) override;

  // One timer tick. Public so a test can drive it without a runtime.
  void tick(simpang::sdk::Context& ctx);

  uint64_t emitted() const { return emitted_; }
  bool finished() const { return finished_; }

 private:
  // Once max_events are out: cancels the timer and returns true.
  bool stop_if_done(simpang::sdk::Context& ctx);

  const SimConfig config_;
  ProgrammeModel model_;
  double budget_ = 0;      // events owed: the fractional part carries over between ticks
  uint64_t emitted_ = 0;   // events published, over all runs of this instance
  uint64_t catch_up_ = 0;  // events of an earlier run still to replay through the model
  bool finished_ = false;
  std::optional<simpang::sdk::TimerId> timer_;
  // An event emit() refused, offered again on the next tick before anything new, so the sequence
  // stays the model's sequence.
  std::optional<simpang::v1::Event> unsent_;
};

}  // namespace simpang::plugins::sim_programme
