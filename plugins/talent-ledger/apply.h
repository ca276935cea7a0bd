// Applying one talent event to the ledger: parse and check its data, skip it if this (source, id)
// was applied before, upsert its entity unless a newer version is stored, run the identity rules
// for a person, and record the event as applied. All in the caller's transaction, so an event is
// applied entirely or not at all.
//
//   store.begin();
//   ApplyResult r = apply_event(store, config.rules, event);
//   r.kind == ApplyResult::Kind::kStorageError ? store.rollback() : store.commit();
#pragma once

#include <string>
#include <vector>

#include "ledger_config.h"
#include "ledger_store.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::talent_ledger {

struct ApplyResult {
  enum class Kind {
    kApplied,       // written (or older than what is stored: recorded, nothing overwritten)
    kDuplicate,     // this (source, id) was applied before: nothing changed
    kIgnored,       // a type the ledger does not materialise: recorded as applied, nothing else
    kMalformed,     // can never apply: `reason` names the field
    kStorageError,  // the database failed: try again later
  };
  Kind kind = Kind::kApplied;
  std::string reason;
  bool stale = false;              // kApplied, but a newer version was already stored
  std::vector<Link> links;         // identity links recorded by this event
  std::vector<Review> reviews;     // ambiguous matches recorded for review
  std::vector<std::string> notes;  // identifiers skipped by the rules, for the log
};

// The event types the ledger materialises.
bool is_ledger_type(const std::string& type);

// The `talent.person.linked` event announcing `link`, from `source`. Its id is derived from the
// link (the event that made it, both records, the rule), so announcing a link again after a
// redelivery is a duplicate the hub drops. Data (JSON): personId, otherPersonId, rule, evidence,
// sourceEventId.
simpang::v1::Event link_event(const Link& link, const std::string& source);

// REQUIRES: a transaction is open on `store`. Does not commit or roll back.
ApplyResult apply_event(LedgerStore& store, const std::vector<IdentityRule>& rules,
                        const simpang::v1::Event& event);

}  // namespace simpang::plugins::talent_ledger
