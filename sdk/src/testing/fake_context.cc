// FakeContext and TempDir of the plugin test kit; see simpang/sdk/testing.h.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "simpang/sdk/testing.h"

#include "../event_checks.h"
#include "../timer_queue.h"

namespace simpang::sdk::testing {

using std::chrono::milliseconds;

TempDir::TempDir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " +
                             std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;  // a leftover temp dir must not turn a passing test into a crash
  std::filesystem::remove_all(path_, ec);
}

FakeContext::FakeContext(nlohmann::json config, std::string instance_name,
                         std::filesystem::path state_dir)
    : config_(config.is_null() ? nlohmann::json::object() : std::move(config)),
      instance_name_(std::move(instance_name)),
      state_dir_(std::move(state_dir)),
      timers_(std::make_unique<Timers>()),
      deadlines_(std::make_unique<Timers>()) {}

FakeContext::~FakeContext() { set_posts_open(false); }

void FakeContext::log(LogLevel level, std::string_view message) {
  std::lock_guard lock(mutex_);
  logs_.push_back(LogLine{level, std::string(message)});
}

std::vector<LogLine> FakeContext::logs() const {
  std::lock_guard lock(mutex_);
  return logs_;
}

// ---- Posted work --------------------------------------------------------------------------------

void FakeContext::post(std::function<void()> work) {
  std::unique_lock lock(mutex_);
  if (!posts_open_) {
    lock.unlock();
    return;  // dropped: destroyed here without running, as by the runtime once it has finished
  }
  posted_queue_.push_back(std::move(work));
  lock.unlock();
  posted_cv_.notify_all();
}

size_t FakeContext::posted() const {
  std::lock_guard lock(mutex_);
  return posted_queue_.size();
}

void FakeContext::set_posts_open(bool open) {
  std::deque<std::function<void()>> dropped;
  std::lock_guard lock(mutex_);
  posts_open_ = open;
  if (!open) {
    dropped.swap(posted_queue_);
  }
  // `dropped` dies after the lock is released (declared first): a capture's destructor may post.
}

size_t FakeContext::run_posted() {
  if (!started_) {
    return 0;
  }
  size_t ran = 0;
  while (true) {
    std::function<void()> work;
    {
      std::lock_guard lock(mutex_);
      if (posted_queue_.empty()) {
        return ran;
      }
      work = std::move(posted_queue_.front());
      posted_queue_.pop_front();
    }
    ++ran;
    try {
      work();
    } catch (const std::exception& e) {
      log(LogLevel::kError, std::string("posted work threw: ") + e.what());
    } catch (...) {
      log(LogLevel::kError, "posted work threw a non-standard exception");
    }
  }
}

bool FakeContext::run_posted_until(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    run_posted();
    if (done()) {
      return true;
    }
    std::unique_lock lock(mutex_);
    if (!posted_cv_.wait_until(lock, deadline, [this] { return !posted_queue_.empty(); })) {
      lock.unlock();
      run_posted();
      return done();
    }
  }
}

// ---- Publishing ---------------------------------------------------------------------------------

Status FakeContext::emit(simpang::v1::Event event) {
  // The same checks as the runtime's emit(), so a test catches what the hub would refuse.
  if (Status status = simpang::sdk::internal::check_emittable(event); !status.ok()) {
    return Status::Error("emit: " + status.message());
  }
  if (fail_emits_ > 0) {
    --fail_emits_;
    return Status::Error("emit: not connected to the hub (simulated by the test)");
  }
  if (event.spec_version().empty()) {
    event.set_spec_version("1.0");
  }
  emitted_.push_back(std::move(event));
  return Status::Ok();
}

Status FakeContext::publish(std::vector<simpang::v1::Event> events, milliseconds deadline,
                            PublishCallback done) {
  // The runtime's checks and wording.
  if (deadline.count() <= 0) {
    return Status::Error("publish: the deadline must be positive, got " +
                         std::to_string(deadline.count()) + " ms");
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (Status status = simpang::sdk::internal::check_emittable(events[i]); !status.ok()) {
      return Status::Error("publish: event " + std::to_string(i) + " of the group: " +
                           status.message());
    }
    if (events[i].spec_version().empty()) {
      events[i].set_spec_version("1.0");
    }
  }
  if (fail_emits_ > 0) {
    --fail_emits_;
    return Status::Error("publish: not connected to the hub (simulated by the test)");
  }
  emitted_.insert(emitted_.end(), events.begin(), events.end());
  const size_t index = publishes_.size();
  publishes_.push_back(PublishedGroup{std::move(events), deadline, now_ + deadline, std::nullopt});
  if (publishes_[index].events.empty()) {
    // As the runtime: durable at once, but never inside publish().
    publishes_[index].result = PublishResult::durable();
    post([done = std::move(done)] { done(PublishResult::durable()); });
    return Status::Ok();
  }
  waiting_.emplace(index, std::move(done));
  waiting_deadline_.emplace(
      index, deadlines_->add(now_ + deadline, milliseconds(0), [this, index] { time_out(index); }));
  return Status::Ok();
}

size_t FakeContext::unanswered_publishes() const { return waiting_.size(); }

void FakeContext::answer_publish(size_t index, const PublishResult& result) {
  const auto it = waiting_.find(index);
  if (it == waiting_.end()) {
    throw std::logic_error("FakeContext::answer_publish: group " + std::to_string(index) +
                           (index < publishes_.size() ? " was answered already"
                                                      : " was never published"));
  }
  PublishCallback done = std::move(it->second);
  waiting_.erase(it);
  deadlines_->cancel(waiting_deadline_[index]);
  waiting_deadline_.erase(index);
  publishes_[index].result = result;
  try {
    done(result);
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("publish completion threw: ") + e.what());
  }
}

void FakeContext::time_out(size_t index) {
  answer_publish(index, PublishResult::timed_out(
                            "the hub did not answer within " +
                            std::to_string(publishes_[index].timeout.count()) +
                            " ms (simulated by the test)"));
}

void FakeContext::drop_publishes() {
  for (const auto& [index, timer] : waiting_deadline_) {
    deadlines_->cancel(timer);
  }
  waiting_.clear();
  waiting_deadline_.clear();
}

// ---- Deliveries ---------------------------------------------------------------------------------

Outcome FakeContext::deliver(Consumer& consumer, const simpang::v1::Event& event) {
  if (pending_.size() >= delivery_window_) {
    throw std::logic_error("FakeContext::deliver: " + std::to_string(pending_.size()) +
                           " deliveries are pending, the whole delivery window: the hub would "
                           "not deliver another before one is settled");
  }
  const size_t index = deliveries_.size();
  deliveries_.push_back(DeliveryRecord{event, Outcome::ack(), {}, std::nullopt, false});
  delivering_ = index;
  deferred_token_ = 0;
  Outcome outcome = Outcome::ack();
  try {
    outcome = consumer.on_event(*this, event);
  } catch (const std::exception& e) {
    outcome = Outcome::retry_later(std::string("on_event threw: ") + e.what());
  } catch (...) {
    outcome = Outcome::retry_later("on_event threw a non-standard exception");
  }
  if (outcome.kind() == Outcome::Kind::kPending && deferred_token_ == 0) {
    outcome = Outcome::retry_later("on_event returned pending without calling Context::defer()");
  }
  DeliveryRecord& record = deliveries_[index];
  record.returned = outcome;
  if (outcome.kind() == Outcome::Kind::kPending) {
    record.handle = PendingDelivery(deferred_token_);
    pending_.emplace(deferred_token_, index);
  } else {
    record.settlement = outcome;
  }
  delivering_.reset();
  deferred_token_ = 0;
  return outcome;
}

PendingDelivery FakeContext::defer() {
  if (!delivering_) {
    return PendingDelivery();
  }
  if (deferred_token_ == 0) {
    deferred_token_ = next_token_++;
  }
  return PendingDelivery(deferred_token_);
}

bool FakeContext::settle(const PendingDelivery& delivery, Outcome outcome) {
  if (outcome.kind() == Outcome::Kind::kPending) {
    return false;
  }
  const auto it = pending_.find(delivery.token());
  if (it == pending_.end()) {
    return false;
  }
  deliveries_[it->second].settlement = std::move(outcome);
  pending_.erase(it);
  return true;
}

void FakeContext::set_delivery_window(uint32_t deliveries) {
  delivery_window_ = std::max<uint32_t>(deliveries, 1);
}

void FakeContext::reconnect() {
  for (const auto& [token, index] : pending_) {
    deliveries_[index].stale = true;
  }
  pending_.clear();
}

// ---- Cursors and timers -------------------------------------------------------------------------

std::optional<std::string> FakeContext::cursor(const std::string& key) const {
  const auto it = cursors_.find(key);
  if (it == cursors_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void FakeContext::set_cursor(const std::string& key, std::string value) {
  cursors_[key] = std::move(value);
}

TimerId FakeContext::every(milliseconds interval, std::function<void()> callback) {
  // As in the runtime: a repeating callback waits at least 1 ms between runs.
  return timers_->add(now_ + interval, std::max(interval, milliseconds(1)), std::move(callback));
}

TimerId FakeContext::after(milliseconds delay, std::function<void()> callback) {
  return timers_->add(now_ + std::max(delay, milliseconds(0)), milliseconds(0),
                      std::move(callback));
}

void FakeContext::cancel(TimerId id) { timers_->cancel(id); }

size_t FakeContext::scheduled() const { return timers_->size(); }

void FakeContext::clear_timers() { timers_->clear(); }

bool FakeContext::run_one_due(milliseconds limit) {
  // The earlier of the next callback (if they may run) and the next deadline; a tie goes to the
  // callback, which may still answer in time.
  std::optional<milliseconds> timer_due;
  if (running_ && !backpressured_) {
    timer_due = timers_->next_due();
  }
  std::optional<milliseconds> deadline_due;
  if (started_) {
    deadline_due = deadlines_->next_due();
  }
  Timers* queue = nullptr;
  if (timer_due && *timer_due <= limit && (!deadline_due || *timer_due <= *deadline_due)) {
    queue = timers_.get();
  } else if (deadline_due && *deadline_due <= limit) {
    queue = deadlines_.get();
  } else {
    return false;
  }
  // A postponed callback runs late, at the current time; the clock never goes back.
  auto fired = queue->pop_due(limit, now_);
  now_ = std::max(now_, fired->due);
  try {
    fired->callback();
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("scheduled callback threw: ") + e.what());
  }
  return true;
}

void FakeContext::advance(milliseconds duration) {
  const milliseconds target = now_ + std::max(duration, milliseconds(0));
  run_posted();
  // Each callback may schedule, cancel or set back-pressure, so look again after every one. The
  // cap stops a callback that reschedules itself with after(0) from spinning forever.
  constexpr int kMaxRuns = 1000000;
  int runs = 0;
  while (run_one_due(target)) {
    if (++runs == kMaxRuns) {
      throw std::runtime_error(
          "FakeContext::advance: a million callbacks ran without the clock reaching its target; "
          "does a callback reschedule itself with no delay forever?");
    }
    run_posted();
  }
  now_ = std::max(now_, target);
}

}  // namespace simpang::sdk::testing
