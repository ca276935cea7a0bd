// The machinery behind simpang::http::Client: one libcurl multi handle driven by one thread
// (client.cc), and one Transfer per request, which owns its easy handle and turns libcurl's
// callbacks and result codes into a ClientResult (client_transfer.cc).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "simpang/http/client.h"

namespace simpang::http::internal {

// `url` without userinfo, query and fragment, so an error message never shows a password or a
// token that travels in the URL.
std::string redact_url(std::string_view url);

// Why `request` cannot be sent (a URL that is not http/https, a method that is not a token, a
// header name that is not a token or a value with CR, LF or NUL), or nullopt.
std::optional<std::string> request_problem(const ClientRequest& request);

// One request from acceptance to completion.
// Thread rule: made on send()'s caller, then used only by the client's thread.
struct Transfer {
  ClientRequest request;
  ClientCallback done;
  std::string redacted_url;

  CURL* easy = nullptr;               // OWNERSHIP: owned; freed by the destructor
  curl_slist* header_list = nullptr;  // OWNERSHIP: owned; freed by the destructor
  char curl_error[CURL_ERROR_SIZE] = {};

  ClientResponse response;
  size_t max_header_bytes = 0;
  size_t max_body_bytes = 0;
  size_t header_bytes = 0;
  bool body_too_large = false;
  bool header_too_large = false;
  std::chrono::milliseconds timeout{0};  // the total timeout in force

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer();

  // Makes the easy handle and sets every option. On failure returns the error to complete with.
  std::optional<ClientError> prepare(const ClientOptions& options, const std::string& user_agent);
  // The result once libcurl reports `code` for this transfer.
  ClientResult finish(CURLcode code, const ClientOptions& options);
  // An error of `kind` for this request: "<METHOD> <redacted url>: <cause>".
  ClientError error(ClientErrorKind kind, const std::string& cause) const;
};

// OWNERSHIP: shared by the Client and its thread, so that a Client destroyed from one of its own
// completions leaves the thread to finish and free it.
// Thread rule: options_ and user_agent_ are read-only; queue_, refused_, active_count_ and
// stopping_ are guarded by mu_; active_ and multi_'s transfers belong to the client's thread.
class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  explicit ClientCore(ClientOptions options);
  ~ClientCore();
  // Starts the thread. REQUIRES: called once, right after construction.
  void start();

  void send(ClientRequest request, ClientCallback done);
  void stop();
  size_t in_flight() const;
  size_t queued() const;

 private:
  struct Refusal {
    ClientCallback done;
    ClientError error;
  };

  void run();
  // Moves queued requests into free slots; false once stopping.
  bool admit();
  void start_transfer(std::unique_ptr<Transfer> transfer);
  void collect_finished();
  void cancel_everything();
  // Hands `result` to `done` through the executor, or runs it here.
  void complete(ClientCallback done, ClientResult result);
  void log(LogLevel level, const std::string& message) const;

  const ClientOptions options_;
  const std::string user_agent_;
  CURLM* multi_ = nullptr;  // OWNERSHIP: owned

  mutable std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // guarded by mu_
  std::vector<Refusal> refused_;                 // guarded by mu_; completed by the thread
  size_t active_count_ = 0;                      // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_

  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;  // the client's thread only
  std::mutex join_mu_;  // serialises joining thread_ when several threads stop() at once
  std::thread thread_;
  std::thread::id thread_id_;  // set by start(), read-only after
};

}  // namespace simpang::http::internal
