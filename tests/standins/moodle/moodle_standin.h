// A Moodle site for tests and the demo: serves the REST web-service functions the lms-moodle
// connector calls (/webservice/rest/server.php) from seed data, in the shapes of Moodle's external
// function definitions, with Moodle's own error forms (HTTP 200 and {"exception", "errorcode",
// "message"}). It checks wstoken and the function list of the token's service, and lets a test
// inject faults: an invalid token, a function or capability missing, 500s, slow answers, pages
// larger than asked for. Also a control API for tests and scripts (never part of Moodle):
//   PUT  /standin/seed    replaces the site's data (the seed format below)
//   PUT  /standin/faults  replaces the faults ({"invalid_token": true, "fail_next": 3, ...})
//   GET  /standin/calls   how many calls each function answered: {"total": n, "<function>": n}
//
// Seed (JSON; every list may be empty or absent):
//   {"site": {"sitename": "...", "siteurl": "...", "release": "4.3.2"},
//    "tokens": [{"token": "...", "userid": 2, "username": "ws",
//                "functions": [...],      // the service; absent: the five the connector needs
//                "capabilities": [...]}], // absent: all; else only these are held
//    "courses": [{"id", "shortname", "fullname", "categoryid", "idnumber", "visible",
//                 "startdate", "enddate", "timemodified", "enablecompletion"}],
//    "users": [{"id", "username", "firstname", "lastname", "email", "idnumber", "firstaccess"}],
//    "enrolments": [{"courseid", "userid", "lastcourseaccess"}],
//    "completions": [{"courseid", "userid", "timecompleted", "grade"}],
//    "badges": [{"userid", "id", "name", "type", "courseid", "uniquehash", "dateissued",
//                "dateexpire"}]}
//
//   MoodleStandin site(seed_json);
//   if (Status s = site.start(); !s.ok()) ...;
//   std::string url = site.url();          // "http://127.0.0.1:<port>"
//   site.set_faults({.invalid_token = true});
//
// Thread rule: every member from any thread (internally locked); start/stop from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "simpang/base/status.h"
#include "simpang/http/server.h"

namespace simpang::standins {

struct MoodleFaults {
  bool invalid_token = false;                  // every call: invalidtoken
  std::set<std::string> missing_functions;     // taken out of every token's service
  std::set<std::string> missing_capabilities;  // e.g. "moodle/course:update"
  int fail_next = 0;                           // the next N calls answer HTTP 500
  int slow_ms = 0;                             // every answer waits this long
  // Pages of enrolled users ignore limitnumber and hold everything from limitfrom on.
  bool large_pages = false;
  std::set<int64_t> refuse_courses;  // enrolled users of these: nopermissions, per course

  static MoodleFaults from_json(const nlohmann::json& j);
};

class MoodleStandin {
 public:
  // REQUIRES: `seed` is an object in the seed format (unknown members are ignored).
  explicit MoodleStandin(nlohmann::json seed, uint16_t port = 0);
  ~MoodleStandin();
  MoodleStandin(const MoodleStandin&) = delete;
  MoodleStandin& operator=(const MoodleStandin&) = delete;

  Status start();
  void stop();
  uint16_t port() const;
  std::string url() const;

  void set_seed(nlohmann::json seed);
  void set_faults(MoodleFaults faults);
  // Calls answered, by function, and "total".
  std::map<std::string, int64_t> calls() const;
  // The most server.php calls that were unanswered at once (slow_ms makes them overlap), and when
  // each call arrived: what a test needs to see a client's concurrency and rate limits.
  int64_t max_in_flight() const;
  std::vector<std::chrono::steady_clock::time_point> arrivals() const;

  // The answer to one server.php call (a form body), as Moodle would give it. Public for the
  // tests of the stand-in itself.
  simpang::http::Response answer(const std::string& form_body);

 private:
  nlohmann::json site_info(const nlohmann::json& token) const;
  nlohmann::json courses(const std::map<std::string, std::string>& params, bool can_update) const;
  nlohmann::json enrolled_users(const std::map<std::string, std::string>& params,
                                const MoodleFaults& faults) const;
  nlohmann::json completion(const std::map<std::string, std::string>& params) const;
  nlohmann::json badges(const std::map<std::string, std::string>& params,
                        bool configure_details) const;
  void delayed(std::chrono::milliseconds delay, simpang::http::Responder responder,
               simpang::http::Response response);
  void delay_loop();
  void answered();

  const uint16_t requested_port_;
  mutable std::mutex mu_;
  nlohmann::json seed_;                                          // guarded by mu_
  MoodleFaults faults_;                                          // guarded by mu_
  std::map<std::string, int64_t> calls_;                         // guarded by mu_
  int64_t in_flight_ = 0;                                        // guarded by mu_
  int64_t max_in_flight_ = 0;                                    // guarded by mu_
  std::vector<std::chrono::steady_clock::time_point> arrivals_;  // guarded by mu_
  std::unique_ptr<simpang::http::Server> server_;

  struct Delayed {
    std::chrono::steady_clock::time_point due;
    simpang::http::Responder responder;
    simpang::http::Response response;
  };
  std::mutex delay_mu_;
  std::condition_variable delay_cv_;
  std::vector<Delayed> delayed_;  // guarded by delay_mu_
  bool stopping_ = false;         // guarded by delay_mu_
  std::thread delay_thread_;
};

}  // namespace simpang::standins
