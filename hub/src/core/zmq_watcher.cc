#include "core/zmq_watcher.h"

#include <zmq.h>

#include <stdexcept>
#include <string>

namespace simpang::hub {
namespace {

int socket_fd(void* socket) {
  int fd = -1;
  size_t size = sizeof(fd);
  if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0) {
    throw std::runtime_error(std::string("zmq_getsockopt(ZMQ_FD): ") + zmq_strerror(zmq_errno()));
  }
  return fd;
}

}  // namespace

ZmqWatcher::ZmqWatcher(boost::asio::io_context& io, void* socket, std::function<void()> on_ready)
    : io_(io), socket_(socket), descriptor_(io, socket_fd(socket)), on_ready_(std::move(on_ready)) {}

ZmqWatcher::~ZmqWatcher() {
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
  descriptor_.release();
}

void ZmqWatcher::start() {
  stopped_ = false;
  poke();  // messages may already be waiting, and their edge may have passed
  wait();
}

void ZmqWatcher::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

void ZmqWatcher::poke() {
  if (poke_pending_ || stopped_) {
    return;
  }
  poke_pending_ = true;
  boost::asio::post(io_, [this] {
    poke_pending_ = false;
    if (!stopped_) {
      on_ready_();
    }
  });
}

bool ZmqWatcher::readable_now() const {
  int events = 0;
  size_t size = sizeof(events);
  if (zmq_getsockopt(socket_, ZMQ_EVENTS, &events, &size) != 0) {
    return false;
  }
  return (events & ZMQ_POLLIN) != 0;
}

void ZmqWatcher::wait() {
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                           if (ec || stopped_) {
                             return;
                           }
                           on_ready_();
                           wait();
                         });
}

}  // namespace simpang::hub
