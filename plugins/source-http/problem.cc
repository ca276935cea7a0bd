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
  constexpr std::string_view kMarker = "attribute '";
  const size_t start = message.find(kMarker);
  if (start == std::string_view::npos) {
    return {};
  }
  const size_t name_begin = start + kMarker.size();
  const size_t name_end = message.find('\'', name_begin);
  if (name_end == std::string_view::npos) {
    return {};
  }
  return std::string(message.substr(name_begin, name_end - name_begin));
}

}  // namespace simpang::plugins::source_http
