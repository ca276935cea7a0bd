#include "admin/journal_api.h"

#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/views.h"
#include "simpang/http/query.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub::admin {
namespace {

using google::protobuf::util::TimeUtil;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr const char* kDeadLetters = "/api/v1/dead-letters";
constexpr const char* kReplay = "/api/v1/replay";
constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
// How long a replay waits for the hub's writer to carry it out before answering.
constexpr std::chrono::seconds kReplayWait{10};

Response problem(int status, const std::string& detail, const Request& request) {
  Response r;
  r.status = status;
  r.content_type = kProblemContentType;
  r.body = problem_json(status, detail, request.path);
  return r;
}

Response not_allowed(const Request& request, const std::string& allow) {
  Response r = problem(
      405,
      "method " + request.method + " is not allowed on " + request.path + "; it allows " + allow,
      request);
  r.headers.emplace_back("Allow", allow);
  return r;
}

Response json_answer(int status, const json& body) {
  return Response::Json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(micros));
}

json letter_json(const DeadLetter& d) {
  return {{"id", d.delivery_id},
          {"event_seq", d.event_seq},
          {"destination", d.destination},
          {"route", d.route},
          {"attempts", d.attempts},
          {"last_error", d.last_error},
          {"dead_at", format_time(d.dead_at)},
          {"event",
           {{"id", d.event_id},
            {"source", d.event_source},
            {"type", d.event_type},
            {"subject", d.event_subject}}}};
}

std::optional<uint64_t> parse_id(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// The request's JSON object body; a problem when it is not one (or not declared as JSON).
std::variant<json, Response> object_body(const Request& request,
                                         const std::set<std::string>& members) {
  const std::string* type = request.header("Content-Type");
  if (type == nullptr || type->rfind("application/json", 0) != 0) {
    return problem(415, "send the body as Content-Type: application/json", request);
  }
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return problem(400, "the body is not a JSON object", request);
  }
  for (const auto& [name, value] : body.items()) {
    if (!members.count(name)) {
      std::string known;
      for (const auto& m : members) known += (known.empty() ? "" : ", ") + m;
      return problem(400, "unknown member '" + name + "' (known: " + known + ")", request);
    }
  }
  return body;
}

// A string member, or a problem naming it when it is there but not a non-empty string.
std::variant<std::optional<std::string>, Response> string_member(const json& body,
                                                                 const std::string& name,
                                                                 const Request& request) {
  auto it = body.find(name);
  if (it == body.end()) return std::optional<std::string>();
  if (!it->is_string() || it->get<std::string>().empty()) {
    return problem(400, "'" + name + "' must be a non-empty string", request);
  }
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace

JournalApi::JournalApi(OpenAdmin open, std::shared_ptr<spdlog::logger> logger)
    : open_(std::move(open)), logger_(std::move(logger)) {}

bool JournalApi::handles(const std::string& path) {
  return path == kReplay || path == kDeadLetters ||
         path.rfind(std::string(kDeadLetters) + "/", 0) == 0;
}

StatusOr<JournalAdmin*> JournalApi::admin() {
  if (!admin_) {
    auto opened = open_();
    if (!opened.ok()) return opened.status();
    admin_ = std::move(*opened);
  }
  return admin_.get();
}

Response JournalApi::handle(const Request& request, const std::string& caller) {
  if (request.path == kReplay) {
    return request.method == "POST" ? replay_history(request, caller)
                                    : not_allowed(request, "POST");
  }
  if (request.path == kDeadLetters) {
    return request.method == "GET" ? list(request) : not_allowed(request, "GET");
  }
  std::string_view rest =
      std::string_view(request.path).substr(std::string_view(kDeadLetters).size() + 1);
  if (rest == "replay") {
    return request.method == "POST" ? replay_filtered(request, caller)
                                    : not_allowed(request, "POST");
  }
  std::string action;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    action = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
  }
  const auto id = parse_id(rest);
  if (!id || (!action.empty() && action != "replay")) {
    return problem(404,
                   "no admin endpoint at " + request.path +
                       " (dead letters are /api/v1/dead-letters/{id} and "
                       "/api/v1/dead-letters/{id}/replay, with a numeric id)",
                   request);
  }
  if (action == "replay") {
    return request.method == "POST" ? one(request, *id, "replay", caller)
                                    : not_allowed(request, "POST");
  }
  if (request.method == "GET") return one(request, *id, "show", caller);
  if (request.method == "DELETE") return one(request, *id, "drop", caller);
  return not_allowed(request, "GET, DELETE");
}

Response JournalApi::list(const Request& request) {
  auto params = http::decode_query(request.query);
  if (!params) return problem(400, "the query string has a malformed %-escape", request);
  DeadLetterFilter filter;
  size_t limit = kDefaultLimit;
  for (const auto& [name, value] : *params) {
    if (name == "destination") {
      filter.destination = value;
    } else if (name == "route") {
      filter.route = value;
    } else if (name == "type") {
      filter.event_type = value;
    } else if (name == "limit") {
      auto n = parse_id(value);
      if (!n || *n < 1 || *n > kMaxLimit) {
        return problem(400,
                       "limit must be a whole number from 1 to " + std::to_string(kMaxLimit) +
                           ", got '" + value + "'",
                       request);
      }
      limit = *n;
    } else {
      return problem(400,
                     "unknown parameter '" + name + "' (known: destination, route, type, limit)",
                     request);
    }
  }
  auto journal = admin();
  if (!journal.ok()) return problem(503, journal.status().message(), request);
  auto letters = (*journal)->list_dead(filter, limit);
  if (!letters.ok()) return problem(500, letters.status().message(), request);
  json out = json::array();
  for (const auto& d : *letters) out.push_back(letter_json(d));
  return json_answer(200, {{"dead_letters", out}, {"count", out.size()}, {"limit", limit}});
}

Response JournalApi::one(const Request& request, uint64_t id, const std::string& action,
                         const std::string& caller) {
  auto journal = admin();
  if (!journal.ok()) return problem(503, journal.status().message(), request);
  // Every action names a dead letter that exists: a missing one is a 404, not a count of 0.
  auto letter = (*journal)->show_dead(id);
  if (!letter.ok()) return problem(404, letter.status().message(), request);
  if (action == "show") {
    json body = letter_json(*letter);
    simpang::v1::Event event;
    if (event.ParseFromString(letter->body)) {
      body["cloudevent"] = json::parse(simpang::sdk::to_cloudevents_json(event), nullptr, false);
    }
    return json_answer(200, body);
  }
  DeadLetterFilter filter;
  filter.delivery_id = id;
  auto count = action == "replay" ? (*journal)->replay_dead(filter, kReplayWait)
                                  : (*journal)->drop_dead(filter);
  if (!count.ok()) return problem(500, count.status().message(), request);
  logger_->info("admin: {} from {} {} dead letter {} (destination={}, event {}): {}", caller,
                request.remote_address, action == "replay" ? "replayed" : "dropped", id,
                letter->destination, letter->event_id, *count);
  return json_answer(200, {{action == "replay" ? "replayed" : "dropped", *count}});
}

Response JournalApi::replay_filtered(const Request& request, const std::string& caller) {
  auto parsed = object_body(request, {"destination", "route", "type", "all"});
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  const json& body = std::get<json>(parsed);
  DeadLetterFilter filter;
  for (const auto& [name, into] :
       {std::pair{"destination", &filter.destination}, std::pair{"route", &filter.route},
        std::pair{"type", &filter.event_type}}) {
    auto value = string_member(body, name, request);
    if (auto* refused = std::get_if<Response>(&value)) return std::move(*refused);
    *into = std::get<std::optional<std::string>>(value);
  }
  const bool all = body.value("all", false) == true;
  if (body.contains("all") && !body["all"].is_boolean()) {
    return problem(400, "'all' must be true or false", request);
  }
  if (!filter.destination && !filter.route && !filter.event_type && !all) {
    return problem(400,
                   "say which dead letters: destination, route or type, or \"all\": true for "
                   "every one",
                   request);
  }
  auto journal = admin();
  if (!journal.ok()) return problem(503, journal.status().message(), request);
  auto count = (*journal)->replay_dead(filter, kReplayWait);
  if (!count.ok()) return problem(500, count.status().message(), request);
  logger_->info("admin: {} from {} replayed {} dead letters (destination={} route={} type={})",
                caller, request.remote_address, *count, filter.destination.value_or("*"),
                filter.route.value_or("*"), filter.event_type.value_or("*"));
  return json_answer(200, {{"replayed", *count}});
}

Response JournalApi::replay_history(const Request& request, const std::string& caller) {
  auto parsed = object_body(request, {"destination", "since", "from_seq"});
  if (auto* refused = std::get_if<Response>(&parsed)) return std::move(*refused);
  const json& body = std::get<json>(parsed);
  ReplaySpec spec;
  auto destination = string_member(body, "destination", request);
  if (auto* refused = std::get_if<Response>(&destination)) return std::move(*refused);
  if (!std::get<std::optional<std::string>>(destination)) {
    return problem(400, "'destination' is required: the instance to deliver to again", request);
  }
  spec.destination = *std::get<std::optional<std::string>>(destination);
  if (body.contains("since") == body.contains("from_seq")) {
    return problem(400, "say where to start: 'since' (RFC 3339) or 'from_seq', one of them",
                   request);
  }
  if (body.contains("since")) {
    google::protobuf::Timestamp ts;
    if (!body["since"].is_string() ||
        !TimeUtil::FromString(body["since"].get<std::string>(), &ts)) {
      return problem(400, "'since' must be an RFC 3339 time, e.g. 2026-11-29T08:00:00Z", request);
    }
    const int64_t micros = TimeUtil::TimestampToMicroseconds(ts);
    // The clock counts nanoseconds in 64 bits: years past 2262 do not fit.
    if (micros > std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::duration::max())
                     .count()) {
      return problem(400, "'since' is out of range (years up to 2262)", request);
    }
    spec.since = std::chrono::system_clock::time_point(std::chrono::microseconds(micros));
  } else {
    if (!body["from_seq"].is_number_unsigned()) {
      return problem(400, "'from_seq' must be a journal sequence number (0 or more)", request);
    }
    spec.from_seq = body["from_seq"].get<uint64_t>();
  }
  auto journal = admin();
  if (!journal.ok()) return problem(503, journal.status().message(), request);
  auto count = (*journal)->replay_history(spec, kReplayWait);
  if (!count.ok()) return problem(400, count.status().message(), request);
  logger_->info("admin: {} from {} replayed history to {} ({}): {} deliveries queued", caller,
                request.remote_address, spec.destination,
                spec.since ? "since " + body["since"].get<std::string>()
                           : "from seq " + std::to_string(*spec.from_seq),
                *count);
  return json_answer(200, {{"queued", *count}, {"destination", spec.destination}});
}

}  // namespace simpang::hub::admin
