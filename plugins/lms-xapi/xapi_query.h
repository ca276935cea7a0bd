// GET /xapi/statements as pure functions (xAPI-Communication.md 2.1.3): the query string read into
// a StatementQuery (each bad parameter refused naming it and the rule), whether a stored statement
// matches it, the `format` a result is shaped to (exact, ids, canonical), and the opaque `more`
// token that resumes a query where a page ended.
//
//   std::variant<StatementQuery, QueryError> q = parse_query(request.query);
//   if (matches(std::get<StatementQuery>(q), statement)) page.push_back(shape(statement, ...));
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include "simpang/http/query.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace simpang::plugins::lms_xapi {

enum class Format { kExact, kIds, kCanonical };

struct StatementQuery {
  // Single-statement forms: exactly one of these, and then no other filter (only format).
  std::string statement_id;
  std::string voided_statement_id;

  std::optional<nlohmann::json> agent;  // an Agent or identified Group
  std::string verb;                     // verb id
  std::string activity;                 // Activity id
  std::string registration;             // context.registration
  bool related_activities = false;
  bool related_agents = false;
  std::optional<int64_t> since_ms;  // stored > since
  std::optional<int64_t> until_ms;  // stored <= until
  size_t limit = 0;                 // 0: the server's page size
  bool ascending = false;
  Format format = Format::kExact;
  std::optional<int64_t> after_seq;  // from a `more` token: resume after this row

  // Whether any filter that a StatementRef's target can satisfy is set (all but the time and
  // sequence ones).
  bool filters() const {
    return agent.has_value() || !verb.empty() || !activity.empty() || !registration.empty();
  }
};

// A refused parameter: "parameter 'since': must be an ISO 8601 timestamp, got ...".
struct QueryError {
  std::string parameter;
  std::string rule;
  std::string message() const { return "parameter '" + parameter + "': " + rule; }
};

// The query string's parameters: the HTTP library's decoder (simpang/http/query.h).
using simpang::http::decode_query;

// Reads the parameters of GET /statements. A `more` parameter replaces all others (it carries
// them). Unknown parameters are refused, as are `attachments=true` (not offered) and the
// single-statement ids combined with filters.
std::variant<StatementQuery, QueryError> parse_query(std::string_view query);

// Whether `statement` (as stored) passes every filter of `query` itself. (A statement whose object
// is a StatementRef also matches when the statement it targets does: the caller follows the
// reference, see StatementQuery and the plugin's read path.)
bool matches(const StatementQuery& query, const nlohmann::json& statement);

// `statement` shaped for `format`: exact as stored; ids with Agents and Groups reduced to their
// identifier (and objectType), Activities and verbs to their id; canonical with every language
// map reduced to one entry, the first of `languages` it has (else its first).
nlohmann::json shape(const nlohmann::json& statement, Format format,
                     const std::vector<std::string>& languages);

// The language ranges of an Accept-Language header, in order of preference (q-values honoured,
// '*' dropped).
std::vector<std::string> accepted_languages(std::string_view header);

// The opaque `more` token of the page after row `last_seq` of `query`, and its reading. The token
// carries the whole query, so a follow-up request needs nothing else.
std::string more_token(const StatementQuery& query, int64_t last_seq);

// Whether two Agents / identified Groups are the same by their inverse functional identifier.
bool same_identifier(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace simpang::plugins::lms_xapi
