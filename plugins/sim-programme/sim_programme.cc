// The sim-programme source plugin; see sim_programme.h.
#include "sim_programme.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::sim_programme {
namespace {

using simpang::sdk::ConfigError;

[[noreturn]] void fail(const std::string& key, const std::string& problem,
                       const nlohmann::json& got) {
  throw ConfigError("config." + key + ": " + problem + ", got " + got.dump());
}

// An integer in [min, max] or the default when the key is absent. Checked here rather than by
// ConfigReader's integer types: the range is the plugin's own (not the type's), a null is an error
// rather than "absent", and 100.0 is tolerated.
uint64_t integer(simpang::sdk::ConfigReader& config, const std::string& key, uint64_t fallback,
                 uint64_t min, uint64_t max) {
  if (!config.has(key)) {
    return fallback;
  }
  const nlohmann::json& value = config.json().at(key);
  const std::string wanted =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  // is_number_integer covers both of nlohmann's integer kinds; a non-negative one fits uint64_t.
  if (value.is_number_integer() && (value.is_number_unsigned() || value.get<int64_t>() >= 0)) {
    const auto v = value.get<uint64_t>();
    if (v < min || v > max) {
      fail(key, wanted, value);
    }
    return v;
  }
  if (value.is_number_float()) {
    // YAML writes 100 as an integer, but tolerate 100.0.
    const double d = value.get<double>();
    if (d == std::trunc(d) && d >= static_cast<double>(min) && d <= static_cast<double>(max) &&
        d < 0x1p64) {
      return static_cast<uint64_t>(d);
    }
  }
  fail(key, wanted, value);
}

}  // namespace

SimConfig parse_config(const nlohmann::json& json, const std::string& instance_name) {
  if (!json.is_object()) {
    // ConfigReader reads a null config as an empty one; the hub never sends one, but a caller of
    // this function could, and it is not a mapping.
    throw ConfigError("config: must be a mapping, got " + json.dump());
  }
  simpang::sdk::ConfigReader config(json);
  SimConfig out;
  out.model.seed = integer(config, "seed", 42, 0, std::numeric_limits<uint64_t>::max());
  // Upper bounds keep a typo from asking for gigabytes of simulated people.
  out.model.learners = static_cast<uint32_t>(integer(config, "learners", 10000, 1, 10'000'000));
  out.model.partners = static_cast<uint32_t>(integer(config, "partners", 200, 1, 100'000));
  out.model.courses = static_cast<uint32_t>(integer(config, "courses", 40, 1, 100'000));
  out.max_events = integer(config, "max_events", 0, 0, std::numeric_limits<uint64_t>::max());
  out.model.source = "/simpang/sim-programme/" + instance_name;

  if (config.has("rate")) {
    const nlohmann::json& rate = config.json().at("rate");
    if (!rate.is_number() || !(rate.get<double>() > 0) || !std::isfinite(rate.get<double>())) {
      fail("rate", "must be a positive number", rate);
    }
    out.rate = rate.get<double>();
  }
  config.reject_unknown();
  return out;
}

SimProgramme::SimProgramme(simpang::sdk::Context& ctx)
    : config_(parse_config(ctx.config(), ctx.instance_name())), model_(config_.model) {}

void SimProgramme::on_start(simpang::sdk::Context& ctx) {
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%g", config_.rate);
  ctx.log(simpang::sdk::LogLevel::kInfo, "simulating seed=" + std::to_string(config_.model.seed) +
                                             " rate=" + rate +
                                             " max_events=" + std::to_string(config_.max_events) +
                                             " learners=" + std::to_string(config_.model.learners) +
                                             " partners=" + std::to_string(config_.model.partners) +
                                             " courses=" + std::to_string(config_.model.courses));
  if (const std::optional<std::string> cursor = ctx.cursor(kCursor)) {
    uint64_t done = 0;
    const char* end = cursor->data() + cursor->size();
    const auto [ptr, ec] = std::from_chars(cursor->data(), end, done);
    if (ec != std::errc() || ptr != end) {
      ctx.log(simpang::sdk::LogLevel::kWarn, "ignoring unreadable cursor " + std::string(kCursor) +
                                                 "='" + *cursor +
                                                 "'; starting the sequence from event 1");
    } else {
      ctx.log(simpang::sdk::LogLevel::kInfo,
              "resuming after event " + std::to_string(done) + " of the previous run");
      emitted_ = done;
      catch_up_ = done;
    }
  }
  timer_ = ctx.every(kTick, [this, &ctx] { tick(ctx); });
}

void SimProgramme::on_stop(simpang::sdk::Context& ctx) {
  if (timer_) {
    ctx.cancel(*timer_);
    timer_.reset();
  }
}

bool SimProgramme::stop_if_done(simpang::sdk::Context& ctx) {
  if (config_.max_events == 0 || emitted_ < config_.max_events) {
    return false;
  }
  finished_ = true;
  if (timer_) {
    ctx.cancel(*timer_);
    timer_.reset();
  }
  ctx.log(simpang::sdk::LogLevel::kInfo,
          "max_events reached: emitted " + std::to_string(emitted_) + " events; stopping");
  return true;
}

void SimProgramme::tick(simpang::sdk::Context& ctx) {
  if (finished_ || stop_if_done(ctx)) {
    return;
  }
  if (catch_up_ > 0) {
    for (uint64_t n = std::min(catch_up_, kCatchUpPerTick); n > 0; --n) {
      (void)model_.next();
      --catch_up_;
    }
    return;
  }
  const double per_tick = config_.rate * std::chrono::duration<double>(kTick).count();
  // A late or postponed tick (back-pressure) does not turn into a burst: at most one tick's worth
  // (and at least one event, for rates below one per tick) is ever owed.
  budget_ = std::min(budget_ + per_tick, std::max(per_tick, 1.0));
  // The epsilon absorbs rounding in the running sum (five ticks of 0.2 must make one event).
  while (budget_ >= 1.0 - 1e-9 && !ctx.backpressured()) {
    simpang::v1::Event event = unsent_ ? std::move(*unsent_) : model_.next();
    unsent_.reset();
    const Status status = ctx.emit(event);
    if (!status.ok()) {
      ctx.log(simpang::sdk::LogLevel::kWarn,
              "emit failed, will retry event=" + event.id() + ": " + status.message());
      unsent_ = std::move(event);
      return;
    }
    ++emitted_;
    budget_ -= 1.0;
    // After the emit, so the cursor travels with (or after) the event it counts: a crash can then
    // replay an event, never skip one.
    ctx.set_cursor(kCursor, std::to_string(emitted_));
    if (stop_if_done(ctx)) {
      return;
    }
  }
}

}  // namespace simpang::plugins::sim_programme
