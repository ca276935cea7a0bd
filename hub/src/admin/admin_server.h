// The admin HTTP API of a running hub, on the SDK's HTTP server (simpang/http/server.h): health
// and readiness probes, Prometheus metrics, and read-only JSON views of instances, routes and
// destinations (docs/admin-api.md; the schema in docs/openapi.json, served at /openapi.json).
//
//   auto admin = AdminServer::start(running_hub, {.config = config.admin, ...});
//   if (!admin.ok()) return admin.status();      // names the address and port
//   (*admin)->set_running();                     // every instance started: /readyz may say ready
//                                                // (Hub::run calls it as a HubAttachment)
//   ...
//   admin->reset();                              // before running_hub.close()
//
// It never blocks the hub's loop: a request takes a snapshot on the loop (RunningHub::
// snapshot_on_loop, a copy of counters), and the page is written and sent from a thread of its
// own. Requests are authenticated on the server's thread, before any snapshot is taken.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>

#include "config/admin_config.h"
#include "core/hub.h"
#include "core/running_hub.h"
#include "simpang/base/status.h"

namespace simpang::http {
class Server;
}

namespace simpang::hub::admin {

struct AdminServerOptions {
  AdminConfig config;
  std::filesystem::path state_dir;  // admin.port is written here
  // The journal's database file (its -wal beside it is counted too); none for a journal without
  // files.
  std::optional<std::filesystem::path> journal_file;
  std::shared_ptr<spdlog::logger> logger;
  // POST /api/v1/reload: how to ask the hub's main thread for a reload, and how to check the file
  // without applying it. Empty: the endpoint answers 503.
  std::function<std::future<ReloadAnswer>()> reload;
  std::function<ConfigResult()> validate;
};

class AdminServer final : public HubAttachment {
 public:
  // Binds and starts serving, then writes the bound port to <state_dir>/admin.port.
  // OWNERSHIP: borrows `hub`, which must stay open (not closed) until this object is destroyed.
  // Thread rule: the hub's owning thread (not its loop).
  static StatusOr<std::unique_ptr<AdminServer>> start(RunningHub& hub, AdminServerOptions options);
  // Stops serving: answers what is in flight (up to 2 s), waits for work posted to the hub's loop,
  // and removes admin.port. Thread rule: the owning thread, while the hub's loop still runs.
  ~AdminServer() override;
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Every instance has been started: from now on /readyz is 200 when all are connected.
  // Thread rule: any thread.
  void set_running();
  void on_running() override { set_running(); }
  uint16_t port() const;

 private:
  struct Core;
  AdminServer(RunningHub& hub, std::shared_ptr<Core> core);

  RunningHub& hub_;
  std::shared_ptr<Core> core_;
  std::unique_ptr<http::Server> server_;
  std::filesystem::path port_file_;
};

}  // namespace simpang::hub::admin
