// The ABI thunks over the SDK runtime: what SIMPANG_PLUGIN's exported entry points call. They
// catch every exception, so none crosses the C ABI.
#include <cstddef>
#include <string>

#include "runtime.h"

namespace simpang::sdk::internal {
using std::chrono::milliseconds;

namespace {
Runtime* as_runtime(simpang_instance* instance) { return reinterpret_cast<Runtime*>(instance); }
}  // namespace

simpang_instance* create_instance(const simpang_host_api* host, simpang_plugin_kind kind,
                                  const char* plugin_name, PluginFactory factory,
                                  const char** error) noexcept {
  thread_local std::string create_error;
  auto fail = [&](std::string message) -> simpang_instance* {
    create_error = std::move(message);
    if (error != nullptr) {
      *error = create_error.c_str();
    }
    return nullptr;
  };
  if (host == nullptr || host->struct_size < offsetof(simpang_host_api, heartbeat_ms)) {
    return fail("host services missing or too old");
  }
  try {
    auto runtime = std::make_unique<Runtime>(*host, kind, plugin_name);
    Status status = runtime->construct(factory);
    if (!status.ok()) {
      return fail(status.message());
    }
    return reinterpret_cast<simpang_instance*>(runtime.release());
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown exception while creating the instance");
  }
}

int start_instance(simpang_instance* instance) noexcept {
  try {
    Status status = as_runtime(instance)->start();
    if (!status.ok()) {
      as_runtime(instance)->set_last_error(status.message());
      return 1;
    }
    return 0;
  } catch (...) {
    return 1;
  }
}

int stop_instance(simpang_instance* instance, uint32_t deadline_ms) noexcept {
  try {
    return as_runtime(instance)->stop(milliseconds(deadline_ms));
  } catch (...) {
    return SIMPANG_STOP_INCOMPLETE;
  }
}

void destroy_instance(simpang_instance* instance) noexcept {
  try {
    delete as_runtime(instance);
  } catch (...) {
    // Nothing can be reported from here; the instance is gone either way.
  }
}

const char* instance_last_error(simpang_instance* instance) noexcept {
  try {
    return as_runtime(instance)->last_error();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace simpang::sdk::internal
