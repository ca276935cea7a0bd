// simpang::http::Client: the queue in front of libcurl's multi handle and the one thread that
// drives it. A request is accepted by send() into queue_, moved into the multi handle by the
// thread while fewer than max_in_flight are there, and completed by the thread when libcurl
// reports it done (or when the client stops). The multi handle keeps one connection cache for
// every request, so connections to a host are reused across requests.
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "client_core.h"

namespace simpang::http {

namespace {

void initialise_libcurl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("HTTP client: libcurl could not be initialised: ") +
                             curl_easy_strerror(result));
  }
}

// How long the thread sleeps in curl_multi_poll when nothing is due; send() and stop() wake it at
// once (curl_multi_wakeup) and libcurl shortens the wait to its own next timeout.
constexpr int kIdlePollMilliseconds = 1000;

}  // namespace

std::string_view to_string(ClientErrorKind kind) {
  switch (kind) {
    case ClientErrorKind::kInvalidRequest:
      return "invalid request";
    case ClientErrorKind::kQueueFull:
      return "queue full";
    case ClientErrorKind::kConnect:
      return "connect failed";
    case ClientErrorKind::kConnectTimeout:
      return "connect timed out";
    case ClientErrorKind::kTimeout:
      return "timed out";
    case ClientErrorKind::kTls:
      return "TLS failed";
    case ClientErrorKind::kTooLarge:
      return "response too large";
    case ClientErrorKind::kProtocol:
      return "protocol error";
    case ClientErrorKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string default_user_agent() { return "simpang/" SIMPANG_HTTP_VERSION; }

Client::Client(ClientOptions options)
    : core_(std::make_shared<internal::ClientCore>(std::move(options))) {
  core_->start();
}

Client::~Client() { core_->stop(); }

void Client::send(ClientRequest request, ClientCallback done) {
  core_->send(std::move(request), std::move(done));
}

void Client::stop() { core_->stop(); }

size_t Client::in_flight() const { return core_->in_flight(); }

size_t Client::queued() const { return core_->queued(); }

namespace internal {

ClientCore::ClientCore(ClientOptions options)
    : options_(std::move(options)),
      user_agent_(options_.user_agent.empty() ? default_user_agent() : options_.user_agent) {
  initialise_libcurl_once();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("HTTP client: curl_multi_init failed");
  long per_host = static_cast<long>(std::max<size_t>(1, options_.max_connections_per_host));
  long cache = static_cast<long>(std::max<size_t>(options_.max_in_flight, 1));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
  // Idle connections kept for reuse.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, std::max(cache, per_host));
  if (!options_.verify_tls) {
    log(LogLevel::kWarn,
        "HTTP client: TLS verification is off (verify_tls = false): any certificate is accepted, "
        "so a man in the middle can read and change every https request");
  }
}

ClientCore::~ClientCore() {
  if (thread_.joinable()) {
    // Destroyed on its own thread when the Client was destroyed from one of its completions.
    if (thread_id_ == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      stop();
    }
  }
  curl_multi_cleanup(multi_);
}

void ClientCore::start() {
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
  thread_id_ = thread_.get_id();
}

void ClientCore::log(LogLevel level, const std::string& message) const {
  if (options_.log) options_.log(level, message);
}

void ClientCore::send(ClientRequest request, ClientCallback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->redacted_url = redact_url(request.url);
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  std::optional<ClientError> refusal;
  if (auto problem = request_problem(transfer->request)) {
    refusal = transfer->error(ClientErrorKind::kInvalidRequest, *problem);
  }
  {
    std::lock_guard lock(mu_);
    if (!refusal && stopping_) {
      refusal = transfer->error(ClientErrorKind::kCancelled, "cancelled: the client is stopped");
    }
    if (!refusal && active_count_ + queue_.size() >= options_.max_in_flight + options_.max_queued) {
      refusal =
          transfer->error(ClientErrorKind::kQueueFull,
                          "refused: " + std::to_string(active_count_) + " requests in flight " +
                              "and " + std::to_string(queue_.size()) + " queued (max_in_flight " +
                              std::to_string(options_.max_in_flight) + ", max_queued " +
                              std::to_string(options_.max_queued) + ")");
    }
    if (!refusal) {
      queue_.push_back(std::move(transfer));
      curl_multi_wakeup(multi_);
      return;
    }
    // Without an executor a refusal still completes on the client's thread, never inside send(),
    // unless that thread is gone.
    if (!options_.completion_executor && !stopping_) {
      refused_.push_back({std::move(transfer->done), std::move(*refusal)});
      curl_multi_wakeup(multi_);
      return;
    }
  }
  complete(std::move(transfer->done), std::move(*refusal));
}

void ClientCore::stop() {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      // Under mu_, so no wakeup can reach multi_ after the thread has seen stopping_ and left.
      curl_multi_wakeup(multi_);
    }
  }
  // From a completion on the client's thread: that thread finishes the cancellations itself.
  if (thread_id_ == std::this_thread::get_id()) return;
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

size_t ClientCore::in_flight() const {
  std::lock_guard lock(mu_);
  return active_count_;
}

size_t ClientCore::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void ClientCore::run() {
  while (admit()) {
    int running = 0;
    curl_multi_perform(multi_, &running);
    collect_finished();
    std::vector<Refusal> refused;
    bool admissible = false;
    {
      std::lock_guard lock(mu_);
      refused.swap(refused_);
      admissible = !queue_.empty() && active_count_ < options_.max_in_flight;
    }
    for (Refusal& r : refused) complete(std::move(r.done), std::move(r.error));
    // A finished request freed a slot for a queued one: admit it without sleeping.
    if (admissible) continue;
    curl_multi_poll(multi_, nullptr, 0, kIdlePollMilliseconds, nullptr);
  }
  cancel_everything();
}

bool ClientCore::admit() {
  std::vector<std::unique_ptr<Transfer>> starting;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    while (active_count_ < options_.max_in_flight && !queue_.empty()) {
      starting.push_back(std::move(queue_.front()));
      queue_.pop_front();
      ++active_count_;
    }
  }
  for (auto& transfer : starting) start_transfer(std::move(transfer));
  return true;
}

void ClientCore::start_transfer(std::unique_ptr<Transfer> transfer) {
  std::optional<ClientError> failure = transfer->prepare(options_, user_agent_);
  if (!failure) {
    CURLMcode added = curl_multi_add_handle(multi_, transfer->easy);
    if (added == CURLM_OK) {
      CURL* easy = transfer->easy;
      active_.emplace(easy, std::move(transfer));
      return;
    }
    failure =
        transfer->error(ClientErrorKind::kProtocol,
                        std::string("libcurl refused the request: ") + curl_multi_strerror(added));
  }
  ClientCallback done = std::move(transfer->done);
  transfer.reset();
  {
    std::lock_guard lock(mu_);
    --active_count_;
  }
  complete(std::move(done), std::move(*failure));
}

void ClientCore::collect_finished() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    CURLcode code = message->data.result;
    auto it = active_.find(easy);
    if (it == active_.end()) continue;
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    ClientResult result = transfer->finish(code, options_);
    ClientCallback done = std::move(transfer->done);
    transfer.reset();  // the easy handle goes before the completion runs; its connection stays
    {
      std::lock_guard lock(mu_);
      --active_count_;
    }
    complete(std::move(done), std::move(result));
  }
}

void ClientCore::cancel_everything() {
  std::vector<std::pair<ClientCallback, ClientError>> cancelled;
  for (auto& [easy, transfer] : active_) {
    curl_multi_remove_handle(multi_, easy);
    cancelled.emplace_back(std::move(transfer->done),
                           transfer->error(ClientErrorKind::kCancelled,
                                           "cancelled in flight: the client was stopped"));
  }
  active_.clear();
  std::deque<std::unique_ptr<Transfer>> queue;
  std::vector<Refusal> refused;
  {
    std::lock_guard lock(mu_);
    queue.swap(queue_);
    refused.swap(refused_);
    active_count_ = 0;
  }
  for (auto& transfer : queue) {
    cancelled.emplace_back(std::move(transfer->done),
                           transfer->error(ClientErrorKind::kCancelled,
                                           "cancelled before it was sent: the client was stopped"));
  }
  for (Refusal& r : refused) cancelled.emplace_back(std::move(r.done), std::move(r.error));
  for (auto& [done, error] : cancelled) complete(std::move(done), std::move(error));
}

void ClientCore::complete(ClientCallback done, ClientResult result) {
  if (!done) return;
  try {
    if (options_.completion_executor) {
      options_.completion_executor([done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    } else {
      done(std::move(result));
    }
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("HTTP client: a completion threw: ") + e.what());
  } catch (...) {
    log(LogLevel::kError, "HTTP client: a completion threw a non-standard exception");
  }
}

}  // namespace internal
}  // namespace simpang::http
