// IdempotencyGuard: remembers the (source, id) of handled events in memory and in an append-only
// file; see simpang/sdk/idempotency.h.
#include "simpang/sdk/idempotency.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace simpang::sdk {
namespace {

std::string os_error(int err) { return std::strerror(err); }

// Writes all of `data`, looping over partial writes. Returns 0 or the errno of the failure.
int write_all(int fd, std::string_view data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    written += static_cast<size_t>(n);
  }
  return 0;
}

std::string record_line(std::string_view source, std::string_view id) {
  return nlohmann::json::array({source, id})
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

// Splits a key made by key_of() back into (source, id).
std::pair<std::string_view, std::string_view> split_key(const std::string& key) {
  const size_t colon = key.find(':');
  const size_t length = std::stoul(key.substr(0, colon));
  const std::string_view rest = std::string_view(key).substr(colon + 1);
  return {rest.substr(0, length), rest.substr(length)};
}

}  // namespace

IdempotencyGuard::IdempotencyGuard(std::filesystem::path path, size_t capacity, Sync sync)
    : path_(std::move(path)), capacity_(capacity == 0 ? 1 : capacity), sync_(sync) {
  // Load what the file remembers. Only whole lines count: a line without its newline is the tail
  // of a write a crash interrupted, and is cut off below before anything is appended after it.
  size_t good_bytes = 0;
  {
    std::ifstream in(path_, std::ios::binary);
    if (in) {
      std::string line;
      while (std::getline(in, line)) {
        if (in.eof()) {
          break;  // no newline after it: torn
        }
        good_bytes += line.size() + 1;
        const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!record.is_array() || record.size() != 2 || !record[0].is_string() ||
            !record[1].is_string()) {
          // A damaged record costs at most one duplicate delivery; refusing to start would cost
          // the whole consumer, so it is skipped.
          ++file_records_;
          continue;
        }
        remember(key_of(record[0].get<std::string>(), record[1].get<std::string>()));
        ++file_records_;
      }
    } else if (std::filesystem::exists(path_)) {
      throw std::runtime_error("idempotency file " + path_.string() + ": cannot read it");
    }
  }
  open_for_append();
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && static_cast<size_t>(st.st_size) > good_bytes &&
      ::ftruncate(fd_, static_cast<off_t>(good_bytes)) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::runtime_error("idempotency file " + path_.string() +
                             ": cannot cut off a torn last record: " + os_error(err));
  }
  if (file_records_ > 2 * capacity_) {
    if (Status s = compact(); !s.ok()) {
      throw std::runtime_error(s.message());
    }
  }
}

IdempotencyGuard::~IdempotencyGuard() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void IdempotencyGuard::open_for_append() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("idempotency file " + path_.string() +
                             ": cannot open it for append: " + os_error(errno));
  }
}

std::string IdempotencyGuard::key_of(std::string_view source, std::string_view id) {
  // Length-prefixed, so ("a:b", "c") and ("a", "b:c") stay different keys.
  std::string key = std::to_string(source.size());
  key += ':';
  key += source;
  key += id;
  return key;
}

void IdempotencyGuard::remember(std::string key) {
  const auto [it, inserted] = keys_.insert(std::move(key));
  if (!inserted) {
    return;
  }
  order_.push_back(&*it);
  while (order_.size() > capacity_) {
    keys_.erase(*order_.front());
    order_.pop_front();
  }
}

bool IdempotencyGuard::seen(const simpang::v1::Event& event) const {
  return seen(event.source(), event.id());
}

bool IdempotencyGuard::seen(std::string_view source, std::string_view id) const {
  return keys_.count(key_of(source, id)) > 0;
}

Status IdempotencyGuard::mark(const simpang::v1::Event& event) {
  return mark(event.source(), event.id());
}

Status IdempotencyGuard::mark(std::string_view source, std::string_view id) {
  std::string key = key_of(source, id);
  if (keys_.count(key) > 0) {
    return Status::Ok();
  }
  remember(std::move(key));
  SIMPANG_RETURN_IF_ERROR(append(source, id));
  if (file_records_ > 2 * capacity_) {
    return compact();
  }
  return Status::Ok();
}

Status IdempotencyGuard::append(std::string_view source, std::string_view id) {
  if (fd_ < 0) {
    return Status::Error("idempotency file " + path_.string() + " is not open");
  }
  const std::string line = record_line(source, id);
  struct stat st {};
  const bool sized = ::fstat(fd_, &st) == 0;
  if (const int err = write_all(fd_, line); err != 0) {
    // Cut off a partial line, so the next record does not land after half of this one.
    if (sized && ::ftruncate(fd_, st.st_size) != 0) {
      // Nothing more to do: the next open drops the damaged line.
    }
    return Status::Error("idempotency file " + path_.string() + ": write failed: " + os_error(err));
  }
  ++file_records_;
  if (sync_ == Sync::kEveryMark && ::fdatasync(fd_) != 0) {
    return Status::Error("idempotency file " + path_.string() +
                         ": fdatasync failed: " + os_error(errno));
  }
  return Status::Ok();
}

Status IdempotencyGuard::compact() {
  const std::filesystem::path tmp = path_.string() + ".compact";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Error("idempotency file " + path_.string() + ": cannot compact into " +
                         tmp.string() + ": " + os_error(errno));
  }
  std::string contents;
  for (const std::string* key : order_) {
    const auto [source, id] = split_key(*key);
    contents += record_line(source, id);
  }
  int err = write_all(fd, contents);
  // Always synced, whatever the policy: the rename must not expose a file whose data is not on
  // disk yet, or a power loss right after it would leave an empty file in place of both.
  if (err == 0 && ::fsync(fd) != 0) {
    err = errno;
  }
  ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path_.c_str()) != 0) {
    err = errno;
  }
  if (err != 0) {
    ::unlink(tmp.c_str());
    return Status::Error("idempotency file " + path_.string() +
                         ": compaction failed: " + os_error(err));
  }
  // The directory entry too, so the rename itself survives a power loss.
  if (const int dir = ::open(path_.parent_path().empty() ? "." : path_.parent_path().c_str(),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  ::close(fd_);
  fd_ = -1;
  try {
    open_for_append();
  } catch (const std::exception& e) {
    return Status::Error(e.what());
  }
  file_records_ = order_.size();
  return Status::Ok();
}

}  // namespace simpang::sdk
