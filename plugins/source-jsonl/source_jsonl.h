// The source-jsonl plugin: reads CloudEvents JSON objects, one per line, from a file and publishes
// each. Its place in the file (byte offset and line number) is a connector cursor, stored by the
// hub in the same transaction as the events, so a restart neither skips nor re-reads a line.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "simpang/sdk/plugin.h"

namespace simpang::plugins::source_jsonl {

// Cursor keys: the byte offset just past the last line handled, and that line's number.
inline constexpr char kOffsetCursor[] = "offset";
inline constexpr char kLineCursor[] = "line";

class JsonlSource : public simpang::sdk::Source {
 public:
  // Reads `path` (required; relative to ctx.state_dir()), `follow` (default false),
  // `poll_interval` (default "1s"), `batch` (lines per turn, default 500). Without `follow` the
  // file must exist. Throws simpang::sdk::ConfigError naming the key.
  explicit JsonlSource(simpang::sdk::Context& ctx);
  ~JsonlSource() override;
  JsonlSource(const JsonlSource&) = delete;
  JsonlSource& operator=(const JsonlSource&) = delete;

  // Resumes from the stored cursor and schedules reading.
  void on_start(simpang::sdk::Context& ctx) override;
  // Logs where it stopped and what it published and skipped.
  void on_stop(simpang::sdk::Context& ctx) override;

  const std::filesystem::path& path() const { return path_; }
  uint64_t published() const { return published_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t offset() const { return offset_; }

 private:
  // Reads and publishes up to batch_ lines. Returns true when it made progress and more of the
  // file is left, so the caller reads again at once rather than after a poll interval.
  bool read_some(simpang::sdk::Context& ctx);
  // Publishes one line (without its newline); `next_offset` is the offset just past it.
  void handle_line(simpang::sdk::Context& ctx, std::string_view line, uint64_t next_offset);
  void skip(simpang::sdk::Context& ctx, const std::string& reason);
  // Reads, then schedules itself again while there is more.
  void drain(simpang::sdk::Context& ctx);
  bool open_file(simpang::sdk::Context& ctx);
  void save_cursor(simpang::sdk::Context& ctx);

  std::filesystem::path path_;
  bool follow_ = false;
  std::chrono::milliseconds poll_interval_{1000};
  uint32_t batch_ = 500;

  int fd_ = -1;
  uint64_t offset_ = 0;        // just past the last line handled
  uint64_t line_ = 0;          // number of the last line handled (1-based)
  uint64_t saved_offset_ = 0;  // the offset last given to set_cursor
  uint64_t published_ = 0;
  uint64_t skipped_ = 0;
  bool draining_ = false;      // a drain() is scheduled; the poll timer leaves it to that
  bool reported_end_ = false;  // "reached the end" is logged once, not on every poll
  bool reported_missing_ = false;
  bool skipping_long_line_ = false;  // inside a line too long to publish, discarding to its end
};

}  // namespace simpang::plugins::source_jsonl
