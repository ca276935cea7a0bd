// HTTP answers of the LRS; see xapi_answers.h.
#include "xapi_answers.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace simpang::plugins::lms_xapi {

simpang::http::Response xapi_json(int status, std::string body) {
  simpang::http::Response r = simpang::http::Response::Json(status, std::move(body));
  r.headers.emplace_back(kVersionHeader, kXapiVersion);
  return r;
}

simpang::http::Response xapi_empty(int status) {
  simpang::http::Response r;
  r.status = status;
  r.content_type.clear();
  r.headers.emplace_back(kVersionHeader, kXapiVersion);
  return r;
}

simpang::http::Response xapi_error(int status, const std::string& property,
                                   const std::string& message) {
  nlohmann::ordered_json error;
  error["status"] = status;
  if (!property.empty()) {
    error["property"] = property;
  }
  error["message"] = message;
  return xapi_json(status, nlohmann::ordered_json{{"error", error}}.dump(
                               -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string http_date(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[40];
  std::strftime(out, sizeof(out), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return out;
}

}  // namespace simpang::plugins::lms_xapi
