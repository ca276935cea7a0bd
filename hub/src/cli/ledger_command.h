// `simpang ledger progress CONFIG [--json]` and `simpang ledger review CONFIG`: the programme's
// progress and the identity matches waiting for a person, read from the talent-ledger instance's
// database (read-only, so it can run beside the hub).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "config/config.h"

namespace simpang::hub {

// Adds the commands to `app`. `load` reads a configuration (to find the ledger instance, its
// state directory and its config). Returns a function to call after parsing: it runs the command
// given and returns its exit status, or -1 when none of them was.
std::function<int()> add_ledger_commands(CLI::App& app,
                                         std::function<ConfigResult(const std::string&)> load);

}  // namespace simpang::hub
