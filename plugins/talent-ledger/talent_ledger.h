// The talent-ledger sink: materialises the programme's talent events in its own database (SQLite
// under the instance's state directory, or PostgreSQL), one transaction per delivered event,
// acknowledged only after the commit. A malformed event is rejected (dead-lettered) with the field
// named; a database failure is retry_later, so nothing is lost; a redelivered event changes
// nothing.
#pragma once

#include <memory>

#include "ledger_config.h"
#include "ledger_store.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::talent_ledger {

// A Transform rather than a Sink only so it can announce identity links (talent.person.linked):
// the runtime acknowledges the input after the announcements are durable in the hub.
class TalentLedger : public simpang::sdk::Transform {
 public:
  // Parses the config and opens (and migrates) the database. Throws simpang::sdk::ConfigError on
  // a bad key, an unusable database or a schema newer than this code knows.
  explicit TalentLedger(simpang::sdk::Context& ctx);

  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override;

  LedgerStore& store() { return *store_; }

 private:
  // Logs at most one line per `kind` and second, with how many were suppressed.
  void log_limited(simpang::sdk::Context& ctx, simpang::sdk::LogLevel level, int kind,
                   const std::string& message);

  // Emits talent.person.linked for each link; false (and the reason) if the runtime refused one.
  bool announce(simpang::sdk::Context& ctx, const std::vector<Link>& links, std::string& why);

  LedgerConfig config_;
  std::string source_;
  std::unique_ptr<LedgerStore> store_;
  struct Limiter {
    int64_t second = 0;
    uint64_t suppressed = 0;
  };
  Limiter limiters_[3];
};

}  // namespace simpang::plugins::talent_ledger
