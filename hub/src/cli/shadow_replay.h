// Shadow replay (`simpang replay CONFIG --through NEW_CONFIG --since TIME`): journaled history run
// through the routes of the configuration in force and of a changed one, without delivering or
// writing anything, to show per destination what the change would deliver differently.
#pragma once

#include <string>

#include "config/config.h"
#include "journal/journal_admin.h"

namespace simpang::hub {

struct ShadowReplayOptions {
  std::string current_file;  // the configuration in force, as named on the command line
  std::string next_file;     // the changed configuration
  HistoryRange range;
  bool json = false;
  size_t samples = 3;  // event ids shown per destination and direction
};

// Reads the history through `admin` (read only) and prints the comparison to stdout. Returns the
// exit status: 0, or 1 when the history cannot be read or a configuration's routes do not compile.
int shadow_replay(const Config& current, const Config& next, JournalAdmin& admin,
                  const ShadowReplayOptions& options);

}  // namespace simpang::hub
