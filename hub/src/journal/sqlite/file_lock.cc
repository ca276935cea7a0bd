// flock(2) on FILE.lock; see file_lock.h.
#include "journal/sqlite/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace simpang::hub::journal_internal {

std::filesystem::path lock_path(const std::filesystem::path& journal) {
  auto path = journal;
  path += ".lock";
  return path;
}

StatusOr<std::unique_ptr<FileLock>> FileLock::try_exclusive(const std::filesystem::path& journal) {
  const auto path = lock_path(journal);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Error("journal " + journal.string() + ": cannot open its lock file " +
                         path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return std::unique_ptr<FileLock>();
    }
    return Status::Error("journal " + journal.string() + ": cannot lock " + path.string() + ": " +
                         std::strerror(error));
  }
  // The holder's pid, for the message another process gets; advisory only.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

bool FileLock::held_by_someone(const std::filesystem::path& journal) {
  const int fd = ::open(lock_path(journal).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;  // no lock file: no hub has ever run on this journal
  }
  // A shared lock conflicts only with the holder's exclusive one, so probing never blocks another
  // probe.
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's shared lock, if it got one
  return held;
}

std::optional<long> FileLock::holder_pid(const std::filesystem::path& journal) {
  const int fd = ::open(lock_path(journal).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  char buffer[32] = {};
  const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
  ::close(fd);
  if (got <= 0) {
    return std::nullopt;
  }
  char* end = nullptr;
  const long pid = std::strtol(buffer, &end, 10);
  return pid > 0 ? std::optional(pid) : std::nullopt;
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace simpang::hub::journal_internal
