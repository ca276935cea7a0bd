// The sink-jsonl plugin; see sink_jsonl.h.
#include "sink_jsonl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::sink_jsonl {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;

std::string errno_text(int err) { return std::strerror(err); }

// The offset just past the last newline of the file's first `size` bytes (0 when there is none),
// or -1 when the file cannot be read.
off_t end_of_last_line(int fd, off_t size) {
  char buffer[4096];
  off_t end = size;
  while (end > 0) {
    const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof(buffer)));
    const ssize_t n = ::pread(fd, buffer, static_cast<size_t>(end - start), start);
    if (n <= 0) {
      return -1;
    }
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buffer[i] == '\n') {
        return start + i + 1;
      }
    }
    end = start;
  }
  return 0;
}

}  // namespace

JsonlSink::JsonlSink(simpang::sdk::Context& ctx) {
  simpang::sdk::ConfigReader config(ctx.config());
  // Read as any value, so the message says what the key is for and what a path must be.
  const std::optional<nlohmann::json> path = config.get<nlohmann::json>("path");
  if (!path) {
    throw config.error("path", "required (the file to append events to)");
  }
  if (!path->is_string() || path->get_ref<const std::string&>().empty()) {
    throw config.error("path", "must be a non-empty string, got " + path->dump());
  }
  fsync_ = config.optional<bool>("fsync", fsync_);
  config.reject_unknown();

  path_ = std::filesystem::path(path->get<std::string>());
  if (path_.is_relative()) {
    path_ = ctx.state_dir() / path_;
  }
  // O_RDWR, not O_WRONLY: a torn last line is found by reading the file's tail.
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw ConfigError("config.path: cannot open '" + path_.string() +
                      "' for append: " + errno_text(errno));
  }
  cut_torn_tail(ctx);
}

void JsonlSink::cut_torn_tail(simpang::sdk::Context& ctx) {
  // A crash (kill -9, power loss) mid-write leaves half a line at the end. Its event was never
  // acknowledged, so it will be delivered again: cut the half line off, or the next line would be
  // glued to it and both would be unreadable.
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  const off_t end = end_of_last_line(fd_, size);
  if (end < 0 || end == size) {
    return;  // intact, or unreadable (then leave it rather than guess)
  }
  if (::ftruncate(fd_, end) != 0) {
    throw ConfigError("config.path: '" + path_.string() +
                      "' ends in a torn line that cannot be cut off: " + errno_text(errno));
  }
  ctx.log(simpang::sdk::LogLevel::kWarn,
          "cut off a torn last line of " + std::to_string(size - end) + " bytes from " +
              path_.string() + " (left by a crash; its event will be delivered again)");
}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Outcome JsonlSink::on_event(simpang::sdk::Context& ctx, const simpang::v1::Event& event) {
  const std::string line = simpang::sdk::to_cloudevents_json(event) + "\n";
  // Where this line starts: O_APPEND writes at the end, and this instance is the file's only
  // writer, so a failed write can be cut back to here.
  const off_t start = ::lseek(fd_, 0, SEEK_END);

  // Cuts the file back to where this line started, so a failed event leaves nothing behind and
  // its redelivery is not appended after a torn half line (or a duplicate of itself).
  const auto roll_back = [&] {
    if (start >= 0 && ::ftruncate(fd_, start) != 0) {
      ctx.log(simpang::sdk::LogLevel::kError,
              "could not cut off a failed line path=" + path_.string() + " event=" + event.id() +
                  ": " + errno_text(errno));
    }
  };

  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      if (written > 0) {
        roll_back();
      }
      return Outcome::retry_later("write to " + path_.string() + " failed: " + errno_text(err));
    }
    written += static_cast<size_t>(n);
  }
  // write(2) is unbuffered, so the line is already in the kernel; fsync asks for the disk too.
  // fdatasync suffices: it syncs the size along with the data, the metadata that matters here.
  if (fsync_ && ::fdatasync(fd_) != 0) {
    const int err = errno;
    roll_back();
    return Outcome::retry_later("fsync of " + path_.string() + " failed: " + errno_text(err));
  }
  return Outcome::ack();
}

}  // namespace simpang::plugins::sink_jsonl
