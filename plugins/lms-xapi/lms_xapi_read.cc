// The lms-xapi plugin's read path: GET /xapi/statements by id and by query, with the
// X-Experience-API-Consistent-Through and Last-Modified headers. See lms_xapi.h.
#include <algorithm>
#include <cctype>
#include <chrono>

#include "lms_xapi.h"
#include "xapi_answers.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
using simpang::sdk::Context;
using simpang::sdk::LogLevel;

// How many StatementRefs a query follows from one statement (a chain a -> b -> c ...).
constexpr int kMaxReferenceDepth = 8;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void LmsXapi::handle_get(Context& ctx, Request request, Responder responder) {
  size_t client = 0;
  if (auto refusal = admit(request, client, true)) {
    return refuse(ctx, request, responder, std::move(*refusal));
  }
  ctx.post([this, &ctx, request = std::move(request), responder]() mutable {
    Response response = answer_get(request);
    if (response.status >= 400) {
      return refuse(ctx, request, responder, std::move(response));
    }
    ctx.count("queries_answered");
    if (request.method == "HEAD") response.body.clear();
    responder.respond(std::move(response));
  });
}

std::string LmsXapi::consistent_through() {
  // Statements become visible when the hub has them, in stored order except for those still
  // pending: every query is complete up to just before the oldest pending one.
  auto oldest = store_->oldest_pending_ms();
  if (oldest.ok() && oldest->has_value()) {
    return format_timestamp(**oldest - 1);
  }
  return format_timestamp(std::max(now_ms(), last_stored_ms_));
}

bool LmsXapi::matches_or_targets(const StatementQuery& query, const json& statement, int depth) {
  if (matches(query, statement)) return true;
  const json object = statement.value("object", json::object());
  if (depth <= 0 || !query.filters() || object.value("objectType", "") != "StatementRef") {
    return false;
  }
  std::string id = object.value("id", "");
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto row = store_->find(id);
  if (!row.ok() || !*row || (*row)->pending) return false;
  const json target = json::parse((*row)->json, nullptr, false);
  return !target.is_discarded() && matches_or_targets(query, target, depth - 1);
}

Response LmsXapi::answer_single(const StatementQuery& query,
                                const std::vector<std::string>& languages) {
  const bool voided = !query.voided_statement_id.empty();
  const std::string& id = voided ? query.voided_statement_id : query.statement_id;
  auto row = store_->find(id);
  if (!row.ok()) {
    return xapi_error(500, "", "the statement store failed: " + row.status().message());
  }
  const char* parameter = voided ? "voidedStatementId" : "statementId";
  if (!*row || (*row)->pending) {
    return xapi_error(404, parameter, "no statement " + id + " is stored");
  }
  if ((*row)->voided != voided) {
    return xapi_error(404, parameter,
                      voided ? "statement " + id + " is not voided: ask with statementId"
                             : "statement " + id + " is voided: ask with voidedStatementId");
  }
  const json statement = json::parse((*row)->json, nullptr, false);
  Response r = xapi_json(200, shape(statement, query.format, languages).dump());
  r.headers.emplace_back(kConsistentHeader, consistent_through());
  r.headers.emplace_back("Last-Modified", http_date((*row)->stored_ms));
  return r;
}

Response LmsXapi::answer_get(const Request& request) {
  std::variant<StatementQuery, QueryError> parsed = parse_query(request.query);
  if (const QueryError* error = std::get_if<QueryError>(&parsed)) {
    return xapi_error(400, error->parameter, error->message());
  }
  const StatementQuery& query = std::get<StatementQuery>(parsed);
  const std::string* accept = request.header("Accept-Language");
  const std::vector<std::string> languages =
      accept == nullptr ? std::vector<std::string>() : accepted_languages(*accept);
  if (!query.statement_id.empty() || !query.voided_statement_id.empty()) {
    return answer_single(query, languages);
  }
  // Read before the scan, so the header never claims more than the scan saw.
  const std::string through = consistent_through();
  const size_t limit =
      query.limit == 0 ? config_.page_size : std::min(query.limit, config_.page_size);
  json statements = json::array();
  int64_t last_seq = 0;
  int64_t newest = 0;
  bool more = false;
  ScanRange range{.ascending = query.ascending,
                  .after_seq = query.after_seq,
                  .since_ms = query.since_ms,
                  .until_ms = query.until_ms};
  const Status status = store_->scan(range, [&](const StoredStatement& row) {
    json statement = json::parse(row.json, nullptr, false);
    if (statement.is_discarded() || !matches_or_targets(query, statement, kMaxReferenceDepth)) {
      return true;
    }
    if (statements.size() == limit) {
      more = true;  // one more matches: there is a next page
      return false;
    }
    statements.push_back(shape(statement, query.format, languages));
    last_seq = row.seq;
    newest = std::max(newest, row.stored_ms);
    return true;
  });
  if (!status.ok()) {
    return xapi_error(500, "", "the statement store failed: " + status.message());
  }
  json body = {
      {"statements", std::move(statements)},
      {"more", more ? std::string(kPrefix) + "/statements?more=" + more_token(query, last_seq)
                    : std::string()}};
  Response r = xapi_json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
  r.headers.emplace_back(kConsistentHeader, through);
  r.headers.emplace_back("Last-Modified", http_date(newest != 0 ? newest : now_ms()));
  return r;
}

}  // namespace simpang::plugins::lms_xapi
