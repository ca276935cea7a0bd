// test-async-sink: a stand-in for a sink whose writes complete later (a webhook's HTTP client).
// It answers every delivery pending and hands it to a thread of its own, which "sends" it (that
// takes `latency_ms`) and hands the completion back with post(). On the runtime thread the
// completion writes the event to `path` as a CloudEvents JSON line and settles the delivery. It
// asks for a delivery window of `window` and writes to `stats` the most deliveries it ever held
// pending ("max_pending N"), so a test can check that they overlapped and stayed within the window.
//
// config: path, stats (required; relative to the state directory), window (default 8),
//         latency_ms (default 2)
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::Outcome;
using simpang::sdk::PendingDelivery;

class AsyncSink : public simpang::sdk::Sink {
 public:
  explicit AsyncSink(Context& ctx)
      : latency_(ctx.config().value("latency_ms", 2)),
        path_(ctx.state_dir() / ctx.config().value("path", std::string())),
        stats_(ctx.state_dir() / ctx.config().value("stats", std::string())) {
    if (!ctx.config().contains("path") || !ctx.config().contains("stats")) {
      throw simpang::sdk::ConfigError("config.path and config.stats: required");
    }
    out_.open(path_, std::ios::out | std::ios::app);
    if (!out_) {
      throw simpang::sdk::ConfigError("config.path: cannot open " + path_.string());
    }
    ctx.set_delivery_window(ctx.config().value("window", 8u));
    sender_ = std::thread([this, &ctx] { run_sender(ctx); });
  }
  ~AsyncSink() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_cv_.notify_all();
    sender_.join();
  }

  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    const PendingDelivery delivery = ctx.defer();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(Request{delivery, event});
    }
    queued_cv_.notify_one();
    if (++pending_ > max_pending_) {
      max_pending_ = pending_;
      std::ofstream(stats_, std::ios::trunc) << "max_pending " << max_pending_ << "\n";
    }
    return Outcome::pending();
  }

 private:
  struct Request {
    PendingDelivery delivery;
    simpang::v1::Event event;
  };

  // The sender's thread: one request after the other, each taking `latency_`.
  void run_sender(Context& ctx) {
    while (true) {
      Request request;
      {
        std::unique_lock lock(mutex_);
        queued_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
          return;
        }
        request = std::move(queue_.front());
        queue_.pop_front();
      }
      std::this_thread::sleep_for(latency_);  // the remote end answering
      ctx.post([this, &ctx, request = std::move(request)] { completed(ctx, request); });
    }
  }

  // On the runtime thread, for each request the sender completed.
  void completed(Context& ctx, const Request& request) {
    --pending_;
    // A handle gone stale (the hub lost us and delivers the event again) settles nothing: the
    // redelivery gets written when its own request completes.
    if (ctx.settle(request.delivery, Outcome::ack())) {
      out_ << simpang::sdk::to_cloudevents_json(request.event) << std::endl;
    }
  }

  const std::chrono::milliseconds latency_;
  const std::filesystem::path path_;
  const std::filesystem::path stats_;
  std::ofstream out_;    // the runtime thread's
  int pending_ = 0;      // the runtime thread's
  int max_pending_ = 0;  // the runtime thread's
  std::mutex mutex_;
  std::condition_variable queued_cv_;
  std::deque<Request> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;      // GUARDED_BY(mutex_)
  std::thread sender_;         // last: started once everything it uses exists
};

}  // namespace

SIMPANG_PLUGIN(AsyncSink, "test-async-sink", "1.0.0",
               "settles every delivery later, from a thread of its own")
