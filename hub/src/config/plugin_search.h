// Where the configuration's `plugin:` values lead: finding the shared library an instance names
// (a path, or a name searched for as NAME.so in the plugin directories), telling the hub's own
// plugins from anyone else's, and opening each library once to check it. The configuration loader
// reports what these return at the `plugin:` value's position.
//
//   PluginSearch search(options.default_plugin_dirs);
//   StatusOr<std::filesystem::path> library = search.find("sink-jsonl", dir, hub.plugin_dirs);
//   if (library.ok() && search.is_bundled(*library)) { ... }  // runs on a thread by default
//   StatusOr<const PluginLibrary*> lib = search.inspect(*library);
//
// Thread rule: one thread per search (it caches what it opened).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugin/plugin_library.h"
#include "simpang/base/status.h"

namespace simpang::hub::config_internal {

// A path written in the configuration: itself when absolute, else relative to `dir` (the
// configuration file's directory); normalised lexically either way.
std::filesystem::path resolve_against(const std::filesystem::path& dir, const std::string& path);

class PluginSearch {
 public:
  // `default_dirs`: searched after the configuration's own hub.plugin_dirs, and the directories
  // whose libraries count as bundled (LoadOptions::default_plugin_dirs).
  explicit PluginSearch(std::vector<std::filesystem::path> default_dirs);

  // The library `plugin` (as written) names. A value with a '/' or ending in ".so" is a path,
  // resolved against `config_dir`; anything else is a name, found as NAME.so in `plugin_dirs` and
  // then the default directories, first match wins. The error says what was looked for where:
  //   "plugin 'x' not found: looked for x.so in /a, /b (no such directory)"
  //   "plugin library /a/x.so is a directory, not a plugin library"
  // A file that is present but unusable stops the search (it is reported, not skipped).
  StatusOr<std::filesystem::path> find(const std::string& plugin,
                                       const std::filesystem::path& config_dir,
                                       const std::vector<std::filesystem::path>& plugin_dirs) const;

  // True when `library` is in one of the default directories (shipped with the hub).
  bool is_bundled(const std::filesystem::path& library) const;

  // Opens `library` (once per file: instances sharing a library share the result, a failure
  // included) and checks its entry symbol and ABI. The error is PluginLibrary::open's.
  // OWNERSHIP: the library is owned by this search and lives as long as it.
  StatusOr<const PluginLibrary*> inspect(const std::filesystem::path& library);

 private:
  std::vector<std::filesystem::path> default_dirs_;
  // Keyed by the library's canonical path, so instances sharing a library open it once; a failed
  // open is cached as its message so the dlopen is not retried for every instance.
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::map<std::filesystem::path, std::string> library_errors_;
};

}  // namespace simpang::hub::config_internal
