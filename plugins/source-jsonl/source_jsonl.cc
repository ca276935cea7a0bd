// The source-jsonl plugin; see source_jsonl.h.
#include "source_jsonl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::source_jsonl {
namespace {

using simpang::sdk::LogLevel;
using std::chrono::milliseconds;

constexpr size_t kReadBlock = 1 << 20;  // what one read asks for
constexpr size_t kMaxLine = 16 << 20;   // a longer line is skipped, not buffered whole

std::optional<uint64_t> parse_u64(const std::optional<std::string>& text) {
  if (!text) {
    return std::nullopt;
  }
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

JsonlSource::JsonlSource(simpang::sdk::Context& ctx) {
  simpang::sdk::ConfigReader config(ctx.config());
  path_ = config.required<std::filesystem::path>("path");
  follow_ = config.optional<bool>("follow", false);
  poll_interval_ = config.optional<milliseconds>("poll_interval", milliseconds(1000));
  batch_ = config.optional<uint32_t>("batch", 500);
  config.reject_unknown();
  if (poll_interval_ < milliseconds(1)) {
    throw config.error("poll_interval", "must be at least 1ms");
  }
  if (batch_ == 0) {
    throw config.error("batch", "must be at least 1");
  }
  if (path_.is_relative()) {
    path_ = ctx.state_dir() / path_;
  }
  // Without follow the file is a finished export: a missing one is a mistake worth failing on. With
  // follow it may be created later by whatever appends to it.
  if (!follow_ && !std::filesystem::is_regular_file(path_)) {
    throw config.error("path", "'" + path_.string() +
                                   "' is not a readable file (set follow: true to wait for it)");
  }
}

JsonlSource::~JsonlSource() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void JsonlSource::on_start(simpang::sdk::Context& ctx) {
  const auto offset = ctx.cursor(kOffsetCursor);
  const auto line = ctx.cursor(kLineCursor);
  if (offset) {
    const auto parsed_offset = parse_u64(offset);
    const auto parsed_line = parse_u64(line);
    if (parsed_offset && parsed_line) {
      offset_ = *parsed_offset;
      line_ = *parsed_line;
    } else {
      // Reading from the start again duplicates events (same ids); guessing could skip some.
      ctx.log(LogLevel::kError, "cursor offset='" + *offset + "' line='" + line.value_or("") +
                                    "' is unreadable; reading " + path_.string() +
                                    " from the start");
    }
  }
  saved_offset_ = offset_;
  ctx.log(LogLevel::kInfo, "reading " + path_.string() + " from offset " + std::to_string(offset_) +
                               " (after line " + std::to_string(line_) + ")" +
                               (follow_ ? ", following it" : ""));
  if (follow_) {
    ctx.every(poll_interval_, [this, &ctx] {
      if (!draining_) {
        drain(ctx);
      }
    });
  }
  draining_ = true;
  ctx.after(milliseconds(0), [this, &ctx] { drain(ctx); });
}

void JsonlSource::on_stop(simpang::sdk::Context& ctx) {
  ctx.log(LogLevel::kInfo, "stopped at offset " + std::to_string(offset_) + " (line " +
                               std::to_string(line_) + "): " + std::to_string(published_) +
                               " events published, " + std::to_string(skipped_) +
                               " lines skipped this run");
}

void JsonlSource::drain(simpang::sdk::Context& ctx) {
  draining_ = false;
  if (read_some(ctx)) {
    // More is waiting: go on at once, but as a new callback, so the runtime sends what was just
    // emitted and can hold us back (it postpones callbacks under back-pressure).
    draining_ = true;
    ctx.after(milliseconds(0), [this, &ctx] { drain(ctx); });
    return;
  }
  if (!follow_ && !reported_end_) {
    reported_end_ = true;
    ctx.log(LogLevel::kInfo, "reached the end of " + path_.string() + " at line " +
                                 std::to_string(line_) + ": " + std::to_string(published_) +
                                 " events published, " + std::to_string(skipped_) +
                                 " lines skipped this run");
  }
}

bool JsonlSource::open_file(simpang::sdk::Context& ctx) {
  if (fd_ >= 0) {
    return true;
  }
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    if (!reported_missing_) {
      reported_missing_ = true;
      ctx.log(err == ENOENT && follow_ ? LogLevel::kInfo : LogLevel::kError,
              "cannot open " + path_.string() + ": " + std::strerror(err) +
                  (follow_ ? "; trying again every poll" : ""));
    }
    return false;
  }
  reported_missing_ = false;
  return true;
}

void JsonlSource::skip(simpang::sdk::Context& ctx, const std::string& reason) {
  ++skipped_;
  ctx.log(LogLevel::kWarn, path_.string() + ":" + std::to_string(line_) + ": skipped: " + reason +
                               " (" + std::to_string(skipped_) + " lines skipped this run)");
}

void JsonlSource::save_cursor(simpang::sdk::Context& ctx) {
  ctx.set_cursor(kOffsetCursor, std::to_string(offset_));
  ctx.set_cursor(kLineCursor, std::to_string(line_));
  saved_offset_ = offset_;
}

void JsonlSource::handle_line(simpang::sdk::Context& ctx, std::string_view line,
                              uint64_t next_offset) {
  ++line_;
  offset_ = next_offset;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (blank(line)) {
    return;  // blank lines separate nothing and mean nothing; they are not counted as skipped
  }
  auto event = simpang::sdk::from_cloudevents_json(line);
  if (!event.ok()) {
    skip(ctx, event.status().message());
    return;
  }
  // The cursor first: set_cursor attaches to the batch being filled, and emit() may seal that
  // batch, so this order puts the event and the cursor just past it in the same batch, which the
  // hub stores in one transaction. After a crash the stored cursor matches the stored events.
  save_cursor(ctx);
  if (Status status = ctx.emit(std::move(*event)); !status.ok()) {
    skip(ctx, status.message());
    return;
  }
  ++published_;
}

bool JsonlSource::read_some(simpang::sdk::Context& ctx) {
  if (!open_file(ctx)) {
    return false;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ctx.log(LogLevel::kError, "cannot stat " + path_.string() + ": " + std::strerror(errno));
    return false;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < offset_) {
    // Not an append: the file was truncated or replaced. Starting over may publish events again
    // (with their ids, so consumers can tell), which is better than skipping what is new.
    ctx.log(LogLevel::kWarn, path_.string() + " is shorter (" + std::to_string(size) +
                                 " bytes) than the cursor (" + std::to_string(offset_) +
                                 "): truncated or replaced; reading it again from the start");
    offset_ = 0;
    line_ = 0;
    skipping_long_line_ = false;
    save_cursor(ctx);
  }
  if (size == offset_) {
    return false;
  }

  // Read a block; if it holds no newline, a bigger one, up to kMaxLine.
  std::string buffer;
  size_t want = kReadBlock;
  while (true) {
    buffer.resize(want);
    size_t got = 0;
    while (got < want) {
      const ssize_t n =
          ::pread(fd_, buffer.data() + got, want - got, static_cast<off_t>(offset_ + got));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        ctx.log(LogLevel::kError, "cannot read " + path_.string() + ": " + std::strerror(errno));
        return false;
      }
      if (n == 0) {
        break;
      }
      got += static_cast<size_t>(n);
    }
    buffer.resize(got);
    const bool at_eof = offset_ + got >= size;
    if (buffer.find('\n') != std::string::npos || at_eof || skipping_long_line_ ||
        want >= kMaxLine) {
      break;
    }
    want = std::min(want * 4, kMaxLine);
  }

  const uint64_t start_offset = offset_;
  const uint64_t start_line = line_;
  size_t pos = 0;
  uint32_t lines = 0;
  while (lines < batch_ && pos < buffer.size()) {
    const size_t newline = buffer.find('\n', pos);
    if (skipping_long_line_) {
      // The rest of an over-long line: discard up to its end.
      if (newline == std::string::npos) {
        offset_ += buffer.size() - pos;
        pos = buffer.size();
        break;
      }
      offset_ += newline + 1 - pos;
      pos = newline + 1;
      skipping_long_line_ = false;
      continue;
    }
    if (newline == std::string::npos) {
      const size_t rest = buffer.size() - pos;
      if (pos == 0 && rest >= kMaxLine) {
        ++line_;
        skip(ctx, "longer than " + std::to_string(kMaxLine >> 20) + " MiB");
        skipping_long_line_ = true;
        offset_ += rest;
        pos = buffer.size();
        break;
      }
      // A last line without its newline: complete in a finished export, but possibly still being
      // written when following (then it waits for its newline).
      if (!follow_ && offset_ + rest == size) {
        handle_line(ctx, std::string_view(buffer).substr(pos), size);
        pos = buffer.size();
        ++lines;
      }
      break;
    }
    handle_line(ctx, std::string_view(buffer).substr(pos, newline - pos),
                offset_ + (newline + 1 - pos));
    pos = newline + 1;
    ++lines;
  }
  if (offset_ != saved_offset_) {
    save_cursor(ctx);  // skipped and blank lines at the end move the cursor too
  }
  const bool progressed = offset_ != start_offset || line_ != start_line;
  return progressed && offset_ < size;
}

}  // namespace simpang::plugins::source_jsonl
