// `simpang dlq list|show|replay|drop` and `simpang replay`: operator commands over a hub's journal.
#pragma once

#include <functional>
#include <memory>

#include <CLI/CLI.hpp>

#include "config/config.h"

namespace simpang::hub {

// Adds the commands to `app`. `load` reads a configuration (to find its journal file). Returns a
// function to call after parsing: it runs whichever of the commands was given and returns its exit
// status, or -1 when none of them was.
std::function<int()> add_journal_commands(
    CLI::App& app, std::function<ConfigResult(const std::string&)> load);

}  // namespace simpang::hub
