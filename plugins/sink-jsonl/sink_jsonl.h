// The sink-jsonl plugin: appends every delivered event to a file as one CloudEvents JSON object
// per line (JSON Lines), acknowledging each only once it is written (and synced, if asked).
#pragma once

#include <filesystem>
#include <string>

#include "simpang/sdk/plugin.h"

namespace simpang::plugins::sink_jsonl {

class JsonlSink : public simpang::sdk::Sink {
 public:
  // Reads `path` (required; relative to ctx.state_dir()) and `fsync` (default false), and opens
  // the file for append, creating it. Throws simpang::sdk::ConfigError on a bad key or value, or
  // when the file cannot be opened (with the OS error).
  explicit JsonlSink(simpang::sdk::Context& ctx);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  // Writes the event's line. On a write or sync failure returns retry_later with the OS error,
  // after cutting off what was written of the line, so the file holds only whole lines and the
  // redelivered event is not written twice.
  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override;

  const std::filesystem::path& path() const { return path_; }

 private:
  // Cuts off half a line a crash left at the end of the file.
  void cut_torn_tail(simpang::sdk::Context& ctx);
  std::filesystem::path path_;
  bool fsync_ = false;
  int fd_ = -1;
};

}  // namespace simpang::plugins::sink_jsonl
