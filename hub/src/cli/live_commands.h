// `simpang status|instances|routes|destinations CONFIG [--json]`: what a running hub says about
// itself, through its admin API (found from the configuration: the admin section's address and
// token, and the port the hub wrote to <state_dir>/admin.port). Tables for people, the API's JSON
// with --json. A clear error when the admin API is off or no hub runs.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "config/config.h"

namespace simpang::hub {

// Runs one of them: `what` is status, instances, routes or destinations. (`routes` itself is
// added by routes_command.h, beside `routes test`.)
int ask_running_hub(const std::string& what, const std::string& config_file, bool json,
                    const std::function<ConfigResult(const std::string&)>& load);

// Adds status, instances and destinations to `app`. `load` reads a configuration without opening
// plugins. Returns a function to call after parsing: the command's exit status (0, or 1 when the
// hub cannot be asked), or -1 when none of them was given.
std::function<int()> add_live_commands(CLI::App& app,
                                       std::function<ConfigResult(const std::string&)> load);

}  // namespace simpang::hub
