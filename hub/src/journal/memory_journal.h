// A Journal that keeps everything in memory: nothing survives the process. For benchmarks that
// measure the hub without storage, and for experiments; `journal: {kind: memory}` selects it.
// It keeps the same contract otherwise (ids, de-duplication, dead letters, paging, full()).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace simpang::hub {

std::unique_ptr<Journal> make_memory_journal(const JournalOptions& options,
                                             std::vector<std::string> destinations);

}  // namespace simpang::hub
