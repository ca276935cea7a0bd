// A stand-in for `simpang plugin ...` used by kit_test.sh while the hub's own command line may not
// carry the command yet: the same add_plugin_commands(), behind a bare CLI11 app.
#include <CLI/CLI.hpp>

#include "cli/plugin_new.h"

int main(int argc, char** argv) {
  CLI::App app{"simpang plugin commands (test stand-in)"};
  app.require_subcommand(1);
  auto run = simpang::hub::add_plugin_commands(app);
  CLI11_PARSE(app, argc, argv);
  const int status = run();
  return status < 0 ? 0 : status;
}
