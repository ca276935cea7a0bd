// Finding and opening the plugin libraries the configuration names; see config/plugin_search.h.
#include "config/plugin_search.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace simpang::hub::config_internal {
namespace {

// The problem with a readable regular file at `p`, or "" when there is none.
std::string unusable(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(p, ec);
  if (!std::filesystem::exists(status)) {
    return "does not exist";
  }
  if (std::filesystem::is_directory(status)) {
    return "is a directory, not a plugin library";
  }
  if (access(p.c_str(), R_OK) != 0) {
    return std::string("is not readable: ") + std::strerror(errno);
  }
  return "";
}

}  // namespace

std::filesystem::path resolve_against(const std::filesystem::path& dir, const std::string& path) {
  std::filesystem::path p(path);
  return (p.is_absolute() ? p : dir / p).lexically_normal();
}

PluginSearch::PluginSearch(std::vector<std::filesystem::path> default_dirs)
    : default_dirs_(std::move(default_dirs)) {}

StatusOr<std::filesystem::path> PluginSearch::find(
    const std::string& plugin, const std::filesystem::path& config_dir,
    const std::vector<std::filesystem::path>& plugin_dirs) const {
  const bool is_path = plugin.find('/') != std::string::npos || plugin.ends_with(".so");
  if (is_path) {
    std::filesystem::path path = resolve_against(config_dir, plugin);
    if (std::string problem = unusable(path); !problem.empty()) {
      std::string message = "plugin library " + path.string() + " " + problem;
      if (problem == "does not exist" && std::filesystem::path(plugin).is_relative()) {
        message += " (a relative path is resolved against the configuration file's directory)";
      }
      return Status::Error(std::move(message));
    }
    return path;
  }

  std::vector<std::filesystem::path> dirs = plugin_dirs;
  dirs.insert(dirs.end(), default_dirs_.begin(), default_dirs_.end());
  if (dirs.empty()) {
    return Status::Error("plugin '" + plugin +
                         "' not found: there is no plugin directory to search; set "
                         "hub.plugin_dirs or give the path to the .so");
  }
  const std::string file_name = plugin + ".so";
  std::vector<std::string> searched;
  for (const std::filesystem::path& dir : dirs) {
    // LoadOptions' directories may be relative to the working directory; Config promises absolute.
    std::error_code absolute_error;
    std::filesystem::path base = std::filesystem::absolute(dir, absolute_error);
    std::filesystem::path candidate =
        ((absolute_error ? dir : base) / file_name).lexically_normal();
    std::string problem = unusable(candidate);
    if (problem.empty()) {
      return candidate;
    }
    if (problem != "does not exist") {
      // Present but unusable: say so rather than keep searching and report "not found".
      return Status::Error("plugin library " + candidate.string() + " " + problem);
    }
    std::error_code ec;
    const std::filesystem::path shown = absolute_error ? dir : base.lexically_normal();
    searched.push_back(shown.string() +
                       (std::filesystem::is_directory(dir, ec) ? "" : " (no such directory)"));
  }
  std::string where;
  for (const std::string& dir : searched) {
    where += (where.empty() ? "" : ", ") + dir;
  }
  return Status::Error("plugin '" + plugin + "' not found: looked for " + file_name + " in " +
                       where);
}

bool PluginSearch::is_bundled(const std::filesystem::path& library) const {
  for (const auto& dir : default_dirs_) {
    std::error_code ec;
    if (std::filesystem::equivalent(library.parent_path(), dir, ec)) {
      return true;
    }
  }
  return false;
}

StatusOr<const PluginLibrary*> PluginSearch::inspect(const std::filesystem::path& library) {
  std::error_code ec;
  std::filesystem::path key = std::filesystem::weakly_canonical(library, ec);
  if (ec) {
    key = library;
  }
  if (auto it = libraries_.find(key); it != libraries_.end()) {
    return static_cast<const PluginLibrary*>(it->second.get());
  }
  if (auto it = library_errors_.find(key); it != library_errors_.end()) {
    return Status::Error(it->second);
  }
  StatusOr<std::shared_ptr<PluginLibrary>> opened = PluginLibrary::open(library);
  if (!opened.ok()) {
    library_errors_.emplace(key, opened.status().message());
    return opened.status();
  }
  return static_cast<const PluginLibrary*>(
      libraries_.emplace(key, std::move(*opened)).first->second.get());
}

}  // namespace simpang::hub::config_internal
