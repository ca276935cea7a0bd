// The memory backend; see memory_journal.h. One mutex guards everything: each call does a little
// work and returns, and completions run on the caller's thread after the lock is released.
#include "journal/memory/memory_journal.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "journal/journal_admin.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {
namespace {

using Clock = std::chrono::system_clock;

constexpr const char* kName = "journal (memory)";

// Thread rules: as Journal (journal.h); every method takes mutex_, and no callback runs under it.
// OWNERSHIP: owns its rows; the admins it hands out borrow it.
class MemoryJournal final : public Journal {
 public:
  MemoryJournal(const JournalOptions& options, const std::vector<std::string>& destinations,
                const std::vector<std::string>& routes)
      : options_(options) {
    add_names_locked(destinations, routes);
  }

  void start(ReplayDone on_replay) override {
    std::lock_guard lock(mutex_);
    if (started_ || stopped_) {
      return;
    }
    started_ = true;
    on_replay_ = std::move(on_replay);
  }

  void stop() override {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    on_replay_ = nullptr;
  }

  void append(AppendBatch batch, AppendDone done) override {
    StatusOr<std::vector<AppendedEvent>> result = std::vector<AppendedEvent>();
    {
      std::lock_guard lock(mutex_);
      result = append_locked(batch);
    }
    done(std::move(result));
  }

  void update(std::vector<DeliveryUpdate> updates) override;

  bool full() const override {
    std::lock_guard lock(mutex_);
    return pending_events_ > options_.max_events;
  }

  Status add_names(const std::vector<std::string>& destinations,
                   const std::vector<std::string>& routes) override {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      return Status::Error(std::string(kName) + ": stopped");
    }
    add_names_locked(destinations, routes);
    return Status::Ok();
  }

  StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination, uint64_t after_id,
                                                     size_t limit) override;

  StatusOr<std::map<std::string, std::string>> load_cursors(const std::string& instance) override {
    std::lock_guard lock(mutex_);
    auto it = cursors_.find(instance);
    return it == cursors_.end() ? std::map<std::string, std::string>{} : it->second;
  }

  JournalStats stats() const override {
    std::lock_guard lock(mutex_);
    JournalStats stats;
    stats.appended = appended_;
    stats.duplicates = duplicates_;
    stats.updates = updates_;
    stats.replayed = replayed_;
    stats.events = events_.size();
    stats.pending_events = pending_events_;
    return stats;
  }

  StatusOr<std::unique_ptr<JournalAdmin>> open_admin() override;

  // --- for MemoryJournalAdmin --------------------------------------------------------------------
  bool running() const {
    std::lock_guard lock(mutex_);
    return started_ && !stopped_;
  }
  std::vector<DeadLetter> list_dead(const DeadLetterFilter& filter, size_t limit) const;
  StatusOr<DeadLetter> show_dead(uint64_t delivery_id) const;
  uint64_t drop_dead(const DeadLetterFilter& filter);
  uint64_t replay_dead(const DeadLetterFilter& filter);

 private:
  // An event some delivery (pending or dead) still refers to; forgotten with its last one.
  struct Event {
    std::string source;
    std::string id;
    std::shared_ptr<const std::string> body;
    uint32_t pending = 0;
    uint32_t dead = 0;
  };
  struct Pending {
    StoredDelivery row;  // row.destination: the first index of its destination's name
    std::string last_error;
  };
  struct Dead {
    StoredDelivery row;
    size_t queue = 0;
    std::string error;
    Clock::time_point dead_at{};
  };

  Clock::time_point now() const { return options_.clock ? options_.clock() : Clock::now(); }
  std::chrono::milliseconds dedup_window() const {
    return std::min(options_.dedup_window, options_.retention);
  }

  // REQUIRES: mutex_ held (below too).
  void add_names_locked(const std::vector<std::string>& destinations,
                        const std::vector<std::string>& routes);
  StatusOr<std::vector<AppendedEvent>> append_locked(AppendBatch& batch);
  // After a delivery of `seq` stopped being pending (now dead: `to_dead`) or dead (dropped).
  void release(uint64_t seq, bool was_pending, bool to_dead);
  bool matches(const Dead& dead, const DeadLetterFilter& filter) const;
  DeadLetter letter_of(uint64_t id, const Dead& dead) const;
  void prune_recent(Clock::time_point now);

  static constexpr size_t kPruneEvery = 65536;

  const JournalOptions options_;
  mutable std::mutex mutex_;
  bool started_ = false;  // GUARDED_BY(mutex_), as is everything below
  bool stopped_ = false;
  ReplayDone on_replay_;

  // Destinations: each name is one queue; an index given twice (a reload naming it again) maps
  // to the queue of its first index.
  std::vector<size_t> queue_of_;             // destination index -> queue
  std::vector<std::string> queue_names_;     // queue -> name
  std::vector<uint32_t> queue_first_index_;  // queue -> the first index of its name
  std::unordered_map<std::string, size_t> queue_by_name_;
  std::vector<uint32_t> route_first_index_;  // route index -> the first index of its name
  std::vector<std::string> route_names_;     // route index -> name
  std::unordered_map<std::string, uint32_t> route_by_name_;

  uint64_t last_seq_ = 0;
  uint64_t last_delivery_id_ = 0;
  std::unordered_map<uint64_t, Event> events_;          // by seq
  std::vector<std::map<uint64_t, Pending>> pending_;    // queue -> id -> delivery
  std::unordered_map<uint64_t, size_t> pending_queue_;  // id -> queue
  std::map<uint64_t, Dead> dead_;                       // id -> dead letter, oldest first
  uint64_t pending_events_ = 0;
  std::unordered_map<std::string, Clock::time_point> recent_;  // (source, id) -> accepted at
  size_t appends_since_prune_ = 0;
  std::unordered_map<std::string, std::map<std::string, std::string>> cursors_;

  uint64_t appended_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t updates_ = 0;
  uint64_t replayed_ = 0;
};

// The operator's side of a memory journal, in its own process. Replays are carried out at once.
// OWNERSHIP: borrows the journal, which must outlive it. Thread rule: one thread at a time.
class MemoryJournalAdmin final : public JournalAdmin {
 public:
  explicit MemoryJournalAdmin(MemoryJournal& journal) : journal_(journal) {}

  bool hub_running() override { return journal_.running(); }
  StatusOr<std::vector<DeadLetter>> list_dead(const DeadLetterFilter& filter,
                                              size_t limit) override {
    return journal_.list_dead(filter, limit);
  }
  StatusOr<DeadLetter> show_dead(uint64_t delivery_id) override {
    return journal_.show_dead(delivery_id);
  }
  StatusOr<uint64_t> drop_dead(const DeadLetterFilter& filter) override {
    return journal_.drop_dead(filter);
  }
  StatusOr<uint64_t> replay_dead(const DeadLetterFilter& filter,
                                 std::chrono::milliseconds) override {
    return journal_.replay_dead(filter);
  }
  StatusOr<uint64_t> replay_history(const ReplaySpec&, std::chrono::milliseconds) override {
    return Status::Error(std::string(kName) +
                         ": replaying history is not supported: the memory journal forgets an "
                         "event as soon as none of its deliveries is pending or dead (it keeps no "
                         "retention). Use the SQLite journal (journal.kind: sqlite) for replays.");
  }
  StatusOr<uint64_t> read_history(const HistoryRange&,
                                  const std::function<bool(const JournaledEvent&)>&) override {
    return Status::Error(std::string(kName) +
                         ": reading history is not supported: the memory journal forgets an event "
                         "as soon as none of its deliveries is pending or dead");
  }

 private:
  MemoryJournal& journal_;
};

void MemoryJournal::add_names_locked(const std::vector<std::string>& destinations,
                                     const std::vector<std::string>& routes) {
  for (const std::string& name : destinations) {
    const auto index = static_cast<uint32_t>(queue_of_.size());
    auto [it, fresh] = queue_by_name_.try_emplace(name, queue_names_.size());
    if (fresh) {
      queue_names_.push_back(name);
      queue_first_index_.push_back(index);
      pending_.emplace_back();
    }
    queue_of_.push_back(it->second);
  }
  for (const std::string& name : routes) {
    const auto index = static_cast<uint32_t>(route_names_.size());
    auto [it, fresh] = route_by_name_.try_emplace(name, index);
    route_names_.push_back(name);
    route_first_index_.push_back(it->second);
  }
}

StatusOr<std::vector<AppendedEvent>> MemoryJournal::append_locked(AppendBatch& batch) {
  if (stopped_) {
    return Status::Error(std::string(kName) + ": stopped");
  }
  for (const NewEvent& event : batch.events) {
    for (const NewDelivery& delivery : event.deliveries) {
      if (delivery.destination >= queue_of_.size() || delivery.route >= route_names_.size()) {
        return Status::Error(std::string(kName) + ": event " + event.id + " of " + batch.publisher +
                             " names destination " + std::to_string(delivery.destination) +
                             " / route " + std::to_string(delivery.route) +
                             ", beyond the names given to open_journal() and add_names()");
      }
    }
  }
  const auto accepted = now();
  const auto window = dedup_window();
  std::vector<AppendedEvent> results(batch.events.size());
  for (size_t i = 0; i < batch.events.size(); ++i) {
    NewEvent& event = batch.events[i];
    AppendedEvent& result = results[i];
    if (window.count() > 0) {
      std::string key = event.source;
      key.push_back('\0');
      key += event.id;
      auto [seen, fresh] = recent_.try_emplace(std::move(key), accepted);
      if (!fresh && accepted - seen->second <= window) {
        result.duplicate = true;
        ++duplicates_;
        continue;
      }
      seen->second = accepted;
    }
    result.seq = ++last_seq_;
    ++appended_;
    if (event.deliveries.empty()) {
      continue;  // routed nowhere: nothing will ever refer to it
    }
    Event& stored = events_[result.seq];
    stored.source = std::move(event.source);
    stored.id = std::move(event.id);
    stored.body = event.body;
    for (const NewDelivery& delivery : event.deliveries) {
      const size_t queue = queue_of_[delivery.destination];
      Pending pending;
      pending.row.id = ++last_delivery_id_;
      pending.row.event_seq = result.seq;
      pending.row.destination = queue_first_index_[queue];
      pending.row.route = route_first_index_[delivery.route];
      pending.row.body = event.body;
      pending.row.accepted_at = accepted;
      pending_queue_.emplace(pending.row.id, queue);
      pending_[queue].emplace(pending.row.id, std::move(pending));
      result.delivery_ids.push_back(last_delivery_id_);
      ++stored.pending;
    }
    ++pending_events_;
  }
  for (auto& [key, value] : batch.cursors) {
    cursors_[batch.publisher][key] = std::move(value);
  }
  prune_recent(accepted);
  return results;
}

void MemoryJournal::update(std::vector<DeliveryUpdate> updates) {
  std::lock_guard lock(mutex_);
  if (stopped_) {
    return;  // as a durable journal after stop(): the settlement is lost, a redelivery at worst
  }
  for (DeliveryUpdate& update : updates) {
    ++updates_;
    // Unknown, acked or dead ids change nothing (only a drop removes a dead letter).
    auto owner = pending_queue_.find(update.delivery_id);
    if (owner == pending_queue_.end()) {
      continue;
    }
    const size_t queue = owner->second;
    auto row = pending_[queue].find(update.delivery_id);
    switch (update.kind) {
      case DeliveryUpdate::Kind::kRetry:
        row->second.row.attempts = update.attempts;
        row->second.row.not_before = update.not_before;
        if (!update.error.empty()) {
          row->second.last_error = std::move(update.error);
        }
        break;
      case DeliveryUpdate::Kind::kAcked: {
        const uint64_t seq = row->second.row.event_seq;
        pending_[queue].erase(row);
        pending_queue_.erase(owner);
        release(seq, /*was_pending=*/true, /*to_dead=*/false);
        break;
      }
      case DeliveryUpdate::Kind::kDead: {
        Dead dead;
        dead.row = std::move(row->second.row);
        dead.row.attempts = update.attempts;
        dead.queue = queue;
        dead.error = std::move(update.error);
        dead.dead_at = now();
        const uint64_t seq = dead.row.event_seq;
        dead_.emplace(update.delivery_id, std::move(dead));
        pending_[queue].erase(row);
        pending_queue_.erase(owner);
        release(seq, /*was_pending=*/true, /*to_dead=*/true);
        break;
      }
    }
  }
}

void MemoryJournal::release(uint64_t seq, bool was_pending, bool to_dead) {
  auto it = events_.find(seq);
  if (it == events_.end()) {
    return;
  }
  Event& event = it->second;
  if (was_pending) {
    --event.pending;
    if (event.pending == 0) {
      --pending_events_;
    }
  } else {
    --event.dead;
  }
  if (to_dead) {
    ++event.dead;
  }
  if (event.pending == 0 && event.dead == 0) {
    events_.erase(it);
  }
}

StatusOr<std::vector<StoredDelivery>> MemoryJournal::load_pending(uint32_t destination,
                                                                  uint64_t after_id, size_t limit) {
  std::lock_guard lock(mutex_);
  if (destination >= queue_of_.size()) {
    return Status::Error(std::string(kName) + ": load_pending for destination " +
                         std::to_string(destination) + ", beyond the " +
                         std::to_string(queue_of_.size()) + " names given");
  }
  std::vector<StoredDelivery> rows;
  const auto& pending = pending_[queue_of_[destination]];
  for (auto it = pending.upper_bound(after_id); it != pending.end() && rows.size() < limit; ++it) {
    rows.push_back(it->second.row);
    rows.back().destination = destination;
  }
  return rows;
}

StatusOr<std::unique_ptr<JournalAdmin>> MemoryJournal::open_admin() {
  return std::unique_ptr<JournalAdmin>(std::make_unique<MemoryJournalAdmin>(*this));
}

bool MemoryJournal::matches(const Dead& dead, const DeadLetterFilter& filter) const {
  if (filter.destination && queue_names_[dead.queue] != *filter.destination) {
    return false;
  }
  if (filter.route &&
      (dead.row.route >= route_names_.size() || route_names_[dead.row.route] != *filter.route)) {
    return false;
  }
  if (filter.event_type) {
    simpang::v1::Event event;
    if (!dead.row.body || !event.ParseFromString(*dead.row.body) ||
        event.type() != *filter.event_type) {
      return false;
    }
  }
  return true;
}

DeadLetter MemoryJournal::letter_of(uint64_t id, const Dead& dead) const {
  DeadLetter letter;
  letter.delivery_id = id;
  letter.event_seq = dead.row.event_seq;
  letter.destination = queue_names_[dead.queue];
  letter.route = dead.row.route < route_names_.size() ? route_names_[dead.row.route] : "";
  letter.attempts = dead.row.attempts;
  letter.last_error = dead.error;
  letter.dead_at = dead.dead_at;
  if (auto event = events_.find(dead.row.event_seq); event != events_.end()) {
    letter.event_id = event->second.id;
    letter.event_source = event->second.source;
  }
  if (dead.row.body) {
    letter.body = *dead.row.body;
    simpang::v1::Event event;
    if (event.ParseFromString(letter.body)) {
      letter.event_type = event.type();
      letter.event_subject = event.subject();
    }
  }
  return letter;
}

std::vector<DeadLetter> MemoryJournal::list_dead(const DeadLetterFilter& filter,
                                                 size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<DeadLetter> letters;
  auto consider = [&](uint64_t id, const Dead& dead) {
    if (letters.size() < limit && matches(dead, filter)) {
      letters.push_back(letter_of(id, dead));
    }
  };
  if (filter.delivery_id) {
    if (auto it = dead_.find(*filter.delivery_id); it != dead_.end()) {
      consider(it->first, it->second);
    }
    return letters;
  }
  for (const auto& [id, dead] : dead_) {
    if (letters.size() >= limit) {
      break;
    }
    consider(id, dead);
  }
  return letters;
}

StatusOr<DeadLetter> MemoryJournal::show_dead(uint64_t delivery_id) const {
  std::lock_guard lock(mutex_);
  if (auto it = dead_.find(delivery_id); it != dead_.end()) {
    return letter_of(it->first, it->second);
  }
  const bool is_pending = pending_queue_.count(delivery_id) != 0;
  return Status::Error(std::string(kName) + ": delivery " + std::to_string(delivery_id) +
                       (is_pending ? " is pending, not a dead letter"
                                   : " is not a dead letter (delivered, dropped, replayed or "
                                     "never journaled)"));
}

uint64_t MemoryJournal::drop_dead(const DeadLetterFilter& filter) {
  std::lock_guard lock(mutex_);
  uint64_t dropped = 0;
  for (auto it = dead_.begin(); it != dead_.end();) {
    if ((filter.delivery_id && it->first != *filter.delivery_id) || !matches(it->second, filter)) {
      ++it;
      continue;
    }
    const uint64_t seq = it->second.row.event_seq;
    it = dead_.erase(it);
    release(seq, /*was_pending=*/false, /*to_dead=*/false);
    ++dropped;
  }
  return dropped;
}

uint64_t MemoryJournal::replay_dead(const DeadLetterFilter& filter) {
  ReplayDone on_replay;
  ReplayNotice notice;
  {
    std::lock_guard lock(mutex_);
    std::set<uint32_t> destinations;
    for (auto it = dead_.begin(); it != dead_.end();) {
      if ((filter.delivery_id && it->first != *filter.delivery_id) ||
          !matches(it->second, filter)) {
        ++it;
        continue;
      }
      // A new id, larger than any before, so the broker's paging (ids above what it loaded) finds
      // it; a late settlement for the old id changes nothing.
      Pending pending;
      pending.row = std::move(it->second.row);
      pending.row.id = ++last_delivery_id_;
      pending.row.attempts = 0;
      pending.row.not_before = {};
      pending.last_error = std::move(it->second.error);
      const size_t queue = it->second.queue;
      auto event = events_.find(pending.row.event_seq);
      if (event != events_.end()) {
        --event->second.dead;
        if (event->second.pending++ == 0) {
          ++pending_events_;
        }
      }
      pending_queue_.emplace(pending.row.id, queue);
      pending_[queue].emplace(pending.row.id, std::move(pending));
      destinations.insert(queue_first_index_[queue]);
      ++notice.deliveries;
      it = dead_.erase(it);
    }
    replayed_ += notice.deliveries;
    notice.destinations.assign(destinations.begin(), destinations.end());
    on_replay = on_replay_;
  }
  if (notice.deliveries > 0 && on_replay) {
    on_replay(notice);
  }
  return notice.deliveries;
}

void MemoryJournal::prune_recent(Clock::time_point now) {
  if (recent_.size() < 2 * kPruneEvery || ++appends_since_prune_ < kPruneEvery) {
    return;
  }
  appends_since_prune_ = 0;
  const auto window = dedup_window();
  std::erase_if(recent_, [&](const auto& entry) { return now - entry.second > window; });
}

}  // namespace

std::unique_ptr<Journal> open_memory_journal(const JournalOptions& options,
                                             std::vector<std::string> destinations,
                                             std::vector<std::string> routes) {
  return std::make_unique<MemoryJournal>(options, destinations, routes);
}

}  // namespace simpang::hub
