// A refusal of an HTTP request as an RFC 9457 problem detail (application/problem+json), so a
// partner's program can tell which rule its request broke: the HTTP status, a stable `type`, a
// `title` for the kind of problem, a `detail` naming the attribute or header and the rule, and
// members of our own (`attribute`, `index`, `client`, ...).
//
//   Problem p = Problem::make(400, "invalid-attribute", "Invalid CloudEvents attribute",
//                             "attribute 'time': not an RFC 3339 timestamp: 'yesterday'");
//   p.attribute = "time";
//   std::string body = problem_json(p);
//   // {"type":"urn:simpang:problem:invalid-attribute","title":"Invalid CloudEvents attribute",
//   //  "status":400,"detail":"attribute 'time': ...","attribute":"time"}
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simpang::plugins::source_http {

inline constexpr char kProblemContentType[] = "application/problem+json";
// Prefix of every problem `type` this plugin answers with: an identifier, not a link (RFC 9457
// §3.1.1 allows a URI that is not meant to be dereferenced). The README lists each one.
inline constexpr char kProblemTypePrefix[] = "urn:simpang:problem:";

// Thread rule: a value type.
struct Problem {
  int status = 400;
  std::string type;    // the short name, e.g. "invalid-attribute"; rendered with kProblemTypePrefix
  std::string title;   // the same for every problem of this type
  std::string detail;  // this occurrence: which attribute, header or limit, and which rule
  std::string attribute;        // the CloudEvents attribute at fault; empty when none
  std::optional<size_t> index;  // the event's position in a batch (0-based); none outside one
  nlohmann::json extra = nlohmann::json::object();  // more members (client, allowed, ...)
  std::vector<std::pair<std::string, std::string>> headers;  // Retry-After, WWW-Authenticate...

  static Problem make(int status, std::string type, std::string title, std::string detail) {
    Problem p;
    p.status = status;
    p.type = std::move(type);
    p.title = std::move(title);
    p.detail = std::move(detail);
    return p;
  }
};

// The problem as one JSON object (members in the order of the struct). Never throws: text that is
// not valid UTF-8 is replaced, not refused.
std::string problem_json(const Problem& problem);

// The attribute a message of the SDK's CloudEvents reader or of the hub's event rules names, as
// in "attribute 'time': ..." (at the start) or "... missing required attribute 'id'" (at the
// end); empty when it names none. "attribute '" elsewhere is quoted text, never taken for a name.
// Those messages are documented to name the attribute this way (simpang/sdk/cloudevents.h,
// simpang/base/event_rules.h); the SDK has no structured error to take it from.
std::string attribute_named_in(std::string_view message);

}  // namespace simpang::plugins::source_http
