// A plugin shared library, opened and checked: the entry symbol resolved and its ABI version
// accepted (equal major, plugin minor at most the host's). Instances are created from it.
#pragma once

#include <filesystem>
#include <memory>

#include "simpang/base/status.h"
#include "simpang/plugin_abi.h"

namespace simpang::hub {

class PluginLibrary {
 public:
  // Opens `path` with dlopen (RTLD_NOW | RTLD_LOCAL), resolves simpang_plugin_entry and checks the
  // description it returns. An error names the file and, for a version mismatch, both versions,
  // e.g. "plugins/x.so: plugin ABI 2.0 is not compatible with this hub's ABI 1.0 (majors differ)".
  static StatusOr<std::shared_ptr<PluginLibrary>> open(const std::filesystem::path& path);

  ~PluginLibrary();  // dlclose; REQUIRES: every instance created from it has been destroyed
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  // The plugin's description, read per the ABI's growth rule (zero-filled past its struct_size).
  const simpang_plugin_api& api() const { return api_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  PluginLibrary(void* handle, std::filesystem::path path, const simpang_plugin_api& api);
  void* handle_;  // OWNERSHIP: owned; dlclose'd in the destructor
  std::filesystem::path path_;
  simpang_plugin_api api_;
};

// Checks a plugin's declared ABI version against this host's. Returns an error message naming
// both versions (without the file) when they are not compatible.
Status check_abi_compatible(uint32_t plugin_major, uint32_t plugin_minor);

}  // namespace simpang::hub
