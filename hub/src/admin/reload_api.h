// POST /api/v1/reload: the hub reads its configuration file again, validates it, and applies it
// (as SIGHUP does), answering what changed, or 422 with every diagnostic at line:column and nothing
// applied; `?dry_run=true` validates only. See docs/admin-api.md.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <future>
#include <string>

#include "config/config.h"
#include "core/hub.h"
#include "simpang/http/server.h"

namespace simpang::hub::admin {

struct ReloadHooks {
  std::function<std::future<ReloadAnswer>()> reload;  // empty: this hub cannot reload
  std::function<ConfigResult()> validate;             // reads and checks the file, applies nothing
};

// Thread rule: blocks until the reload is done (at most a minute): call it from a thread of the
// admin's own.
http::Response reload_api(const http::Request& request, const ReloadHooks& hooks,
                          const std::string& caller, spdlog::logger& logger);

}  // namespace simpang::hub::admin
