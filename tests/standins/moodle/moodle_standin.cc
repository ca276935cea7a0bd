// The Moodle stand-in; see moodle_standin.h.
#include "moodle_standin.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "moodle_protocol.h"
#include "standin_json.h"

namespace simpang::standins {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
namespace moodle = simpang::plugins::lms_moodle;
using namespace standin_internal;

MoodleFaults MoodleFaults::from_json(const json& j) {
  MoodleFaults f;
  f.invalid_token = j.value("invalid_token", false);
  for (const json& n : j.value("missing_functions", json::array())) {
    f.missing_functions.insert(n.get<std::string>());
  }
  for (const json& n : j.value("missing_capabilities", json::array())) {
    f.missing_capabilities.insert(n.get<std::string>());
  }
  f.fail_next = j.value("fail_next", 0);
  f.slow_ms = j.value("slow_ms", 0);
  f.large_pages = j.value("large_pages", false);
  for (const json& n : j.value("refuse_courses", json::array())) {
    f.refuse_courses.insert(n.get<int64_t>());
  }
  return f;
}

MoodleStandin::MoodleStandin(json seed, uint16_t port)
    : requested_port_(port), seed_(std::move(seed)) {}

MoodleStandin::~MoodleStandin() { stop(); }

Status MoodleStandin::start() {
  simpang::http::ServerOptions options;
  options.port = requested_port_;
  options.max_body_bytes = 64 * 1024 * 1024;  // a seed of a large site
  server_ = std::make_unique<simpang::http::Server>(std::move(options));
  server_->route("POST", moodle::kRestPath, [this](Request request, Responder responder) {
    int slow = 0;
    {
      std::lock_guard lock(mu_);
      slow = faults_.slow_ms;
      arrivals_.push_back(std::chrono::steady_clock::now());
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    }
    Response response = answer(request.body);
    if (slow > 0) {
      delayed(std::chrono::milliseconds(slow), std::move(responder), std::move(response));
    } else {
      answered();
      responder.respond(std::move(response));
    }
  });
  server_->route("PUT", "/standin/seed", [this](Request request, Responder responder) {
    json seed = json::parse(request.body, nullptr, false);
    if (!seed.is_object()) {
      responder.respond(Response::Text(400, "the seed must be a JSON object\n"));
      return;
    }
    set_seed(std::move(seed));
    responder.respond(Response::Text(204, ""));
  });
  server_->route("PUT", "/standin/faults", [this](Request request, Responder responder) {
    json faults = json::parse(request.body, nullptr, false);
    if (!faults.is_object()) {
      responder.respond(Response::Text(400, "the faults must be a JSON object\n"));
      return;
    }
    try {
      set_faults(MoodleFaults::from_json(faults));
    } catch (const json::exception& e) {
      responder.respond(Response::Text(400, std::string("bad faults: ") + e.what() + "\n"));
      return;
    }
    responder.respond(Response::Text(204, ""));
  });
  server_->route("GET", "/standin/calls", [this](Request, Responder responder) {
    responder.respond(Response::Json(200, json(calls()).dump()));
  });
  if (Status s = server_->start(); !s.ok()) {
    return s;
  }
  delay_thread_ = std::thread([this] { delay_loop(); });
  return Status::Ok();
}

void MoodleStandin::stop() {
  {
    std::lock_guard lock(delay_mu_);
    stopping_ = true;
  }
  delay_cv_.notify_all();
  if (delay_thread_.joinable()) {
    delay_thread_.join();
  }
  if (server_) {
    server_->stop(std::chrono::seconds(2));
  }
}

uint16_t MoodleStandin::port() const { return server_->port(); }

std::string MoodleStandin::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void MoodleStandin::set_seed(json seed) {
  std::lock_guard lock(mu_);
  seed_ = std::move(seed);
}

void MoodleStandin::set_faults(MoodleFaults faults) {
  std::lock_guard lock(mu_);
  faults_ = std::move(faults);
}

void MoodleStandin::answered() {
  std::lock_guard lock(mu_);
  --in_flight_;
}

int64_t MoodleStandin::max_in_flight() const {
  std::lock_guard lock(mu_);
  return max_in_flight_;
}

std::vector<std::chrono::steady_clock::time_point> MoodleStandin::arrivals() const {
  std::lock_guard lock(mu_);
  return arrivals_;
}

std::map<std::string, int64_t> MoodleStandin::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void MoodleStandin::delayed(std::chrono::milliseconds delay, Responder responder,
                            Response response) {
  {
    std::lock_guard lock(delay_mu_);
    delayed_.push_back(Delayed{std::chrono::steady_clock::now() + delay, std::move(responder),
                               std::move(response)});
  }
  delay_cv_.notify_all();
}

void MoodleStandin::delay_loop() {
  std::unique_lock lock(delay_mu_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->due <= now) {
        answered();
        it->responder.respond(std::move(it->response));
        it = delayed_.erase(it);
      } else {
        next = std::min(next, it->due);
        ++it;
      }
    }
    delay_cv_.wait_until(lock, next);
  }
  for (Delayed& d : delayed_) {
    d.responder.respond(Response::Text(503, "stopping\n"));
  }
  delayed_.clear();
}

Response MoodleStandin::answer(const std::string& form_body) {
  std::map<std::string, std::string> params;
  for (auto& [name, value] : moodle::decode_form(form_body)) {
    params[name] = value;  // the last wins, as in PHP
  }
  const std::string function = params.count("wsfunction") ? params["wsfunction"] : "";
  std::lock_guard lock(mu_);
  ++calls_["total"];
  if (faults_.fail_next > 0) {
    --faults_.fail_next;
    return Response::Text(500, "Internal Server Error\n");
  }
  if (params.count("moodlewsrestformat") == 0 || params["moodlewsrestformat"] != "json") {
    // Moodle's default format is XML: a client that forgets the format reads XML.
    Response r = Response::Text(200, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<RESPONSE/>\n");
    r.content_type = "application/xml; charset=utf-8";
    return r;
  }
  const auto reply = [](const json& body) { return Response::Json(200, body.dump()); };
  const json* token = nullptr;
  for (const json& t : list(seed_, "tokens")) {
    if (params.count("wstoken") && get_str(t, "token") == params["wstoken"]) {
      token = &t;
    }
  }
  if (token == nullptr || faults_.invalid_token) {
    return reply(error("moodle_exception", "invalidtoken", "Invalid token - token not found"));
  }
  std::vector<std::string> service = default_functions();
  if (const auto it = token->find("functions"); it != token->end() && it->is_array()) {
    service = it->get<std::vector<std::string>>();
  }
  std::erase_if(service,
                [&](const std::string& f) { return faults_.missing_functions.count(f) != 0; });
  const auto known = default_functions();
  if (std::find(known.begin(), known.end(), function) == known.end()) {
    return reply(missing_record("external_functions"));
  }
  if (std::find(service.begin(), service.end(), function) == service.end()) {
    return reply(error("webservice_access_exception", "accessexception", "Access control exception",
                       "Access to the function " + function +
                           "() is not allowed. There could be multiple reasons for this: 1. The "
                           "service linked to the user token does not contain the function."));
  }
  const auto holds = [&](const std::string& capability) {
    if (faults_.missing_capabilities.count(capability) != 0) {
      return false;
    }
    const auto it = token->find("capabilities");
    if (it == token->end() || !it->is_array()) {
      return true;
    }
    return std::find(it->begin(), it->end(), capability) != it->end();
  };
  ++calls_[function];
  if (std::getenv("MOODLE_STANDIN_TRACE") != nullptr) {
    std::fprintf(stderr, "moodle-standin: %s\n", form_body.c_str());  // a debugging aid
  }
  if (function == moodle::kSiteInfo) {
    json info = site_info(*token);
    info["functions"] = json::array();
    for (const std::string& f : service) {
      info["functions"].push_back({{"name", f}, {"version", "2023100900"}});
    }
    return reply(info);
  }
  if (function == moodle::kCoursesByField) {
    return reply(courses(params, holds(moodle::kCourseUpdateCapability)));
  }
  if (function == moodle::kEnrolledUsers) {
    if (!holds("moodle/course:viewparticipants")) {
      return reply(no_permission("moodle/course:viewparticipants", "View participants"));
    }
    return reply(enrolled_users(params, faults_));
  }
  if (function == moodle::kCompletionStatus) {
    return reply(completion(params));
  }
  return reply(badges(params, holds(moodle::kBadgeDetailsCapability)));
}

}  // namespace simpang::standins
