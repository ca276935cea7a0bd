// The lms-moodle plugin; see lms_moodle.h.
#include "lms_moodle.h"

#include <algorithm>
#include <charconv>

namespace simpang::plugins::lms_moodle {
namespace {

using simpang::sdk::Context;
using simpang::sdk::LogLevel;
using namespace std::chrono_literals;

// The reconciliation slot of the next poll (a counter); a cursor of its own.
constexpr char kSlotCursor[] = "reconcile_slot";
// The same warning at most this often per key; the rest are counted.
constexpr auto kLogEvery = 30s;
constexpr int64_t kMinPageSize = 10;

std::optional<int64_t> to_int(const std::optional<std::string>& text) {
  if (!text) {
    return std::nullopt;
  }
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || ptr != text->data() + text->size()) {
    return std::nullopt;
  }
  return v;
}

// A refusal of one course or user: a per-item failure, or a capability the token's role lacks in
// that course's context only (Moodle's nopermissions on a call about one course or user).
bool refused_item(const Failure& failure) {
  return failure.kind == FailureKind::kItem || failure.errorcode == "nopermissions";
}

// The reconciliation slot of an enrolment or a learner, out of `slots`: a mix of the ids, so each
// slot holds about as many as the others.
uint64_t slot_of(int64_t a, int64_t b, uint64_t slots) {
  uint64_t x = static_cast<uint64_t>(a) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(b);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x % slots;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

}  // namespace

LmsMoodle::LmsMoodle(Context& ctx) : ctx_(ctx), config_(read_config(ctx.config())) {
  mapping_.provider_id = config_.provider_id;
  mapping_.segment = config_.segment;
  site_.source = "/simpang/lms-moodle/" + ctx.instance_name();
}

LmsMoodle::~LmsMoodle() {
  if (calls_) {
    calls_->shut_down();
  }
  if (client_) {
    client_->stop();
  }
}

void LmsMoodle::on_start(Context& ctx) {
  simpang::http::ClientOptions options;
  options.total_timeout = config_.request_timeout;
  options.max_in_flight = config_.max_concurrency;
  options.max_connections_per_host = config_.max_concurrency;
  options.verify_tls = config_.verify_tls;
  options.ca_file = config_.ca_file;
  options.max_response_bytes = 32 * 1024 * 1024;
  options.completion_executor = [&ctx](std::function<void()> f) { ctx.post(std::move(f)); };
  client_ = std::make_unique<simpang::http::Client>(std::move(options));
  CallOptions call_options;
  call_options.endpoint = config_.url + kRestPath;
  call_options.token = config_.token;
  call_options.requests_per_second = config_.requests_per_second;
  call_options.max_concurrency = config_.max_concurrency;
  call_options.max_attempts = config_.max_attempts;
  call_options.retry_backoff = config_.retry_backoff;
  call_options.max_retry_backoff = config_.max_retry_backoff;
  call_options.timeout = config_.request_timeout;
  calls_ = std::make_unique<CallQueue>(ctx, *client_, std::move(call_options));
  calls_->on_idle([this] {
    if (state_ == State::kPolling) {
      on_poll_idle();
    }
  });
  ctx.gauge("degraded", 0);
  freshness_timer_ = ctx.every(1s, [this] { update_freshness(); });
  check_site();
}

void LmsMoodle::on_stop(Context& ctx) {
  state_ = State::kStopped;
  ctx.cancel(freshness_timer_);
  ctx.cancel(next_timer_);
  calls_->shut_down();
  client_->stop();
}

int64_t LmsMoodle::now_unix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void LmsMoodle::log_limited(LogLevel level, const std::string& key, const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  auto it = logged_.find(key);
  if (it != logged_.end() && now - it->second < kLogEvery) {
    return;
  }
  logged_[key] = now;
  ctx_.log(level, message);
}

void LmsMoodle::check_site() {
  state_ = State::kChecking;
  calls_->enqueue(kSiteInfo, nlohmann::json::object(),
                  [this](const Reply& reply) { on_site_info(reply); });
}

void LmsMoodle::on_site_info(const Reply& reply) {
  if (state_ == State::kStopped) {
    return;
  }
  if (!reply.ok()) {
    if (reply.failure().kind == FailureKind::kTransient) {
      log_limited(LogLevel::kWarn, "unreachable",
                  "cannot reach the Moodle site at " + config_.url + ": " +
                      reply.failure().message + "; trying again with backoff");
      recover_later();
      return;
    }
    degrade(std::string(kSiteInfo) + " refused: " + reply.failure().message);
    return;
  }
  auto info = parse_site_info(reply.value());
  if (!info.ok()) {
    degrade("the site's answer to " + std::string(kSiteInfo) +
            " is not Moodle's: " + info.status().message());
    return;
  }
  site_.host = site_host(info->siteurl);
  // Required: without them there is nothing to follow. Optional: their events are left out.
  const std::vector<std::string> required =
      missing_functions(*info, {kCoursesByField, kEnrolledUsers});
  const std::vector<std::string> optional =
      missing_functions(*info, {kCompletionStatus, kUserBadges});
  ctx_.gauge("missing_functions", static_cast<double>(required.size() + optional.size()));
  ctx_.log(LogLevel::kInfo, "Moodle site '" + info->sitename + "' (" + info->siteurl +
                                ", release " + info->release + ") as user '" + info->username +
                                "'; the service offers " + std::to_string(info->functions.size()) +
                                " functions");
  for (const std::string& name : optional) {
    log_limited(LogLevel::kWarn, "function/" + name,
                "the token's service lacks " + name + ": " +
                    (name == kCompletionStatus ? "talent.completion.recorded"
                                               : "talent.credential.issued") +
                    " events are not emitted until it is added to the external service");
  }
  if (!required.empty()) {
    degrade("the token's service lacks " + join(required) +
            " (add them to the external service in Site administration > Server > Web "
            "services > External services)");
    return;
  }
  follow_completion_ =
      std::find(optional.begin(), optional.end(), kCompletionStatus) == optional.end();
  follow_badges_ =
      config_.badges && std::find(optional.begin(), optional.end(), kUserBadges) == optional.end();
  if (state_ == State::kDegraded) {
    ctx_.log(LogLevel::kInfo, "the Moodle site answers again: no longer degraded");
  }
  ctx_.gauge("degraded", 0);
  start_poll();
}

void LmsMoodle::start_poll() {
  state_ = State::kPolling;
  poll_started_ = std::chrono::steady_clock::now();
  poll_started_unix_ = now_unix();
  // Reconciliation is spread over the polls of one full_sync_interval: each poll also checks the
  // enrolments (and learners' badges) of one slot, so every slot comes round once per interval
  // and no poll is much longer than another.
  slots_ = static_cast<uint64_t>(
      std::max<int64_t>(1, config_.full_sync_interval.count() / config_.poll_interval.count()));
  slot_counter_ =
      static_cast<uint64_t>(std::max<int64_t>(0, to_int(ctx_.cursor(kSlotCursor)).value_or(0)));
  slot_ = slot_counter_ % slots_;
  completion_off_.clear();
  badges_checked_.clear();
  lastaccess_.clear();
  capabilities_.clear();
  poll_events_ = 0;
  poll_skipped_ = 0;
  courses_listed_ = 0;
  courses_refused_ = 0;
  calls_->reset_sent();
  nlohmann::json params = nlohmann::json::object();
  if (!config_.courses.empty()) {
    std::string ids;
    for (int64_t id : config_.courses) {
      ids += (ids.empty() ? "" : ",") + std::to_string(id);
    }
    params = {{"field", "ids"}, {"value", ids}};
  }
  calls_->enqueue(kCoursesByField, std::move(params),
                  [this](const Reply& reply) { on_courses(reply); });
}

void LmsMoodle::on_courses(const Reply& reply) {
  if (state_ != State::kPolling) {
    return;
  }
  if (!reply.ok()) {
    abandon_poll(reply.failure(), kCoursesByField);
    return;
  }
  auto courses = parse_courses(reply.value());
  if (!courses.ok()) {
    abandon_poll(Failure{FailureKind::kTransient, "malformed", courses.status().message()},
                 kCoursesByField);
    return;
  }
  for (const Course& course : courses->courses) {
    if (course.format == "site" || course.id == 1) {
      continue;  // the front page: not a course anyone completes
    }
    if (!course.idnumber) {
      report_capability(kCourseUpdateCapability,
                        "Moodle leaves out the courses' idnumber and timemodified; course events "
                        "carry no idnumber and a change of idnumber goes unseen");
    }
    if (auto change = course_change(site_, mapping_, course, ctx_.cursor(course_key(course.id)),
                                    poll_started_unix_)) {
      emit_change(std::move(*change));
    }
    if (course.enablecompletion == false) {
      completion_off_.insert(course.id);
    }
    fetch_page(course.id, 0, config_.page_size, false);
  }
}

void LmsMoodle::fetch_page(int64_t courseid, int64_t limitfrom, int64_t limit, bool front) {
  calls_->enqueue(
      kEnrolledUsers, enrolled_users_params(courseid, limitfrom, limit),
      [this, courseid, limitfrom, limit](const Reply& reply) {
        on_page(courseid, limitfrom, limit, reply);
      },
      front);
}

void LmsMoodle::on_page(int64_t courseid, int64_t limitfrom, int64_t limit, const Reply& reply) {
  if (state_ != State::kPolling) {
    return;
  }
  const std::string item = "course " + std::to_string(courseid);
  if (!reply.ok()) {
    const Failure& failure = reply.failure();
    if (failure.errorcode == "too-large" && limit > kMinPageSize) {
      // The page is larger than the client takes: ask for half as many.
      log_limited(LogLevel::kWarn, "too-large",
                  "a page of " + std::to_string(limit) + " enrolled users of " + item +
                      " is too large; asking for " + std::to_string(limit / 2));
      fetch_page(courseid, limitfrom, limit / 2, true);
      return;
    }
    if (refused_item(failure)) {
      if (failure.errorcode == "nopermissions") {
        ++courses_refused_;
        last_refusal_ = failure.message;
      }
      skip_item(kEnrolledUsers, item, failure);
      return;
    }
    abandon_poll(failure, kEnrolledUsers);
    return;
  }
  ++courses_listed_;
  auto users = parse_enrolled_users(reply.value());
  if (!users.ok()) {
    skip_item(kEnrolledUsers, item,
              Failure{FailureKind::kItem, "malformed", users.status().message()});
    return;
  }
  for (const EnrolledUser& user : *users) {
    if (auto change = person_change(site_, mapping_, user, ctx_.cursor(person_key(user.id)),
                                    poll_started_unix_)) {
      emit_change(std::move(*change));
    }
    const std::string key = enrollment_key(courseid, user.id);
    std::optional<EnrollmentSeen> seen;
    if (const auto value = ctx_.cursor(key)) {
      seen = EnrollmentSeen::decode(*value);
    }
    if (auto change = enrollment_change(site_, courseid, user, seen, poll_started_unix_)) {
      emit_change(std::move(*change));
    }
    const int64_t now = now_unix();
    const bool changed = completion_due(seen, user, false, now);
    const bool reconcile =
        completion_due(seen, user, true, now) && slot_of(courseid, user.id, slots_) == slot_;
    if (follow_completion_ && completion_off_.count(courseid) == 0 && (changed || reconcile)) {
      // What changed first: before the pages still to come; reconciliation after everything.
      check_completion(courseid, user, /*front=*/changed);
    }
    // Badges: when the learner was on the site since their badges were last read (or a new
    // completion asked for them), and in the learner's reconciliation slot.
    if (follow_badges_ &&
        (ctx_.cursor(badges_checked_key(user.id)) != std::to_string(user.lastaccess) ||
         slot_of(user.id, 0, slots_) == slot_)) {
      check_badges(user.id, user.lastaccess);
    }
  }
  if (static_cast<int64_t>(users->size()) > limit) {
    // The site ignored limitnumber: this page is everything from limitfrom on.
    log_limited(LogLevel::kWarn, "large-page",
                "the site answered " + std::to_string(users->size()) + " enrolled users of " +
                    item + " to a page of " + std::to_string(limit) +
                    " (limitnumber ignored): taking it as the last page");
  } else if (static_cast<int64_t>(users->size()) == limit) {
    fetch_page(courseid, limitfrom + limit, limit, true);
  }
}

void LmsMoodle::check_completion(int64_t courseid, const EnrolledUser& user, bool front) {
  const int64_t userid = user.id;
  const int64_t access = user.lastcourseaccess;
  calls_->enqueue(
      kCompletionStatus, {{"courseid", courseid}, {"userid", userid}},
      [this, courseid, userid, access, front](const Reply& reply) {
        if (state_ != State::kPolling) {
          return;
        }
        const std::string item =
            "course " + std::to_string(courseid) + " user " + std::to_string(userid);
        if (!reply.ok()) {
          if (reply.failure().errorcode == "completionnotenabled") {
            completion_off_.insert(courseid);
          }
          if (refused_item(reply.failure())) {
            skip_item(kCompletionStatus, item, reply.failure());
          } else {
            abandon_poll(reply.failure(), kCompletionStatus);
          }
          return;
        }
        auto status = parse_completion_status(reply.value());
        if (!status.ok()) {
          skip_item(kCompletionStatus, item,
                    Failure{FailureKind::kItem, "malformed", status.status().message()});
          return;
        }
        const std::string key = enrollment_key(courseid, userid);
        std::optional<EnrollmentSeen> seen;
        if (const auto value = ctx_.cursor(key)) {
          seen = EnrollmentSeen::decode(*value);
        }
        if (auto change = completion_change(site_, courseid, userid, access, *status, seen,
                                            poll_started_unix_)) {
          // With the completion, stored with it: the learner's badges are to be read again,
          // so a crash before they are cannot lose a badge the completion earned.
          if (follow_badges_) {
            ctx_.set_cursor(badges_checked_key(userid), "");
          }
          emit_change(std::move(*change));
          if (follow_badges_) {
            check_badges(userid, -1);
          }
        } else {
          // No event: the cursor alone records that this access was checked.
          ctx_.set_cursor(key, after_check(seen, access, status->completed, now_unix()).encode());
        }
      },
      front);
}

void LmsMoodle::check_badges(int64_t userid, int64_t lastaccess) {
  if (lastaccess >= 0) {
    lastaccess_[userid] = lastaccess;
  }
  if (!badges_checked_.insert(userid).second) {
    return;
  }
  calls_->enqueue(kUserBadges, {{"userid", userid}}, [this, userid](const Reply& reply) {
    if (state_ != State::kPolling) {
      return;
    }
    const std::string item = "user " + std::to_string(userid);
    if (!reply.ok()) {
      if (refused_item(reply.failure())) {
        skip_item(kUserBadges, item, reply.failure());
      } else {
        abandon_poll(reply.failure(), kUserBadges);
      }
      return;
    }
    auto badges = parse_badges(reply.value());
    if (!badges.ok()) {
      skip_item(kUserBadges, item,
                Failure{FailureKind::kItem, "malformed", badges.status().message()});
      return;
    }
    for (const Badge& badge : badges->badges) {
      if (!badge.id || (badge.type == 2 && !badge.courseid)) {
        report_capability(kBadgeDetailsCapability,
                          "Moodle leaves out the badges' id and courseid; credential events "
                          "carry no course");
      }
      if (ctx_.cursor(badge_key(badge.uniquehash))) {
        continue;
      }
      emit_change(badge_change(site_, userid, badge));
    }
    // After the badges' events: a crash before this leaves the learner's badges to be read again.
    if (const auto it = lastaccess_.find(userid); it != lastaccess_.end()) {
      ctx_.set_cursor(badges_checked_key(userid), std::to_string(it->second));
    }
  });
}

void LmsMoodle::emit_change(Change change) {
  // The cursor first, so it rides in the batch of its event: stored together or not at all.
  ctx_.set_cursor(change.cursor_key, std::move(change.cursor_value));
  const std::string id = change.event.id();
  if (Status s = ctx_.emit(std::move(change.event)); !s.ok()) {
    ctx_.log(LogLevel::kError, "emit failed for event " + id + ": " + s.message());
    return;
  }
  ++poll_events_;
  ctx_.count("events_emitted");
}

void LmsMoodle::skip_item(std::string_view function, const std::string& item,
                          const Failure& failure) {
  ++poll_skipped_;
  ctx_.count("items_skipped");
  log_limited(LogLevel::kWarn, std::string(function) + "/" + failure.errorcode,
              std::string(function) + " refused for " + item + ", skipped: " + failure.message);
}

void LmsMoodle::report_capability(const std::string& capability, const std::string& what) {
  if (!capabilities_.insert(capability).second) {
    return;
  }
  ctx_.gauge("missing_capabilities", static_cast<double>(capabilities_.size()));
  log_limited(LogLevel::kWarn, "capability/" + capability,
              "the token's role lacks " + capability + ": " + what);
}

void LmsMoodle::on_poll_idle() {
  if (courses_listed_ == 0 && courses_refused_ > 0) {
    // Not one course let us list its participants: the role lacks the capability site-wide.
    degrade("every followed course refused " + std::string(kEnrolledUsers) + ": " + last_refusal_);
    return;
  }
  const auto took = std::chrono::steady_clock::now() - poll_started_;
  ctx_.gauge("poll_duration_seconds", std::chrono::duration<double>(took).count());
  ctx_.gauge("poll_requests", static_cast<double>(calls_->sent()));
  ctx_.gauge("missing_capabilities", static_cast<double>(capabilities_.size()));
  ctx_.set_cursor(kSlotCursor, std::to_string(slot_counter_ + 1));
  ctx_.log(LogLevel::kInfo,
           "poll of '" + site_.host + "' (reconciliation slot " + std::to_string(slot_ + 1) +
               " of " + std::to_string(slots_) + ") done in " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) +
               " ms: " + std::to_string(calls_->sent()) + " requests, " +
               std::to_string(poll_events_) + " events, " + std::to_string(poll_skipped_) +
               " items skipped");
  last_complete_start_ = poll_started_;
  failures_in_a_row_ = 0;
  update_freshness();
  state_ = State::kIdle;
  const auto next = std::max<std::chrono::milliseconds>(
      0ms, config_.poll_interval - std::chrono::duration_cast<std::chrono::milliseconds>(took));
  next_timer_ = ctx_.after(next, [this] {
    if (state_ == State::kIdle) {
      start_poll();
    }
  });
}

void LmsMoodle::abandon_poll(const Failure& failure, std::string_view function) {
  calls_->clear();
  if (failure.kind == FailureKind::kInstance) {
    degrade(std::string(function) + " refused: " + failure.message);
    return;
  }
  ctx_.count("polls_failed");
  ctx_.log(LogLevel::kWarn, "poll of '" + site_.host + "' abandoned: " + std::string(function) +
                                " failed " + std::to_string(config_.max_attempts) +
                                " times: " + failure.message + "; what it found is kept");
  recover_later();
}

void LmsMoodle::degrade(const std::string& why) {
  calls_->clear();
  if (state_ != State::kDegraded) {
    ctx_.log(LogLevel::kError, "degraded: " + why);
  } else {
    log_limited(LogLevel::kError, "degraded", "still degraded: " + why);
  }
  state_ = State::kDegraded;
  ctx_.gauge("degraded", 1);
  ctx_.count("degraded_checks");
  recover_later();
}

void LmsMoodle::recover_later() {
  // Exponential backoff from retry_backoff up to max_retry_backoff, then the site check again.
  ++failures_in_a_row_;
  auto wait = config_.retry_backoff;
  for (int i = 1; i < failures_in_a_row_ && wait < config_.max_retry_backoff; ++i) {
    wait *= 2;
  }
  wait = std::min(wait, config_.max_retry_backoff);
  const bool degraded = state_ == State::kDegraded;
  if (!degraded) {
    state_ = State::kIdle;
  }
  next_timer_ = ctx_.after(wait, [this] {
    if (state_ == State::kIdle || state_ == State::kDegraded || state_ == State::kChecking) {
      const bool was_degraded = state_ == State::kDegraded;
      check_site();
      if (was_degraded) {
        state_ = State::kDegraded;  // until the check succeeds
      }
    }
  });
}

void LmsMoodle::update_freshness() {
  if (!last_complete_start_) {
    return;
  }
  ctx_.gauge("freshness_seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - *last_complete_start_)
                 .count());
}

}  // namespace simpang::plugins::lms_moodle
