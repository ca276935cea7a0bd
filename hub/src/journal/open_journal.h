// Choosing and opening a journal backend: the one place that knows which backends exist. The hub
// opens its Journal here, and `simpang dlq` / `simpang replay` their JournalAdmin; neither names a
// backend. A new backend adds a JournalBackend value (journal_options.h) and a case to each
// function, and adds itself to the contract test's list (tests/unit/journal).
//
//   JournalOptions options;
//   options.file = state_dir / "journal.db";
//   auto journal = open_journal(options, {"ledger", "webhook"}, {"all", "completions"});
//   if (!journal.ok()) { /* the message says what is wrong and how to recover */ }
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "journal/journal_admin.h"
#include "journal/journal_options.h"
#include "simpang/base/status.h"

namespace simpang::hub {

// Opens (creating if absent) the journal `options.backend` names. Destinations and routes are
// named so that what is kept stays meaningful across configuration changes; the indices are this
// run's (NewDelivery, StoredDelivery). A durable journal that cannot be used (damaged, foreign,
// too new, in use by another hub) is refused with a message saying what is wrong, where, and how
// to recover: the hub must not start. OWNERSHIP: the caller owns the journal. Thread rule: any.
StatusOr<std::unique_ptr<Journal>> open_journal(const JournalOptions& options,
                                                std::vector<std::string> destinations,
                                                std::vector<std::string> routes);

// Opens the operator's side of an existing journal from outside the hub (another process, a
// hub running or not): never creates one. A backend that keeps nothing outside the hub's process
// (memory) is refused, saying so. OWNERSHIP: the caller owns the result. Thread rule: any.
StatusOr<std::unique_ptr<JournalAdmin>> open_journal_admin(const JournalOptions& options);

}  // namespace simpang::hub
