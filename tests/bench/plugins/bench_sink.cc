// bench-sink: the receiving half of simpang-bench's hub scenario. Records, for each event, the
// time from bench-source's emit (the steady-clock instant in the event's `time`) to its arrival
// here, and once `expect` events have arrived writes what it measured to `results` as JSON:
//
//   {"count": N, "first_emit_ns": ..., "first_receive_ns": ..., "last_receive_ns": ...,
//    "duration_s": ..., "events_per_second": ...,
//    "latency_us": {"p50": ..., "p90": ..., "p99": ..., "max": ...}}
//
// duration_s runs from the earliest emit seen to the last arrival. The file is written to a
// temporary name and renamed, so a reader never sees half of it.
//
// With stall_ms > 0 it sleeps that long in every on_event before it records and acks the event: a
// slow destination, or with a very large value a stuck one (simpang-bench's stuck scenario gives it
// an hour). A stuck instance never returns from its handler, so the hub can only end it by killing
// it: run it with `isolation: process`, never on a thread of a hub that has to stop.
//
// config: expect (required), results (path, required), stall_ms (default 0)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Nearest-rank percentile in microseconds. REQUIRES: `sorted` is sorted and not empty.
double percentile_us(const std::vector<int64_t>& sorted, double p) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1]) / 1000.0;
}

class BenchSink : public simpang::sdk::Sink {
 public:
  explicit BenchSink(Context& ctx)
      : expect_(ctx.config().value("expect", int64_t{0})),
        results_(ctx.config().value("results", std::string())),
        stall_ms_(ctx.config().value("stall_ms", int64_t{0})) {
    if (expect_ <= 0) {
      throw simpang::sdk::ConfigError("config.expect: must be a positive integer");
    }
    if (results_.empty()) {
      throw simpang::sdk::ConfigError("config.results: required (a file path)");
    }
    if (stall_ms_ < 0) {
      throw simpang::sdk::ConfigError("config.stall_ms: must not be negative");
    }
    latencies_ns_.reserve(static_cast<size_t>(expect_));
  }

  simpang::sdk::Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    if (stall_ms_ > 0) {
      // The point of a stalled sink: hold the SDK's event thread the way a hung call would.
      std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms_));
    }
    const int64_t now = steady_now_ns();
    if (written_) {
      return simpang::sdk::Outcome::ack();  // a redelivery after the results were written
    }
    const int64_t emitted = event.time().seconds() * 1000000000 + event.time().nanos();
    latencies_ns_.push_back(now - emitted);
    first_emit_ns_ = std::min(first_emit_ns_, emitted);
    if (first_receive_ns_ == 0) {
      first_receive_ns_ = now;
    }
    last_receive_ns_ = now;
    if (static_cast<int64_t>(latencies_ns_.size()) >= expect_) {
      write_results(ctx);
    }
    return simpang::sdk::Outcome::ack();
  }

 private:
  void write_results(Context& ctx) {
    written_ = true;
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    const double duration_s = static_cast<double>(last_receive_ns_ - first_emit_ns_) / 1e9;
    nlohmann::json results = {
        {"count", latencies_ns_.size()},
        {"first_emit_ns", first_emit_ns_},
        {"first_receive_ns", first_receive_ns_},
        {"last_receive_ns", last_receive_ns_},
        {"duration_s", duration_s},
        {"events_per_second",
         duration_s > 0 ? static_cast<double>(latencies_ns_.size()) / duration_s : 0.0},
        {"latency_us",
         {{"p50", percentile_us(latencies_ns_, 0.50)},
          {"p90", percentile_us(latencies_ns_, 0.90)},
          {"p99", percentile_us(latencies_ns_, 0.99)},
          {"max", static_cast<double>(latencies_ns_.back()) / 1000.0}}},
    };
    const std::filesystem::path target(results_);
    const std::filesystem::path temporary = target.string() + ".tmp";
    {
      std::ofstream out(temporary, std::ios::out | std::ios::trunc);
      out << results.dump(2) << "\n";
      if (!out) {
        ctx.log(simpang::sdk::LogLevel::kError, "cannot write " + temporary.string());
        return;
      }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, target, ec);
    if (ec) {
      ctx.log(simpang::sdk::LogLevel::kError, "cannot rename " + temporary.string() + " to " +
                                                  target.string() + ": " + ec.message());
    }
  }

  const int64_t expect_;
  const std::string results_;
  const int64_t stall_ms_;
  std::vector<int64_t> latencies_ns_;
  int64_t first_emit_ns_ = std::numeric_limits<int64_t>::max();
  int64_t first_receive_ns_ = 0;
  int64_t last_receive_ns_ = 0;
  bool written_ = false;
};

}  // namespace

SIMPANG_PLUGIN(BenchSink, "bench-sink", "1.0.0",
               "simpang-bench's receiver: per-event latency and throughput, written as JSON")
