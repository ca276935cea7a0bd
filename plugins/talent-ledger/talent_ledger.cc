#include "talent_ledger.h"

#include <chrono>

#include "apply.h"
#include "open_store.h"

namespace simpang::plugins::talent_ledger {

using simpang::sdk::LogLevel;
using simpang::sdk::Outcome;

namespace {
enum LogKind { kMalformedLog = 0, kStorageLog = 1, kNoteLog = 2 };
}

TalentLedger::TalentLedger(simpang::sdk::Context& ctx)
    : config_(parse_ledger_config(ctx.config())),
      source_("/simpang/talent-ledger/" + ctx.instance_name()) {
  auto store = open_store(config_, ctx.state_dir(), /*read_only=*/false);
  if (!store.ok()) {
    throw simpang::sdk::ConfigError(store.status().message());
  }
  store_ = std::move(*store);
}

void TalentLedger::log_limited(simpang::sdk::Context& ctx, LogLevel level, int kind,
                               const std::string& message) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  Limiter& l = limiters_[kind];
  if (l.second == now) {
    ++l.suppressed;
    return;
  }
  std::string line = message;
  if (l.suppressed > 0) {
    line += " (" + std::to_string(l.suppressed) + " similar messages suppressed)";
  }
  l.second = now;
  l.suppressed = 0;
  ctx.log(level, line);
}

bool TalentLedger::announce(simpang::sdk::Context& ctx, const std::vector<Link>& links,
                            std::string& why) {
  for (const Link& link : links) {
    if (Status s = ctx.emit(link_event(link, source_)); !s.ok()) {
      why =
          "announcing the link of " + link.person_id + " to " + link.other_id + ": " + s.message();
      return false;
    }
  }
  return true;
}

Outcome TalentLedger::on_event(simpang::sdk::Context& ctx, const simpang::v1::Event& event) {
  if (Status s = store_->begin(); !s.ok()) {
    ctx.count("storage_errors");
    log_limited(ctx, LogLevel::kError, kStorageLog, s.message());
    return Outcome::retry_later(s.message());
  }
  ApplyResult r = apply_event(*store_, config_.rules, event);
  if (r.kind == ApplyResult::Kind::kMalformed || r.kind == ApplyResult::Kind::kStorageError ||
      r.kind == ApplyResult::Kind::kDuplicate) {
    (void)store_->rollback();
  } else if (Status s = store_->commit(); !s.ok()) {
    (void)store_->rollback();
    r.kind = ApplyResult::Kind::kStorageError;
    r.reason = s.message();
  }
  for (const std::string& note : r.notes) {
    log_limited(ctx, LogLevel::kWarn, kNoteLog, "event " + event.id() + ": " + note);
  }
  switch (r.kind) {
    case ApplyResult::Kind::kApplied:
      ctx.count(r.stale ? "events_stale" : "events_applied");
      if (std::string why; !announce(ctx, r.links, why)) {
        // Committed already: the redelivery is a duplicate, which announces the links again.
        return Outcome::retry_later(why);
      }
      if (!r.links.empty()) ctx.count("identity_links", static_cast<double>(r.links.size()));
      if (!r.reviews.empty()) ctx.count("identity_reviews", static_cast<double>(r.reviews.size()));
      return Outcome::ack();
    case ApplyResult::Kind::kDuplicate: {
      ctx.count("events_duplicate");
      // Applied before, but perhaps the hub never got its announcements (a crash in between):
      // announce its links again; their ids are the same, so the hub drops what it already has.
      auto links = store_->links_for_event(event.id());
      if (!links.ok()) return Outcome::retry_later(links.status().message());
      if (std::string why; !announce(ctx, *links, why)) return Outcome::retry_later(why);
      return Outcome::ack();
    }
    case ApplyResult::Kind::kIgnored:
      ctx.count("events_ignored");
      return Outcome::ack();
    case ApplyResult::Kind::kMalformed:
      ctx.count("events_malformed");
      log_limited(ctx, LogLevel::kWarn, kMalformedLog,
                  "rejected event " + event.id() + " from " + event.source() + ": " + r.reason);
      return Outcome::reject(r.reason);
    case ApplyResult::Kind::kStorageError:
      ctx.count("storage_errors");
      log_limited(ctx, LogLevel::kError, kStorageLog, r.reason);
      return Outcome::retry_later(r.reason);
  }
  return Outcome::retry_later("unreachable");
}

}  // namespace simpang::plugins::talent_ledger
