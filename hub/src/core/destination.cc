#include "core/destination.h"

#include <algorithm>

namespace simpang::hub {

using std::chrono::milliseconds;

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, uint32_t attempts, double jitter) {
  // Capped exponent: beyond 2^20 the doubling has long met max_backoff, and the shift stays
  // defined.
  const int exponent = static_cast<int>(std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 20));
  const auto backoff =
      std::min<milliseconds>(policy.max_backoff, policy.initial_backoff * (int64_t{1} << exponent));
  return milliseconds(static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter));
}

std::string dead_letter_reason(const RetryPolicy& policy, uint32_t attempts,
                               std::chrono::system_clock::time_point accepted_at,
                               std::chrono::system_clock::time_point now, std::string_view error,
                               bool fatal) {
  if (fatal) {
    return std::string(error);
  }
  if (attempts >= policy.max_attempts) {
    return "gave up after " + std::to_string(attempts) +
           " attempts; last error: " + std::string(error);
  }
  if (policy.deadline.count() > 0 && now - accepted_at >= policy.deadline) {
    return "retry deadline of " + std::to_string(policy.deadline.count()) +
           " ms passed; last error: " + std::string(error);
  }
  return {};
}

Destination::Destination(uint32_t index, std::string name, const DestinationEnv& env)
    : index_(index), name_(std::move(name)), env_(env) {}

// ---- The consumer
// --------------------------------------------------------------------------------

void Destination::attach(const std::string& identity) {
  consumer_ = identity;
  credit_ = 0;
}

size_t Destination::detach(std::string_view why, const Now& now) {
  const size_t had = in_flight_.size();
  // Back to the front, oldest first, so order per destination survives the redelivery; each
  // counts as an attempt, so an event that kills its consumer every time is dead-lettered.
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  for (auto pending = in_flight.rbegin(); pending != in_flight.rend(); ++pending) {
    if (pending->second.attempts >= route(pending->second.route).retry.max_attempts) {
      fail(std::move(pending->second), "consumer " + std::string(why) + " during delivery",
           /*fatal=*/true, now);
    } else {
      ++retried_;
      make_ready(std::move(pending->second), /*front=*/true);
    }
  }
  consumer_.clear();
  credit_ = 0;
  return had;
}

// ---- Deliveries
// ----------------------------------------------------------------------------------

bool Destination::enqueue(Pending pending) {
  if (behind() || in_memory() >= env_.memory_limit) {
    // It stays in the journal alone and is paged in when the destination catches up.
    spilled_upto_ = std::max(spilled_upto_, pending.id);
    return false;
  }
  loaded_upto_ = pending.id;
  make_ready(std::move(pending), /*front=*/false);
  return true;
}

void Destination::make_ready(Pending pending, bool front) {
  if (env_.routes->ordered(pending.route)) {
    const std::string_view subject = pending.event->subject();
    auto holder = subject_holder_.find(subject);
    if (holder == subject_holder_.end()) {
      subject_holder_.emplace(std::string(subject), pending.id);
    } else if (holder->second != pending.id) {
      // An earlier delivery of this subject is in flight or waiting to retry: wait behind it.
      auto waiting = subject_waiting_.find(subject);
      if (waiting == subject_waiting_.end()) {
        waiting = subject_waiting_.emplace(std::string(subject), std::deque<Pending>()).first;
      }
      waiting->second.push_back(std::move(pending));
      ++waiting_count_;
      return;
    }
  }
  if (front) {
    queue_.push_front(std::move(pending));
  } else {
    queue_.push_back(std::move(pending));
  }
}

void Destination::release_subject(const Pending& pending) {
  if (!env_.routes->ordered(pending.route)) {
    return;
  }
  const std::string_view subject = pending.event->subject();
  auto holder = subject_holder_.find(subject);
  if (holder == subject_holder_.end() || holder->second != pending.id) {
    return;
  }
  auto waiting = subject_waiting_.find(subject);
  if (waiting == subject_waiting_.end()) {
    subject_holder_.erase(holder);
    return;
  }
  // The next of this subject, in publish order, goes to the front: it has waited longest.
  Pending next = std::move(waiting->second.front());
  waiting->second.pop_front();
  --waiting_count_;
  if (waiting->second.empty()) {
    subject_waiting_.erase(waiting);
  }
  holder->second = next.id;
  queue_.push_front(std::move(next));
}

void Destination::settle(uint64_t delivery_id, Outcome outcome, std::string_view reason,
                         const Now& now) {
  auto it = in_flight_.find(delivery_id);
  if (it == in_flight_.end()) {
    return;  // settled already, or delivered by an earlier session and since requeued
  }
  Pending pending = std::move(it->second);
  in_flight_.erase(it);
  switch (outcome) {
    case Outcome::kAck:
      ++delivered_;
      env_.updates->push_back({pending.id, DeliveryUpdate::Kind::kAcked, pending.attempts, {}, {}});
      release_subject(pending);
      break;
    case Outcome::kRetry:
      fail(std::move(pending), reason.empty() ? "retry requested" : reason, false, now);
      break;
    case Outcome::kFatal:
      fail(std::move(pending), reason.empty() ? "rejected (no reason given)" : reason, true, now);
      break;
  }
}

void Destination::fail(Pending pending, std::string_view error, bool fatal, const Now& now) {
  const RouteConfig& policy = route(pending.route);
  std::string why = dead_letter_reason(policy.retry, pending.attempts, pending.accepted_at,
                                       now.system, error, fatal);
  if (!why.empty()) {
    ++dead_;
    if (env_.logger != nullptr) {
      env_.logger->error("dead-lettered event id={} type={} for instance={} route={}: {}",
                         pending.event->id(), pending.event->type(), name_, policy.name, why);
    }
    env_.updates->push_back({pending.id, DeliveryUpdate::Kind::kDead, pending.attempts, {}, why});
    release_subject(pending);
    return;
  }
  const auto delay = retry_delay(policy.retry, pending.attempts, env_.jitter->next());
  ++retried_;
  if (env_.logger != nullptr) {
    env_.logger->debug("instance={} retry of delivery {} in {} ms (attempt {}): {}", name_,
                       pending.id, delay.count(), pending.attempts, error);
  }
  env_.updates->push_back({pending.id, DeliveryUpdate::Kind::kRetry, pending.attempts,
                           now.system + delay, std::string(error)});
  // It keeps holding its subject while it waits: what follows it stays behind it.
  retry_.emplace(now.steady + delay, std::move(pending));
}

// ---- Retries
// -------------------------------------------------------------------------------------

std::optional<Destination::Clock::time_point> Destination::next_retry_due() const {
  if (retry_.empty()) {
    return std::nullopt;
  }
  return retry_.begin()->first;
}

void Destination::promote_due_retries(Clock::time_point now) {
  while (!retry_.empty() && retry_.begin()->first <= now) {
    Pending pending = std::move(retry_.begin()->second);
    retry_.erase(retry_.begin());
    make_ready(std::move(pending), /*front=*/false);
  }
}

// ---- Paging
// --------------------------------------------------------------------------------------

std::optional<LoadRequest> Destination::start_load() {
  const size_t room = env_.memory_limit > in_memory() ? env_.memory_limit - in_memory() : 0;
  // Load in chunks once there is room for at least half the limit, so paging is not per event.
  if (!behind() || loading_ || room < env_.memory_limit / 2) {
    return std::nullopt;
  }
  loading_ = true;
  return LoadRequest{index_, loaded_upto_, room, spilled_upto_, rescan_generation_};
}

void Destination::on_loaded(const LoadRequest& request, StatusOr<std::vector<StoredDelivery>> rows,
                            const Now& now) {
  loading_ = false;
  if (!rows.ok()) {
    if (env_.logger != nullptr) {
      env_.logger->error("instance={}: cannot read pending deliveries from the journal: {}", name_,
                         rows.status().message());
    }
    return;  // the next enqueue or settle tries again
  }
  for (auto& row : *rows) {
    if (row.id <= loaded_upto_) {
      continue;
    }
    loaded_upto_ = row.id;
    Pending pending;
    pending.id = row.id;
    // The one parse this delivery gets in this run: its subject and, for the log, id and type.
    pending.event = std::make_shared<const EventRecord>(std::move(row.body), *env_.scratch);
    pending.route = row.route;
    pending.attempts = row.attempts;
    pending.accepted_at = row.accepted_at;
    const bool ordered = env_.routes->ordered(pending.route);
    if (row.not_before <= now.system) {
      make_ready(std::move(pending), /*front=*/false);
      continue;
    }
    bool holds = !ordered;
    if (ordered) {
      const std::string_view subject = pending.event->subject();
      if (subject_holder_.find(subject) == subject_holder_.end()) {
        subject_holder_.emplace(std::string(subject), pending.id);
        holds = true;
      }
    }
    if (holds) {
      // Still backing off (from an earlier run); an ordered one holds its subject meanwhile.
      retry_.emplace(now.steady + (row.not_before - now.system), std::move(pending));
    } else {
      // An earlier delivery holds the subject: wait behind it (its backoff is then moot).
      auto& waiting = subject_waiting_[std::string(pending.event->subject())];
      waiting.push_back(std::move(pending));
      ++waiting_count_;
    }
  }
  if (rows->size() < request.limit) {
    // Everything up to what was spilled when the read started has been seen.
    loaded_upto_ = std::max(loaded_upto_, request.spilled_upto);
    if (request.generation == rescan_generation_) {
      rescan_ = false;
    }
  }
}

void Destination::rescan() {
  rescan_ = true;
  ++rescan_generation_;
}

// ---- State
// ---------------------------------------------------------------------------------------

DestinationDepth Destination::depth() const {
  DestinationDepth depth;
  depth.queued = queue_.size() + retry_.size() + waiting_count_;
  depth.in_flight = in_flight_.size();
  depth.on_disk = behind();
  depth.delivered = delivered_;
  depth.retried = retried_;
  depth.dead = dead_;
  return depth;
}

}  // namespace simpang::hub
