// FILE.lock: the one-writer rule of a journal file, held with flock(2) by the process that writes
// deliveries (the hub's Journal for as long as it is open, or an admin command carrying out a
// replay while no hub runs). The kernel releases it when the holder exits, even on kill -9, so a
// crashed hub never leaves a stale lock behind.
//
// Thread rule: a FileLock is owned by one object and not shared between threads.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "simpang/base/status.h"

namespace simpang::hub::journal_internal {

// The lock file beside a journal: FILE.lock.
std::filesystem::path lock_path(const std::filesystem::path& journal);

// OWNERSHIP: owns the lock file's descriptor; closing it (destruction) releases the lock. The file
// itself is never deleted: unlinking a lock file lets two processes lock two different inodes.
class FileLock {
 public:
  // Takes the exclusive lock without waiting. Returns nullptr (not an error) when another process
  // or another FileLock holds it; errors only for an unusable lock file.
  static StatusOr<std::unique_ptr<FileLock>> try_exclusive(const std::filesystem::path& journal);
  // True when some process holds the lock. Never creates the lock file.
  static bool held_by_someone(const std::filesystem::path& journal);
  // The pid the holder wrote into the lock file, if readable.
  static std::optional<long> holder_pid(const std::filesystem::path& journal);

  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace simpang::hub::journal_internal
