// The lms-moodle plugin: a source that polls one Moodle site over its REST web services and
// publishes what changed there as talent events (courses, learners, enrolments, completions,
// badges). See README.md for what it reads and emits, its configuration and failure behaviour.
//
// A run: at start, core_webservice_get_site_info checks the token, names the site and the
// functions its service lacks. Then every poll_interval a poll: the courses, each followed
// course's enrolled users page by page, the completion status of each enrolment whose learner
// came back to the course since it was last checked, and the badges of learners who were on the
// site since theirs were last read. Beside that each poll reconciles one slot of
// full_sync_interval / poll_interval: the completion of the slot's enrolments not completed yet
// and the badges of the slot's learners, so each is reconciled once per full_sync_interval (a
// completion or badge given while the learner was away is found then). What was seen is kept in
// cursors stored with the events (moodle_changes.h).
//
// States: checking (site info), polling, idle (between polls), degraded (the token or a
// capability is refused: logged, gauge `degraded` = 1, checked again with backoff).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "lms_moodle_config.h"
#include "moodle_calls.h"
#include "moodle_changes.h"
#include "simpang/http/client.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::lms_moodle {

class LmsMoodle : public simpang::sdk::Source {
 public:
  // Reads the configuration (read_config); throws simpang::sdk::ConfigError.
  explicit LmsMoodle(simpang::sdk::Context& ctx);
  ~LmsMoodle() override;

  // Checks the site; polls follow from there.
  void on_start(simpang::sdk::Context& ctx) override;
  void on_stop(simpang::sdk::Context& ctx) override;

  const MoodleConfig& config() const { return config_; }

 private:
  enum class State { kChecking, kPolling, kIdle, kDegraded, kStopped };

  void check_site();
  void on_site_info(const Reply& reply);
  void start_poll();
  void on_courses(const Reply& reply);
  void fetch_page(int64_t courseid, int64_t limitfrom, int64_t limit, bool front);
  void on_page(int64_t courseid, int64_t limitfrom, int64_t limit, const Reply& reply);
  // `front`: the learner came back to the course (a change, checked before the rest).
  void check_completion(int64_t courseid, const EnrolledUser& user, bool front);
  // `lastaccess`: the learner's last access to the site as this poll saw it, recorded once the
  // badges are read; -1 when not known here (the page that listed the learner recorded it).
  void check_badges(int64_t userid, int64_t lastaccess);
  void on_poll_idle();
  // The poll stops here: `reply` said the instance cannot go on (degrade) or a call ran out of
  // retries (the next poll tries again, after a backoff).
  void abandon_poll(const Failure& failure, std::string_view function);
  void degrade(const std::string& why);
  void recover_later();
  void skip_item(std::string_view function, const std::string& item, const Failure& failure);
  void report_capability(const std::string& capability, const std::string& what);
  void emit_change(Change change);
  void update_freshness();
  int64_t now_unix() const;
  void log_limited(simpang::sdk::LogLevel level, const std::string& key,
                   const std::string& message);

  simpang::sdk::Context& ctx_;
  const MoodleConfig config_;
  Mapping mapping_;
  std::unique_ptr<simpang::http::Client> client_;
  std::unique_ptr<CallQueue> calls_;

  State state_ = State::kChecking;
  Site site_;
  bool follow_completion_ = true;  // the service offers the function
  bool follow_badges_ = true;
  int failures_in_a_row_ = 0;  // polls or checks that failed, for the backoff

  // The poll under way.
  uint64_t slots_ = 1;             // full_sync_interval / poll_interval
  uint64_t slot_counter_ = 0;      // polls completed, across restarts (a cursor)
  uint64_t slot_ = 0;              // this poll's reconciliation slot
  int64_t poll_started_unix_ = 0;  // the events' time where Moodle gives none
  std::chrono::steady_clock::time_point poll_started_;
  std::set<int64_t> completion_off_;       // courses whose completion is not enabled
  std::set<int64_t> badges_checked_;       // learners whose badges this poll asked for
  std::map<int64_t, int64_t> lastaccess_;  // learners' lastaccess, as this poll's pages said
  std::set<std::string> capabilities_;     // missing, reported this poll
  uint64_t poll_events_ = 0;
  uint64_t poll_skipped_ = 0;
  uint64_t courses_listed_ = 0;   // courses whose enrolled users were listed (a page at least)
  uint64_t courses_refused_ = 0;  // pages refused for a capability (nopermissions)
  std::string last_refusal_;

  // Freshness: every change visible in Moodle when the last complete poll started is published.
  std::optional<std::chrono::steady_clock::time_point> last_complete_start_;
  simpang::sdk::TimerId freshness_timer_ = 0;
  simpang::sdk::TimerId next_timer_ = 0;

  std::map<std::string, std::chrono::steady_clock::time_point> logged_;  // rate limit, by key
};

}  // namespace simpang::plugins::lms_moodle
