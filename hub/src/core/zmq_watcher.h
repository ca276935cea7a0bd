// Drives a ZeroMQ socket from a Boost.Asio io_context.
//
// ZeroMQ exposes one file descriptor per socket (ZMQ_FD) that signals, edge-triggered, that the
// socket's state may have changed. The watcher waits for that fd to become readable and then calls
// `on_ready`, which must receive while ZMQ_EVENTS shows ZMQ_POLLIN (readable_now() below). Because
// a send can make the socket readable without a new edge, code that sends outside `on_ready` must
// call poke() afterwards.
#pragma once

#include <functional>

#include "common/asio.h"

namespace simpang::hub {

class ZmqWatcher {
 public:
  // REQUIRES: `socket` outlives the watcher. Thread rule: the io_context's thread only.
  ZmqWatcher(boost::asio::io_context& io, void* socket, std::function<void()> on_ready);
  ~ZmqWatcher();
  ZmqWatcher(const ZmqWatcher&) = delete;
  ZmqWatcher& operator=(const ZmqWatcher&) = delete;

  // Starts waiting for readiness.
  void start();
  // Stops waiting; on_ready is not called after this returns.
  void stop();
  // Schedules an on_ready pass on the io_context (after sends that may have consumed an edge).
  void poke();

  // True when a message can be received now.
  bool readable_now() const;

 private:
  void wait();

  boost::asio::io_context& io_;
  void* socket_;
  // Wraps ZeroMQ's fd; released (never closed) on destruction, because the fd is ZeroMQ's.
  boost::asio::posix::stream_descriptor descriptor_;
  std::function<void()> on_ready_;
  bool stopped_ = true;
  bool poke_pending_ = false;
};

}  // namespace simpang::hub
