// `simpang routes test CONFIG --events FILE.jsonl --from INSTANCE`: for each event of a file of
// CloudEvents JSON lines, which routes of the configuration match it and where it would go, as
// the hub itself would decide (the router's own RouteTable), without a running hub and without
// opening the journal or any plugin.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "config/config.h"

namespace simpang::hub {

// Adds `routes test` to `app`. `load` reads a configuration without opening plugins. Returns a
// function to call after parsing: it runs the command when it was given and returns its exit
// status (0: every line read; 1: a configuration, file or line error), or -1 when it was not.
std::function<int()> add_routes_commands(CLI::App& app,
                                         std::function<ConfigResult(const std::string&)> load);

}  // namespace simpang::hub
