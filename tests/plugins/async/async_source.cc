// test-async-source: a stand-in for a connector that answers clients of its own (an HTTP ingress).
// A thread of its own plays the clients: it sends `groups` requests of `group_size` events, one
// after the other. Each request is handed to the runtime thread with post(), published there as
// one group, and answered only when publish() reports what the hub did with it. Every answer is
// written to `answers` as one line, "<group> durable", "<group> rejected <index>,<index>..." or
// "<group> timed_out <why>", so a test can compare what was answered with what arrived.
//
// config: answers (path, required; relative to the state directory), groups (default 10),
//         group_size (default 700: more than one wire batch), deadline_ms (default 10000)
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::PublishResult;

class AsyncSource : public simpang::sdk::Source {
 public:
  explicit AsyncSource(Context& ctx)
      : groups_(ctx.config().value("groups", 10)),
        group_size_(ctx.config().value("group_size", 700)),
        deadline_(ctx.config().value("deadline_ms", 10000)) {
    const std::string answers = ctx.config().value("answers", std::string());
    if (answers.empty()) {
      throw simpang::sdk::ConfigError("config.answers: required");
    }
    const auto path = ctx.state_dir() / answers;  // a relative path: in the state directory
    answers_.open(path, std::ios::out | std::ios::app);
    if (!answers_) {
      throw simpang::sdk::ConfigError("config.answers: cannot open " + path.string());
    }
  }
  // The clients' thread must be gone before the Context is: join it here too, in case the
  // instance was destroyed without being stopped.
  ~AsyncSource() override { stop_clients(); }

  void on_start(Context& ctx) override {
    clients_ = std::thread([this, &ctx] { run_clients(ctx); });
  }
  // Never wait here for anything the runtime thread would have to do: this is that thread.
  void on_stop(Context& ctx) override { stop_clients(); }

 private:
  // The clients' thread: one request at a time, each waiting for its answer.
  void run_clients(Context& ctx) {
    for (int group = 0; group < groups_; ++group) {
      std::vector<simpang::v1::Event> events;
      for (int i = 0; i < group_size_; ++i) {
        simpang::v1::Event& event = events.emplace_back();
        event.set_id(ctx.instance_name() + "-" + std::to_string(group) + "-" + std::to_string(i));
        event.set_source("/test/" + ctx.instance_name());
        event.set_type("test.async.created");
        event.set_text_data("{\"group\":" + std::to_string(group) + "}");
      }
      // From here on the request is the runtime thread's; this thread only waits for its answer.
      ctx.post([this, &ctx, group, events = std::move(events)]() mutable {
        const auto status =
            ctx.publish(std::move(events), deadline_,
                        [this, group](const PublishResult& result) { answer(group, result); });
        if (!status.ok()) {
          answer(group, PublishResult::timed_out("not published: " + status.message()));
        }
      });
      std::unique_lock lock(mutex_);
      answered_cv_.wait(lock, [&] { return stopping_ || answered_ > group; });
      if (stopping_) {
        return;
      }
    }
  }

  // On the runtime thread: what an HTTP endpoint would turn into its response.
  void answer(int group, const PublishResult& result) {
    answers_ << group;
    switch (result.kind()) {
      case PublishResult::Kind::kDurable:
        answers_ << " durable";
        break;
      case PublishResult::Kind::kRejected:
        answers_ << " rejected";
        for (const auto& rejection : result.rejections()) {
          answers_ << (&rejection == &result.rejections().front() ? " " : ",") << rejection.index;
        }
        break;
      case PublishResult::Kind::kTimedOut:
        answers_ << " timed_out " << result.message();
        break;
    }
    answers_ << std::endl;
    {
      std::lock_guard lock(mutex_);
      ++answered_;
    }
    answered_cv_.notify_all();
  }

  void stop_clients() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    answered_cv_.notify_all();
    if (clients_.joinable()) {
      clients_.join();
    }
  }

  const int groups_;
  const int group_size_;
  const std::chrono::milliseconds deadline_;
  std::ofstream answers_;  // the runtime thread's
  std::thread clients_;
  std::mutex mutex_;
  std::condition_variable answered_cv_;
  int answered_ = 0;       // GUARDED_BY(mutex_)
  bool stopping_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace

SIMPANG_PLUGIN(AsyncSource, "test-async-source", "1.0.0",
               "publishes groups from a thread of its own and writes down each answer")
