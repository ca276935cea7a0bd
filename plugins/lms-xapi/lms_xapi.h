// The lms-xapi plugin: an xAPI 1.0.3 Learning Record Store front door. Learning platforms send
// statements to /xapi/statements (POST, PUT) and read them back (GET by id or by query); every
// accepted statement is kept in the plugin's own store (xapi_store.h) and published to the hub as
// `xapi.statement.stored` plus, where the verb means something to the programme, a talent event
// (xapi_mapping.h).
//
// A write goes: on a server thread, HTTP Basic authentication, the X-Experience-API-Version
// header, the JSON body and every statement's validation (xapi_statement.h); then on the runtime
// thread, for every write queued since its last turn (flush_writes), the id checks against the
// store (409 for the same id with other content, per request), the insert of the new statements
// as pending (one transaction), one publish with completion, and, when the hub has made the
// events durable, the mark that makes them stored, and only then the answers. Reads run on the
// runtime thread too, so they see every statement answered before them.
//
// The port file in the state directory holds the bound port once the server listens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lms_xapi_config.h"
#include "simpang/http/auth.h"
#include "simpang/http/server.h"
#include "simpang/sdk/plugin.h"
#include "xapi_mapping.h"
#include "xapi_query.h"
#include "xapi_store.h"

namespace simpang::plugins::lms_xapi {

inline constexpr char kPortFile[] = "port";
inline constexpr char kStoreFile[] = "statements.db";
inline constexpr char kPrefix[] = "/xapi";
inline constexpr int kRetryAfterSeconds = 1;

class LmsXapi : public simpang::sdk::Source {
 public:
  // Reads the configuration (throws simpang::sdk::ConfigError) and opens the store (throws
  // std::runtime_error naming the file).
  explicit LmsXapi(simpang::sdk::Context& ctx);
  ~LmsXapi() override;
  LmsXapi(const LmsXapi&) = delete;
  LmsXapi& operator=(const LmsXapi&) = delete;

  // Publishes again every statement left pending by an earlier run, starts the server, writes
  // the port file. Throws std::runtime_error when it cannot listen.
  void on_start(simpang::sdk::Context& ctx) override;
  // Stops accepting; requests in flight are answered by their completions (see source-http).
  void on_stop(simpang::sdk::Context& ctx) override;

  uint16_t port() const;  // REQUIRES: on_start succeeded

 private:
  class PendingAnswer;
  // A write request's statements, validated, on their way to the runtime thread.
  struct Write {
    std::vector<nlohmann::json> statements;  // validated and normalised, each with its id
    bool put = false;                        // PUT answers 204; POST the ids
    size_t client = 0;
  };

  // Server threads: authentication and the version header; nullopt when the request may go on
  // (then `client` is set).
  std::optional<simpang::http::Response> admit(const simpang::http::Request& request,
                                               size_t& client, bool need_version) const;
  void handle_write(simpang::sdk::Context& ctx, simpang::http::Request request,
                    simpang::http::Responder responder, bool put);
  void handle_get(simpang::sdk::Context& ctx, simpang::http::Request request,
                  simpang::http::Responder responder);

  // Runtime thread.
  // Takes every write queued since the last flush: conflicts are answered per request; the new
  // statements of all the others go into the store in one transaction and out in one publish, and
  // are marked stored in one transaction, so concurrent requests share the cost of durability.
  void flush_writes(simpang::sdk::Context& ctx);
  void publish_rows(simpang::sdk::Context& ctx, const std::vector<StoredStatement>& rows,
                    std::function<void(const simpang::sdk::PublishResult&)> done);
  void republish_pending(simpang::sdk::Context& ctx, bool all);
  simpang::http::Response answer_get(const simpang::http::Request& request);
  simpang::http::Response answer_single(const StatementQuery& query,
                                        const std::vector<std::string>& languages);
  std::string consistent_through();
  // matches(), or, for a statement whose object is a StatementRef, whether the statement it
  // targets (and so on, `depth` references deep at most) matches (xAPI-Communication.md 2.1.3).
  bool matches_or_targets(const StatementQuery& query, const nlohmann::json& statement, int depth);
  int64_t next_stored_ms();
  nlohmann::json authority(size_t client) const;
  void write_port_file(simpang::sdk::Context& ctx);
  void refuse(simpang::sdk::Context& ctx, const simpang::http::Request& request,
              simpang::http::Responder& responder, simpang::http::Response response);

  const LmsXapiConfig config_;
  const MappingOptions mapping_;
  std::optional<simpang::http::BasicAuth> auth_;
  std::unique_ptr<StatementStore> store_;  // runtime thread only (after the constructor)
  const std::filesystem::path port_file_;
  std::unique_ptr<simpang::http::Server> server_;
  std::thread stopper_;
  int64_t last_stored_ms_ = 0;  // runtime thread: `stored` never goes backwards
  std::mutex writes_mutex_;
  // Validated writes waiting for flush_writes (guarded by writes_mutex_); a flush is posted when
  // the first one is queued.
  std::vector<std::pair<std::shared_ptr<PendingAnswer>, Write>> queued_writes_;
  bool overloaded_ = false;  // runtime thread
};

}  // namespace simpang::plugins::lms_xapi
