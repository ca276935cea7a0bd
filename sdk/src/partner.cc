// PartnerPublisher: the SDK runtime, outside any hub, as a CurveZMQ client of a partner door. See
// simpang/sdk/partner.h.
#include "simpang/sdk/partner.h"

#include <zmq.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "runtime.h"

namespace simpang::sdk {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kZ85KeyChars = 40;

std::string trimmed(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return "";
  }
  const size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// A valid CURVE key in Z85, or an error naming the option (never quoting a secret).
Status check_key(const std::string& key, const char* option, bool secret) {
  uint8_t raw[32];
  if (key.size() != kZ85KeyChars || zmq_z85_decode(raw, key.c_str()) == nullptr) {
    return Status::Error(std::string(option) + ": not a CURVE key (40 characters of Z85 expected" +
                         (secret ? "" : ", got " + std::to_string(key.size()) + " characters") +
                         ")");
  }
  return Status::Ok();
}

// The runtime's plugin object: a partner's program publishes through PartnerPublisher::publish,
// not from callbacks, so there is nothing for it to do.
class PartnerSource final : public Source {};

std::unique_ptr<PluginBase> make_partner_source(Context&) {
  return std::make_unique<PartnerSource>();
}

void log_to_options(void* data, simpang_log_level level, const char* message, size_t length) {
  const auto* log = static_cast<std::function<void(LogLevel, std::string_view)>*>(data);
  (*log)(static_cast<LogLevel>(level), std::string_view(message, length));
}

void log_to_stderr(LogLevel level, std::string_view message) {
  static constexpr const char* kNames[] = {"trace", "debug", "info", "warn", "error", "critical"};
  const int index = static_cast<int>(level);
  std::fprintf(stderr, "simpang-partner %s: %.*s\n", index >= 0 && index < 6 ? kNames[index] : "?",
               static_cast<int>(message.size()), message.data());
}

}  // namespace

// One group from publish() to its answer. The first answer wins: the runtime's, or the timer's
// for a group still waiting to be handed to the runtime (not connected yet) at its deadline.
struct Group {
  PublishCallback done;
  Clock::time_point deadline;
  std::atomic<bool> handed{false};
  std::atomic<bool> answered{false};

  void answer(const PublishResult& result) {
    if (!answered.exchange(true)) {
      done(result);
    }
  }
};

class PartnerPublisher::Impl {
 public:
  explicit Impl(PartnerOptions options) : options_(std::move(options)) {
    if (!options_.log) {
      options_.log = log_to_stderr;
    }
  }

  ~Impl() {
    if (runtime_) {
      (void)stop(milliseconds(5000));
    }
    if (zmq_context_ != nullptr) {
      zmq_ctx_term(zmq_context_);
    }
  }

  Status start() {
    zmq_context_ = zmq_ctx_new();
    if (zmq_context_ == nullptr) {
      return Status::Error(std::string("zmq_ctx_new: ") + zmq_strerror(zmq_errno()));
    }
    simpang_host_api host{};
    host.struct_size = sizeof(host);
    host.abi_major = SIMPANG_ABI_MAJOR;
    host.abi_minor = SIMPANG_ABI_MINOR;
    host.host_data = &options_.log;
    host.log = log_to_options;
    host.zmq_context = zmq_context_;
    host.hub_endpoint = options_.endpoint.c_str();
    host.instance_name = options_.partner.c_str();
    host.config_json = "{}";
    host.state_dir = ".";
    host.heartbeat_ms = static_cast<uint32_t>(options_.heartbeat.count());
    host.hub_token = "";  // the door knows a partner by its key
    try {
      runtime_ = std::make_unique<internal::Runtime>(host, SIMPANG_KIND_SOURCE, options_.program);
    } catch (const std::exception& e) {
      return Status::Error(e.what());
    }
    runtime_->set_curve_client(options_.server_public_key, options_.public_key,
                               options_.secret_key);
    if (Status s = runtime_->construct(make_partner_source); !s.ok()) {
      return s;
    }
    timer_ = std::thread([this] { run_timer(); });
    return runtime_->start();
  }

  void publish(std::vector<simpang::v1::Event> events, milliseconds deadline,
               PublishCallback done) {
    auto group = std::make_shared<Group>();
    group->done = std::move(done);
    group->deadline = Clock::now() + deadline;
    std::unique_lock lock(mutex_);
    if (stopped_) {
      lock.unlock();
      group->answer(PublishResult::timed_out("the publisher is stopped"));
      return;
    }
    waiting_.emplace(group->deadline, group);
    wake_.notify_one();
    // Posted under the lock, so stop() cannot take the runtime away meanwhile. The work runs on
    // the runtime thread once it is connected and welcomed (posted work waits for that).
    runtime_->post([runtime = runtime_.get(), group, events = std::move(events)]() mutable {
      const auto left =
          std::chrono::duration_cast<milliseconds>(group->deadline - Clock::now());
      if (group->answered.load() || left <= milliseconds(0)) {
        group->answer(PublishResult::timed_out("not connected to the hub before the deadline"));
        return;
      }
      group->handed = true;
      const size_t count = events.size();
      Status status = runtime->publish(std::move(events), left, [group](const PublishResult& r) {
        group->answer(r);
      });
      if (!status.ok()) {
        // Refused before anything was sent: none of the group was published.
        std::vector<EventRejection> all;
        for (size_t i = 0; i < count; ++i) {
          all.push_back({i, status.message()});
        }
        group->answer(PublishResult::rejected(std::move(all)));
      }
    });
  }

  Status stop(milliseconds deadline) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        return Status::Ok();
      }
      stopped_ = true;
    }
    wake_.notify_one();
    const simpang_stop_result result = runtime_->stop(deadline);
    Status status = Status::Ok();
    if (result != SIMPANG_STOP_CLEAN) {
      status = Status::Error(runtime_->last_error());
    }
    if (timer_.joinable()) {
      timer_.join();
    }
    if (result != SIMPANG_STOP_STILL_RUNNING) {
      runtime_.reset();  // answers what it still held (timed out) before it goes
    }
    // Groups never handed to the runtime (it never connected).
    std::multimap<Clock::time_point, std::weak_ptr<Group>> left;
    {
      std::lock_guard lock(mutex_);
      left.swap(waiting_);
    }
    for (auto& [when, weak] : left) {
      if (auto group = weak.lock(); group && !group->handed) {
        group->answer(PublishResult::timed_out("the publisher stopped before reaching the hub"));
      }
    }
    return status;
  }

 private:
  // Answers groups that reach their deadline before the runtime took them (while connecting).
  void run_timer() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      if (waiting_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const auto first = waiting_.begin();
      if (Clock::now() < first->first) {
        wake_.wait_until(lock, first->first);
        continue;
      }
      std::shared_ptr<Group> group = first->second.lock();
      waiting_.erase(first);
      if (group && !group->handed) {
        lock.unlock();
        group->answer(PublishResult::timed_out(
            "no connection to the hub's partner door (" + options_.endpoint +
            ") before the deadline: check the endpoint and the hub's public key"));
        lock.lock();
      }
    }
  }

  PartnerOptions options_;
  void* zmq_context_ = nullptr;
  std::unique_ptr<internal::Runtime> runtime_;
  std::thread timer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;  // GUARDED_BY(mutex_)
  // Groups by deadline, until it passes (the runtime answers for those it took). GUARDED_BY(mutex_)
  std::multimap<Clock::time_point, std::weak_ptr<Group>> waiting_;
};

StatusOr<std::unique_ptr<PartnerPublisher>> PartnerPublisher::connect(PartnerOptions options) {
  options.server_public_key = trimmed(options.server_public_key);
  options.secret_key = trimmed(options.secret_key);
  options.public_key = trimmed(options.public_key);
  if (options.endpoint.rfind("tcp://", 0) != 0) {
    return Status::Error("endpoint: the partner door is a tcp:// endpoint, got '" +
                         options.endpoint + "'");
  }
  if (Status s = check_key(options.server_public_key, "server_public_key", false); !s.ok()) {
    return s;
  }
  if (Status s = check_key(options.secret_key, "secret_key", true); !s.ok()) {
    return s;
  }
  if (options.public_key.empty()) {
    char derived[kZ85KeyChars + 1];
    if (zmq_curve_public(derived, options.secret_key.c_str()) != 0) {
      return Status::Error("secret_key: cannot derive the public key: " +
                           std::string(zmq_strerror(zmq_errno())));
    }
    options.public_key = derived;
  } else if (Status s = check_key(options.public_key, "public_key", false); !s.ok()) {
    return s;
  }
  if (options.heartbeat < milliseconds(100)) {
    return Status::Error("heartbeat: at least 100 ms, got " +
                         std::to_string(options.heartbeat.count()) + " ms");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->start(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<PartnerPublisher>(new PartnerPublisher(std::move(impl)));
}

PartnerPublisher::PartnerPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PartnerPublisher::~PartnerPublisher() = default;

void PartnerPublisher::publish(std::vector<simpang::v1::Event> events, milliseconds deadline,
                               PublishCallback done) {
  impl_->publish(std::move(events), deadline, std::move(done));
}

PublishResult PartnerPublisher::publish_and_wait(std::vector<simpang::v1::Event> events,
                                                 milliseconds deadline) {
  auto answer = std::make_shared<std::promise<PublishResult>>();
  std::future<PublishResult> result = answer->get_future();
  impl_->publish(std::move(events), deadline,
                 [answer](const PublishResult& r) { answer->set_value(r); });
  return result.get();
}

Status PartnerPublisher::stop(milliseconds deadline) { return impl_->stop(deadline); }

}  // namespace simpang::sdk
