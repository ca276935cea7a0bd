// Opening a plugin library: dlopen, the entry symbol, and the checks that make the description it
// returns safe to use (versions, struct size, required fields).
#include "plugin/plugin_library.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace simpang::hub {
namespace {

// The smallest struct_size from which the ABI versions can be read. Checked before the versions,
// because a description too short to hold them cannot be judged at all.
constexpr size_t kVersionsEnd = offsetof(simpang_plugin_api, abi_minor) + sizeof(uint32_t);
// The end of the last REQUIRED field at ABI 1.0. A description shorter than this lacks a field
// every 1.x plugin must have, so it was not written against this ABI whatever it claims.
constexpr size_t kRequiredEnd =
    offsetof(simpang_plugin_api, last_error) + sizeof(simpang_plugin_api::last_error);

std::string version_text(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// dlerror() is per-thread and cleared by reading it; a missing message still deserves a sentence.
std::string take_dlerror() {
  const char* error = dlerror();
  return error != nullptr ? std::string(error) : std::string("unknown dynamic loader error");
}

// Closes a handle on every early return of open(), so a rejected library does not stay mapped.
struct HandleCloser {
  void operator()(void* handle) const {
    if (handle != nullptr) {
      dlclose(handle);
    }
  }
};
using HandleGuard = std::unique_ptr<void, HandleCloser>;

}  // namespace

Status check_abi_compatible(uint32_t plugin_major, uint32_t plugin_minor) {
  const std::string versions = "plugin ABI " + version_text(plugin_major, plugin_minor) +
                               " is not compatible with this hub's ABI " +
                               version_text(SIMPANG_ABI_MAJOR, SIMPANG_ABI_MINOR);
  if (plugin_major != SIMPANG_ABI_MAJOR) {
    return Status::Error(versions +
                         " (the major versions differ; rebuild the plugin against this SDK)");
  }
  if (plugin_minor > SIMPANG_ABI_MINOR) {
    return Status::Error(versions +
                         " (the plugin needs a newer hub; upgrade the hub or rebuild the plugin "
                         "against this SDK)");
  }
  return Status::Ok();
}

StatusOr<std::shared_ptr<PluginLibrary>> PluginLibrary::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  auto fail = [&file](const std::string& why) { return Status::Error(file + ": " + why); };

  // A bare file name would make dlopen search LD_LIBRARY_PATH and the system directories; a
  // plugin is always a file we were pointed at, so anchor relative paths at the working directory.
  std::filesystem::path load_path = path;
  if (path.is_relative()) {
    std::error_code ec;
    load_path = std::filesystem::absolute(path, ec);
    if (ec) {
      return fail("cannot make the path absolute: " + ec.message());
    }
  }

  dlerror();  // clear a stale message so the one we report is ours
  HandleGuard handle(dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!handle) {
    // dlerror() usually starts with the path too; say it once.
    std::string reason = take_dlerror();
    if (const std::string prefix = load_path.string() + ": "; reason.starts_with(prefix)) {
      reason.erase(0, prefix.size());
    }
    return fail("cannot load the plugin library: " + reason);
  }

  void* symbol = dlsym(handle.get(), SIMPANG_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    // dlerror() would only repeat "undefined symbol"; clear it so it does not linger.
    dlerror();
    return fail(std::string("not a Simpang plugin: it does not export ") +
                SIMPANG_PLUGIN_ENTRY_SYMBOL);
  }

  // POSIX guarantees a data pointer from dlsym converts to a function pointer.
  auto entry = reinterpret_cast<simpang_plugin_entry_fn>(symbol);
  const simpang_plugin_api* described = nullptr;
  try {
    described = entry();
  } catch (...) {
    // The ABI forbids exceptions across it, but a broken plugin must not take the hub down.
    return fail(std::string(SIMPANG_PLUGIN_ENTRY_SYMBOL) + " threw an exception");
  }
  if (described == nullptr) {
    return fail(std::string(SIMPANG_PLUGIN_ENTRY_SYMBOL) + " returned NULL");
  }

  uint32_t struct_size = 0;
  std::memcpy(&struct_size, described, sizeof(struct_size));
  if (struct_size < kVersionsEnd) {
    return fail("the plugin description is " + std::to_string(struct_size) +
                " bytes, too short to hold its ABI version; it was not built with the Simpang SDK");
  }

  // Growth rule (plugin_abi.h, convention 3): copy what the plugin wrote into a zero-filled struct,
  // so fields a plugin built against an older minor did not know read as 0 / NULL.
  simpang_plugin_api api;
  std::memset(&api, 0, sizeof(api));
  std::memcpy(&api, described, std::min<size_t>(struct_size, sizeof(api)));

  // Versions first: with a different major even the layout below may mean something else.
  Status compatible = check_abi_compatible(api.abi_major, api.abi_minor);
  if (!compatible.ok()) {
    return fail(compatible.message());
  }
  if (struct_size < kRequiredEnd) {
    return fail("the plugin description is " + std::to_string(struct_size) + " bytes but ABI " +
                version_text(api.abi_major, api.abi_minor) + " requires at least " +
                std::to_string(kRequiredEnd) + "; the plugin was built against a broken SDK");
  }

  std::string missing;
  auto require = [&missing](bool present, const char* field) {
    if (!present) {
      missing += missing.empty() ? field : std::string(", ") + field;
    }
  };
  require(api.name != nullptr && api.name[0] != '\0', "name");
  require(api.version != nullptr, "version");
  require(api.create != nullptr, "create");
  require(api.start != nullptr, "start");
  require(api.stop != nullptr, "stop");
  require(api.destroy != nullptr, "destroy");
  require(api.last_error != nullptr, "last_error");
  if (!missing.empty()) {
    return fail("the plugin description leaves required fields empty: " + missing);
  }

  switch (api.kind) {
    case SIMPANG_KIND_SOURCE:
    case SIMPANG_KIND_SINK:
    case SIMPANG_KIND_TRANSFORM:
      break;
    default:
      return fail("plugin '" + std::string(api.name) + "' declares an unknown kind " +
                  std::to_string(api.kind) + " (expected 1 source, 2 sink or 3 transform)");
  }

  return std::shared_ptr<PluginLibrary>(new PluginLibrary(handle.release(), path, api));
}

PluginLibrary::PluginLibrary(void* handle, std::filesystem::path path,
                             const simpang_plugin_api& api)
    : handle_(handle), path_(std::move(path)), api_(api) {}

PluginLibrary::~PluginLibrary() {
  if (handle_ != nullptr) {
    dlclose(handle_);
  }
}

}  // namespace simpang::hub
