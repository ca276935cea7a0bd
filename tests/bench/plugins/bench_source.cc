// bench-source: the publishing half of simpang-bench's hub scenario. Emits `count` events of
// `payload_bytes` of binary data, either as fast as the hub's back-pressure allows (rate 0) or at
// a fixed offered load (rate events/s). Each event's `time` carries the steady-clock instant it
// was emitted, so bench-sink, loaded in the same process, can measure end-to-end latency.
//
// config: count (required), payload_bytes (default 256), rate (events/s; default 0 = saturate),
//         per_tick (most events per 1 ms tick; default 4096)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;
using Clock = std::chrono::steady_clock;

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

class BenchSource : public simpang::sdk::Source {
 public:
  explicit BenchSource(Context& ctx)
      : count_(ctx.config().value("count", int64_t{0})),
        rate_(ctx.config().value("rate", 0.0)),
        per_tick_(ctx.config().value("per_tick", int64_t{4096})) {
    if (count_ <= 0) {
      throw simpang::sdk::ConfigError("config.count: must be a positive integer");
    }
    if (rate_ < 0) {
      throw simpang::sdk::ConfigError("config.rate: must be 0 (saturate) or events per second");
    }
    if (per_tick_ <= 0) {
      throw simpang::sdk::ConfigError("config.per_tick: must be a positive integer");
    }
    const int64_t payload_bytes = ctx.config().value("payload_bytes", int64_t{256});
    if (payload_bytes < 0) {
      throw simpang::sdk::ConfigError("config.payload_bytes: must not be negative");
    }
    // Everything but id and time is the same for every event: build it once, copy per emit.
    template_.set_source("/bench/" + ctx.instance_name());
    template_.set_spec_version("1.0");
    template_.set_type("bench.event.emitted");
    template_.set_data_content_type("application/octet-stream");
    template_.set_binary_data(std::string(static_cast<size_t>(payload_bytes), 'x'));
    id_prefix_ = ctx.instance_name() + "-";
  }

  void on_start(Context& ctx) override {
    ctx.every(std::chrono::milliseconds(1), [this, &ctx] { tick(ctx); });
  }

 private:
  void tick(Context& ctx) {
    if (sent_ >= count_) {
      return;
    }
    int64_t due = count_;
    if (rate_ > 0) {
      if (sent_ == 0 && start_ == Clock::time_point{}) {
        start_ = Clock::now();
      }
      // Due by now at the offered rate, counted from the first tick (+1: the first is due at 0).
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      due = std::min<int64_t>(count_, static_cast<int64_t>(elapsed * rate_) + 1);
    }
    for (int64_t i = 0; i < per_tick_ && sent_ < due && !ctx.backpressured(); ++i) {
      simpang::v1::Event event = template_;
      event.set_id(id_prefix_ + std::to_string(sent_));
      // The steady clock, not the wall clock: only bench-sink in this same process reads it.
      const int64_t now = steady_now_ns();
      event.mutable_time()->set_seconds(now / 1000000000);
      event.mutable_time()->set_nanos(static_cast<int32_t>(now % 1000000000));
      if (auto status = ctx.emit(std::move(event)); !status.ok()) {
        ctx.log(simpang::sdk::LogLevel::kError, status.message());
        return;
      }
      ++sent_;
    }
  }

  const int64_t count_;
  const double rate_;
  const int64_t per_tick_;
  simpang::v1::Event template_;
  std::string id_prefix_;
  int64_t sent_ = 0;
  Clock::time_point start_{};
};

}  // namespace

SIMPANG_PLUGIN(BenchSource, "bench-source", "1.0.0",
               "simpang-bench's load generator: timestamped events, saturated or paced")
