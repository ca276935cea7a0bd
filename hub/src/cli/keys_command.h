// `simpang keys new NAME [--dir DIR]`: writes a CurveZMQ key pair for a partner's connection,
// DIR/NAME.key (secret, 0600) and DIR/NAME.pub.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace simpang::hub {

// Adds `keys new` to `app`. Returns a function to call after parsing: it runs the command if it
// was given and returns its exit status (0 written, 1 refused or failed, with the reason on
// stderr), or -1 when it was not.
std::function<int()> add_keys_commands(CLI::App& app);

}  // namespace simpang::hub
