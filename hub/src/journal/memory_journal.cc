#include "journal/memory_journal.h"

#include <map>
#include <mutex>
#include <unordered_map>

namespace simpang::hub {
namespace {

using SystemClock = std::chrono::system_clock;

class MemoryJournal final : public Journal {
 public:
  MemoryJournal(const JournalOptions& options, size_t destinations)
      : options_(options), pending_(destinations) {}

  void start(ReplayDone) override {}
  void stop() override {}

  // Completes at once, on the calling thread: there is nothing to wait for.
  void append(AppendBatch batch, AppendDone done) override {
    std::vector<AppendedEvent> results;
    results.reserve(batch.events.size());
    {
      std::lock_guard lock(mutex_);
      const auto now = SystemClock::now();
      for (auto& event : batch.events) {
        AppendedEvent result;
        std::string key = event.source + '\n' + event.id;
        auto [seen, fresh] = recent_.try_emplace(std::move(key), now);
        if (!fresh && now - seen->second < options_.dedup_window) {
          result.duplicate = true;
          results.push_back(std::move(result));
          continue;
        }
        seen->second = now;
        result.seq = ++last_seq_;
        for (const auto& delivery : event.deliveries) {
          StoredDelivery stored;
          stored.id = ++last_delivery_id_;
          stored.event_seq = result.seq;
          stored.destination = delivery.destination;
          stored.route = delivery.route;
          stored.body = event.body;
          stored.accepted_at = now;
          by_id_.emplace(stored.id, delivery.destination);
          pending_[delivery.destination].emplace(stored.id, std::move(stored));
          result.delivery_ids.push_back(last_delivery_id_);
        }
        results.push_back(std::move(result));
      }
      for (auto& [key, value] : batch.cursors) {
        cursors_[batch.publisher][key] = std::move(value);
      }
      prune_recent(now);
    }
    done(std::move(results));
  }

  void update(std::vector<DeliveryUpdate> updates) override {
    std::lock_guard lock(mutex_);
    for (const auto& update : updates) {
      auto owner = by_id_.find(update.delivery_id);
      if (owner == by_id_.end()) {
        continue;
      }
      auto& rows = pending_[owner->second];
      auto row = rows.find(update.delivery_id);
      switch (update.kind) {
        case DeliveryUpdate::Kind::kAcked:
        case DeliveryUpdate::Kind::kDead:  // dead letters are not kept: nothing survives anyway
          if (row != rows.end()) {
            rows.erase(row);
          }
          by_id_.erase(owner);
          break;
        case DeliveryUpdate::Kind::kRetry:
          if (row != rows.end()) {
            row->second.attempts = update.attempts;
            row->second.not_before = update.not_before;
          }
          break;
      }
    }
  }

  Status add_names(const std::vector<std::string>& destinations,
                   const std::vector<std::string>&) override {
    std::lock_guard lock(mutex_);
    pending_.resize(pending_.size() + destinations.size());
    return Status::Ok();
  }

  bool full() const override {
    std::lock_guard lock(mutex_);
    return by_id_.size() > options_.max_events;
  }

  StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination, uint64_t after_id,
                                                     size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<StoredDelivery> rows;
    if (destination >= pending_.size()) {
      return rows;
    }
    const auto& pending = pending_[destination];
    for (auto it = pending.upper_bound(after_id); it != pending.end() && rows.size() < limit;
         ++it) {
      rows.push_back(it->second);
    }
    return rows;
  }

  StatusOr<std::map<std::string, std::string>> load_cursors(const std::string& instance) override {
    std::lock_guard lock(mutex_);
    auto it = cursors_.find(instance);
    return it == cursors_.end() ? std::map<std::string, std::string>{} : it->second;
  }

 private:
  // REQUIRES: mutex_ held. Forgets ids older than the de-duplication window, a few at a time.
  void prune_recent(SystemClock::time_point now) {
    if (recent_.size() < 2 * kPruneEvery || ++appends_since_prune_ < kPruneEvery) {
      return;
    }
    appends_since_prune_ = 0;
    std::erase_if(recent_,
                  [&](const auto& entry) { return now - entry.second >= options_.dedup_window; });
  }

  static constexpr size_t kPruneEvery = 65536;

  const JournalOptions options_;
  mutable std::mutex mutex_;
  uint64_t last_seq_ = 0;                                            // GUARDED_BY(mutex_)
  uint64_t last_delivery_id_ = 0;                                    // GUARDED_BY(mutex_)
  std::vector<std::map<uint64_t, StoredDelivery>> pending_;          // GUARDED_BY(mutex_)
  std::unordered_map<uint64_t, uint32_t> by_id_;                     // GUARDED_BY(mutex_)
  std::unordered_map<std::string, SystemClock::time_point> recent_;  // GUARDED_BY(mutex_)
  size_t appends_since_prune_ = 0;                                   // GUARDED_BY(mutex_)
  std::unordered_map<std::string, std::map<std::string, std::string>> cursors_;  // GUARDED_BY
};

}  // namespace

std::unique_ptr<Journal> make_memory_journal(const JournalOptions& options,
                                             std::vector<std::string> destinations) {
  return std::make_unique<MemoryJournal>(options, destinations.size());
}

}  // namespace simpang::hub
