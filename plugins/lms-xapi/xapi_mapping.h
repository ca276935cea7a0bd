// What a stored xAPI statement becomes on the hub: always one `xapi.statement.stored` event (the
// statement as stored, lossless), and for the statements that mean something to the programme a
// talent event in the shape docs/events.md gives (docs/lms-xapi.md has the table):
//   registered                 -> talent.enrollment.created
//   completed / passed / failed -> talent.completion.recorded (with the score)
//   earned                     -> talent.credential.issued
// Event ids derive from the statement id, so publishing a statement again publishes the same
// events, which the hub's journal de-duplicates.
//
//   std::vector<simpang::v1::Event> events = statement_events(stored, options);
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simpang/v1/event.pb.h"

namespace simpang::plugins::lms_xapi {

inline constexpr char kStoredType[] = "xapi.statement.stored";
inline constexpr char kVerbRegistered[] = "http://adlnet.gov/expapi/verbs/registered";
inline constexpr char kVerbCompleted[] = "http://adlnet.gov/expapi/verbs/completed";
inline constexpr char kVerbPassed[] = "http://adlnet.gov/expapi/verbs/passed";
inline constexpr char kVerbFailed[] = "http://adlnet.gov/expapi/verbs/failed";
inline constexpr char kVerbEarned[] = "http://id.tincanapi.com/verb/earned";
inline constexpr char kVerbVoided[] = "http://adlnet.gov/expapi/verbs/voided";

struct MappingOptions {
  std::string source;  // the events' source (a URI-reference), e.g. "/lms/xapi"
  // Activity types (definition.type) of certification courses: a completion of one carries
  // `certification: true`, so transform-credential issues its credential.
  std::vector<std::string> certification_activity_types;
};

// The person a statement's actor is: account.name, else the mbox address without "mailto:", else
// "sha1:" + mbox_sha1sum, else the openid. Empty for an anonymous Group.
std::string person_id(const nlohmann::json& actor);

// The events for one statement as stored (with id, stored and timestamp set), in publish order:
// xapi.statement.stored first, then the talent event if the verb maps to one and the actor is an
// Agent and the object an Activity.
// REQUIRES: `statement` passed validate_statement and has id, stored and timestamp.
std::vector<simpang::v1::Event> statement_events(const nlohmann::json& statement,
                                                 const MappingOptions& options);

}  // namespace simpang::plugins::lms_xapi
