// Validation of xAPI 1.0.3 Statements as an LRS receives them (xAPI-Data.md, section 2.4 and its
// property tables), as pure functions that unit tests and the fuzz target link alone.
//
//   nlohmann::json statement = nlohmann::json::parse(body);
//   if (std::optional<StatementError> e = validate_statement(statement)) {
//     return bad_request(e->message());  // "actor.mbox: must be a mailto IRI, got \"bob\""
//   }
//   // `statement` is now normalised: a contextActivities value given as one Activity is an array.
//
// What is checked: every object has only the properties the specification defines for it (no
// unknown properties, no nulls); an Agent has exactly one inverse functional identifier (mbox as
// a mailto IRI, mbox_sha1sum as 40 hex digits, openid as an IRI, account with homePage IRI and
// name); a Group is anonymous (members, no identifier) or identified (one identifier), its members
// Agents; IRIs where IRIs are required; UUIDs; ISO 8601 timestamps and durations; language maps
// keyed by RFC 5646 tags; the verb; the four kinds of object (Activity with its definition and
// interaction components, Agent / Group, StatementRef, SubStatement with its restrictions);
// result (score.scaled in [-1, 1], min <= raw <= max, min < max); context (registration UUID,
// instructor, team a Group, contextActivities, revision and platform only with an Activity);
// version 1.0.x; attachments' metadata.
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace simpang::plugins::lms_xapi {

// The first rule a statement breaks: where (a JSON path such as "context.registration" or
// "object.definition.name.en_US"; for a batch "[2].actor") and which rule.
// Thread rule: a value type.
struct StatementError {
  std::string path;
  std::string rule;
  // "path: rule", the text a 400 answer carries.
  std::string message() const { return path.empty() ? rule : path + ": " + rule; }
};

// Validates `statement` and normalises it in place (contextActivities arrays). `path` is put in
// front of every error's path (e.g. "[2]" for the third statement of a batch). `stored` and
// `authority`, which the LRS sets itself, are still checked for their shape when present.
std::optional<StatementError> validate_statement(nlohmann::json& statement,
                                                 const std::string& path = "");

// Validates an Agent or Group given as a query parameter (`agent=` of GET /statements): the same
// rules as for an actor. Returns the error or nullopt.
std::optional<StatementError> validate_agent(const nlohmann::json& agent, const std::string& path);

// The form in which a received statement is compared with another of the same id
// (xAPI-Data.md 2.3.1, "Statement Comparison Requirements"): without what the LRS may assign
// (stored, authority, version), without what is not part of the statement (the verb's display,
// Activity definitions), with Group members in a fixed order and the timestamp as one
// serialisation of its instant. REQUIRES: `statement` passed validate_statement.
std::string comparable_form(const nlohmann::json& statement);

// Whether two comparable forms are the same statement. A timestamp only one of them has is one
// the LRS may have assigned to the other, and is ignored.
bool same_statement(const std::string& a, const std::string& b);

}  // namespace simpang::plugins::lms_xapi
