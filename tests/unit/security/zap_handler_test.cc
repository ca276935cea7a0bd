// The ZAP handler over real CURVE connections on 127.0.0.1: a ROUTER as the partner door, DEALER
// clients with their own key pairs.
#include "security/zap_handler.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <zmq.h>

#include <string>

#include "security/curve_keys.h"
#include "test_support.h"

namespace simpang::hub {
namespace {

using namespace std::chrono_literals;
using simpang::testing::wait_for;

void set(void* socket, int option, const std::string& value) {
  ASSERT_EQ(zmq_setsockopt(socket, option, value.data(), value.size()), 0)
      << zmq_strerror(zmq_errno());
}

class ZapHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = zmq_ctx_new();
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    logger_ = std::make_shared<spdlog::logger>("zap-test", sink_);
    server_keys_ = *generate_curve_key_pair();
    acme_ = *generate_curve_key_pair();
    zap_ = std::make_unique<ZapHandler>(context_, logger_);
    ASSERT_TRUE(zap_->set_partner_keys({{acme_.public_key, "acme"}}).ok());
    ASSERT_TRUE(zap_->start().ok());

    server_ = zmq_socket(context_, ZMQ_ROUTER);
    const int on = 1;
    zmq_setsockopt(server_, ZMQ_CURVE_SERVER, &on, sizeof on);
    set(server_, ZMQ_CURVE_SECRETKEY, server_keys_.secret_key);
    ASSERT_EQ(zmq_bind(server_, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t size = sizeof endpoint;
    zmq_getsockopt(server_, ZMQ_LAST_ENDPOINT, endpoint, &size);
    endpoint_ = endpoint;
  }

  void TearDown() override {
    for (void* s : clients_) {
      zmq_close(s);
    }
    zmq_close(server_);
    zap_.reset();
    zmq_ctx_term(context_);
  }

  // A client that connects with `keys`, trusting `server_public_key`, and sends "hello".
  void connect_and_send(const CurveKeyPair& keys, const std::string& server_public_key) {
    void* client = zmq_socket(context_, ZMQ_DEALER);
    const int linger = 0;
    zmq_setsockopt(client, ZMQ_LINGER, &linger, sizeof linger);
    set(client, ZMQ_CURVE_SERVERKEY, server_public_key);
    set(client, ZMQ_CURVE_PUBLICKEY, keys.public_key);
    set(client, ZMQ_CURVE_SECRETKEY, keys.secret_key);
    ASSERT_EQ(zmq_connect(client, endpoint_.c_str()), 0);
    zmq_send(client, "hello", 5, ZMQ_DONTWAIT);
    clients_.push_back(client);
  }

  // The User-Id of the next message the door receives within `timeout`, or nullopt.
  std::optional<std::string> receive_user_id(std::chrono::milliseconds timeout) {
    zmq_pollitem_t item{server_, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, static_cast<long>(timeout.count())) <= 0) {
      return std::nullopt;
    }
    zmq_msg_t identity, body;
    zmq_msg_init(&identity);
    zmq_msg_init(&body);
    zmq_msg_recv(&identity, server_, 0);
    zmq_msg_recv(&body, server_, 0);
    const char* user = zmq_msg_gets(&body, "User-Id");
    std::optional<std::string> out = user ? std::optional<std::string>(user) : std::string();
    zmq_msg_close(&identity);
    zmq_msg_close(&body);
    return out;
  }

  std::string log_text() const {
    std::string all;
    for (const auto& line : sink_->last_formatted()) {
      all += line;
    }
    return all;
  }

  void* context_ = nullptr;
  void* server_ = nullptr;
  std::vector<void*> clients_;
  std::string endpoint_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> logger_;
  CurveKeyPair server_keys_;
  CurveKeyPair acme_;
  std::unique_ptr<ZapHandler> zap_;
};

TEST_F(ZapHandlerTest, AKnownKeyIsThePartnerItBelongsTo) {
  connect_and_send(acme_, server_keys_.public_key);
  EXPECT_EQ(receive_user_id(10s), std::optional<std::string>("acme"));
  EXPECT_EQ(zap_->accepted(), 1u);
  EXPECT_EQ(zap_->refused(), 0u);
}

TEST_F(ZapHandlerTest, AnUnknownKeyIsRefusedAndLoggedByFingerprint) {
  const CurveKeyPair stranger = *generate_curve_key_pair();
  connect_and_send(stranger, server_keys_.public_key);
  ASSERT_TRUE(wait_for([&] { return zap_->refused() >= 1; }, 10s));
  EXPECT_EQ(receive_user_id(300ms), std::nullopt);  // nothing of it reached the door
  const std::string log = log_text();
  EXPECT_NE(log.find(curve_key_fingerprint(stranger.public_key)), std::string::npos) << log;
  EXPECT_NE(log.find("belongs to no configured partner"), std::string::npos) << log;
  EXPECT_EQ(log.find(stranger.public_key), std::string::npos) << "the key itself is not logged";
}

TEST_F(ZapHandlerTest, AClientTrustingAnotherServerKeyNeverGetsIn) {
  const CurveKeyPair impostor_server = *generate_curve_key_pair();
  connect_and_send(acme_, impostor_server.public_key);
  EXPECT_EQ(receive_user_id(1s), std::nullopt);
  EXPECT_EQ(zap_->accepted(), 0u);
}

TEST_F(ZapHandlerTest, ARevokedKeyIsRefusedForNewConnections) {
  const CurveKeyPair other = *generate_curve_key_pair();
  ASSERT_TRUE(zap_->set_partner_keys({{other.public_key, "other"}}).ok());
  connect_and_send(acme_, server_keys_.public_key);
  ASSERT_TRUE(wait_for([&] { return zap_->refused() >= 1; }, 10s));
  EXPECT_EQ(receive_user_id(300ms), std::nullopt);
  connect_and_send(other, server_keys_.public_key);
  EXPECT_EQ(receive_user_id(10s), std::optional<std::string>("other"));
}

TEST_F(ZapHandlerTest, InvalidConfiguredKeysAreNamedAndTheRestApply) {
  Status s = zap_->set_partner_keys({{"short", "broken"}, {acme_.public_key, "acme"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("partner 'broken'"), std::string::npos) << s.message();
  connect_and_send(acme_, server_keys_.public_key);
  EXPECT_EQ(receive_user_id(10s), std::optional<std::string>("acme"));
}

TEST_F(ZapHandlerTest, ASecondHandlerInTheSameContextIsRefused) {
  ZapHandler second(context_, logger_);
  Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("inproc://zeromq.zap.01"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace simpang::hub
