// The HTTP answers of the LRS: the xAPI headers every answer carries, error bodies that name the
// property (or header, or parameter) and the rule, and the HTTP-date of Last-Modified.
//
//   Response r = xapi_error(400, "actor.mbox", "actor.mbox: must be a mailto IRI, got \"bob\"");
//   // {"error":{"status":400,"property":"actor.mbox","message":"actor.mbox: must be ..."}}
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "simpang/http/server.h"

namespace simpang::plugins::lms_xapi {

inline constexpr char kVersionHeader[] = "X-Experience-API-Version";
inline constexpr char kConsistentHeader[] = "X-Experience-API-Consistent-Through";
inline constexpr char kXapiVersion[] = "1.0.3";

// A JSON answer with the X-Experience-API-Version header.
simpang::http::Response xapi_json(int status, std::string body);
// A body-less answer (204) with the version header.
simpang::http::Response xapi_empty(int status);
// An error answer: `property` names what is wrong (a JSON path, a header, a parameter; may be
// empty), `message` the rule.
simpang::http::Response xapi_error(int status, const std::string& property,
                                   const std::string& message);

// `ms` since the epoch as an RFC 9110 HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string http_date(int64_t ms);

}  // namespace simpang::plugins::lms_xapi
