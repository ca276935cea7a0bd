// RFC 9457 problem details; see problem.h.
#include "problem.h"

namespace simpang::plugins::source_http {

std::string problem_json(const Problem& problem) {
  nlohmann::ordered_json out;
  out["type"] = std::string(kProblemTypePrefix) + problem.type;
  out["title"] = problem.title;
  out["status"] = problem.status;
  out["detail"] = problem.detail;
  if (!problem.attribute.empty()) {
    out["attribute"] = problem.attribute;
  }
  if (problem.index) {
    out["index"] = *problem.index;
  }
  if (problem.extra.is_object()) {
    for (const auto& [name, value] : problem.extra.items()) {
      out[name] = value;
    }
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string attribute_named_in(std::string_view message) {
  // Only where the documented forms put the name: a message may also quote a request's bytes
  // (an id, a parser's "last read: ..."), which can hold "attribute '" too.
  constexpr std::string_view kReader = "attribute '";
  constexpr std::string_view kMissing = "missing required attribute '";
  if (message.substr(0, kReader.size()) == kReader) {
    const size_t end = message.find('\'', kReader.size());
    return end == std::string_view::npos
               ? std::string()
               : std::string(message.substr(kReader.size(), end - kReader.size()));
  }
  if (message.size() < kMissing.size() + 2 || message.back() != '\'') {
    return {};
  }
  const size_t open = message.rfind('\'', message.size() - 2);
  const std::string_view name = message.substr(open + 1, message.size() - open - 2);
  if (open + 1 < kMissing.size() ||
      message.substr(open + 1 - kMissing.size(), kMissing.size()) != kMissing) {
    return {};
  }
  return std::string(name);
}

}  // namespace simpang::plugins::source_http
