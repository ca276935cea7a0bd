// The admin API's journal operations: dead letters (list with filters, show, replay, drop) and
// replay of history to a destination, through the running hub's own journal admin (so a replay is
// carried out by the hub's writer, which tells the broker), answered as JSON or RFC 9457 problems
// (docs/admin-api.md).
//
//   JournalApi api([&] { return hub.open_journal_admin(); }, logger);
//   if (JournalApi::handles(request.path)) respond(api.handle(request, caller));  // blocking
//
// Thread rule: handle() blocks on the journal (reads, and a replay waits for the hub); call it
// from one thread of the admin's own, never from the hub's loop or the server's threads.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>

#include "journal/journal_admin.h"
#include "simpang/base/status.h"
#include "simpang/http/server.h"

namespace simpang::hub::admin {

class JournalApi {
 public:
  using OpenAdmin = std::function<StatusOr<std::unique_ptr<JournalAdmin>>()>;
  JournalApi(OpenAdmin open, std::shared_ptr<spdlog::logger> logger);

  // Whether `path` is one of its endpoints (/api/v1/dead-letters..., /api/v1/replay).
  static bool handles(const std::string& path);
  // Answers the request. `caller` says who asked (logged with every change it makes).
  http::Response handle(const http::Request& request, const std::string& caller);

 private:
  http::Response list(const http::Request& request);
  http::Response one(const http::Request& request, uint64_t id, const std::string& action,
                     const std::string& caller);
  http::Response replay_filtered(const http::Request& request, const std::string& caller);
  http::Response replay_history(const http::Request& request, const std::string& caller);
  // The journal admin, opened on first use.
  StatusOr<JournalAdmin*> admin();

  OpenAdmin open_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<JournalAdmin> admin_;
};

}  // namespace simpang::hub::admin
