// test-source: publishes `count` numbered events as fast as the hub lets it, and writes the
// CloudEvents JSON of each one it emitted to `manifest`, so a test can compare what was sent with
// what a sink received. Its position is a connector cursor ("next"), stored by the hub with the
// events: after a crash it resumes exactly after the last batch the hub made durable. Each on_start
// appends a line to `starts` in its state directory, so a test can count its (re)starts.
//
// config: count (required), payload_bytes (default 64), per_tick (default 100),
//         type (default "test.event.created"), manifest (path, required), subjects (default 10)
#include <fstream>
#include <string>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;

class TestSource : public simpang::sdk::Source {
 public:
  explicit TestSource(Context& ctx)
      : count_(ctx.config().value("count", 0)),
        payload_bytes_(ctx.config().value("payload_bytes", 64)),
        per_tick_(ctx.config().value("per_tick", 100)),
        subjects_(ctx.config().value("subjects", 10)),
        type_(ctx.config().value("type", std::string("test.event.created"))) {
    if (count_ <= 0) {
      throw simpang::sdk::ConfigError("config.count: must be a positive integer");
    }
    const std::string manifest = ctx.config().value("manifest", std::string());
    if (manifest.empty()) {
      throw simpang::sdk::ConfigError("config.manifest: required");
    }
    manifest_.open(manifest, std::ios::out | std::ios::app);
    if (!manifest_) {
      throw simpang::sdk::ConfigError("config.manifest: cannot open " + manifest);
    }
  }

  void on_start(Context& ctx) override {
    std::ofstream(ctx.state_dir() / "starts", std::ios::app) << "started\n";
    if (auto next = ctx.cursor("next")) {
      sent_ = std::stoll(*next);
      ctx.log(simpang::sdk::LogLevel::kInfo, "resuming at event " + *next);
    }
    ctx.every(std::chrono::milliseconds(1), [this, &ctx] { tick(ctx); });
  }

 private:
  void tick(Context& ctx) {
    for (int i = 0; i < per_tick_ && sent_ < count_ && !ctx.backpressured(); ++i) {
      simpang::v1::Event event;
      event.set_id(ctx.instance_name() + "-" + std::to_string(sent_));
      event.set_source("/test/" + ctx.instance_name());
      event.set_spec_version("1.0");
      event.set_type(type_);
      event.set_subject("subject-" + std::to_string(sent_ % subjects_));
      event.set_data_content_type("application/octet-stream");
      std::string payload(static_cast<size_t>(payload_bytes_), '\0');
      for (size_t b = 0; b < payload.size(); ++b) {
        payload[b] = static_cast<char>((sent_ * 31 + static_cast<int64_t>(b)) & 0xff);
      }
      event.set_binary_data(std::move(payload));
      (*event.mutable_extensions())["seq"].set_ce_integer(static_cast<int32_t>(sent_));
      manifest_ << simpang::sdk::to_cloudevents_json(event) << "\n";
      if (auto status = ctx.emit(std::move(event)); !status.ok()) {
        ctx.log(simpang::sdk::LogLevel::kError, status.message());
        return;
      }
      ++sent_;
      ctx.count("emitted");
    }
    ctx.set_cursor("next", std::to_string(sent_));
    ctx.gauge("next", static_cast<double>(sent_));
    if (sent_ == count_ && !reported_) {
      reported_ = true;
      manifest_.flush();
      ctx.log(simpang::sdk::LogLevel::kInfo, "emitted all " + std::to_string(count_) + " events");
    }
  }

  int64_t count_;
  int payload_bytes_;
  int per_tick_;
  int subjects_;
  std::string type_;
  std::ofstream manifest_;
  int64_t sent_ = 0;
  bool reported_ = false;
};

}  // namespace

SIMPANG_PLUGIN(TestSource, "test-source", "1.0.0", "numbered events for tests, with a manifest")
