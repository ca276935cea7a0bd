// `simpang plugin new NAME --kind source|sink|transform [--dir DIR]`: writes an out-of-tree plugin
// project (CMake against the installed SDK, a working minimal plugin of that kind, a GoogleTest
// test using the SDK's PluginHarness and HubFixture, a README) that builds and passes its tests as
// is.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "simpang/base/status.h"

namespace simpang::hub {

// Adds `plugin new` to `app`. Returns a function to call after parsing: it runs the command if it
// was given and returns its exit status (0 written, 1 refused or failed, with the reason on
// stderr), or -1 when it was not.
std::function<int()> add_plugin_commands(CLI::App& app);

// Checks a plugin name: lower-case letters, digits and '-', starting with a letter, not ending with
// '-', no "--", at most 64 characters. The error says what is wrong.
Status check_plugin_name(std::string_view name);

// The files of a new project for plugin `name` of `kind` ("source", "sink" or "transform"), by
// path relative to the project directory. REQUIRES: check_plugin_name(name).ok() and a valid kind.
std::map<std::string, std::string> plugin_project_files(std::string_view name,
                                                        std::string_view kind);

// Writes the project into `dir`, which must not exist (it is created, with missing parents).
// Refuses, without writing anything, when it exists.
Status write_plugin_project(const std::filesystem::path& dir, std::string_view name,
                            std::string_view kind);

}  // namespace simpang::hub
