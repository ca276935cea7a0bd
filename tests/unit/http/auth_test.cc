// The auth helpers of the HTTP library: Basic and Bearer header parsing and checking, Standard
// Webhooks signing and verification (the specification's published vector, rotation, the replay
// window, tampering).
#include "simpang/http/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace simpang::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- Basic
// -----------------------------------------------------------------------------------------

TEST(BasicAuthorization, ParsesTheRfcExample) {
  auto c = parse_basic_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->user, "Aladdin");
  EXPECT_EQ(c->password, "open sesame");
}

TEST(BasicAuthorization, SchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  for (const char* v :
       {"basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "BASIC   QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "  Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==  "}) {
    auto c = parse_basic_authorization(v);
    ASSERT_TRUE(c.ok()) << v << ": " << c.status().message();
    EXPECT_EQ(c->user, "Aladdin") << v;
  }
}

TEST(BasicAuthorization, PasswordMayContainColonsAndBeEmpty) {
  auto c = parse_basic_authorization("Basic YTpiOmM=");  // a:b:c
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->user, "a");
  EXPECT_EQ(c->password, "b:c");
  auto empty = parse_basic_authorization("Basic Og==");  // ":"
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->user, "");
  EXPECT_EQ(empty->password, "");
}

TEST(BasicAuthorization, RejectsEachMalformedForm) {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "expected the Basic scheme, got 'Bearer'"},
      {"Basically QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "got 'Basically'"},
      {"Basic", "no credentials after the Basic scheme"},
      {"Basic    ", "no credentials"},
      {"Basic bm9jb2xvbg==", "no ':'"},                          // "nocolon"
      {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", "not valid base64"},  // padding missing
      {"Basic QWxh!GRpbjpvcGVuIHNlc2FtZQ==", "not valid base64"},
      {"Basic QWxhZGRp bjpvcGVuIHNlc2FtZQ==", "not valid base64"},
      {"Basic =QWxhZGRpbjpvcGVuIHNlc2FtZQ=", "not valid base64"},
      {"Basic QQ===", "not valid base64"},
      {"Basic Oh==", "not valid base64"},           // ":" spelled with its unused bits set
      {"Basic dXNlcgE6cHc=", "control character"},  // "user\x01:pw"
  };
  for (const Case& c : cases) {
    auto r = parse_basic_authorization(c.value);
    ASSERT_FALSE(r.ok()) << "'" << c.value << "' was accepted";
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.value;
  }
}

TEST(BasicAuth, AcceptsConfiguredCredentialsAndSaysWhich) {
  auto auth = BasicAuth::create({{"alice", "wonder"}, {"bob", "hunter2"}});
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  auto bob = auth->authenticate("Basic Ym9iOmh1bnRlcjI=");
  ASSERT_TRUE(bob.ok()) << bob.status().message();
  EXPECT_EQ(*bob, 1u);
  auto alice = auth->authenticate("basic YWxpY2U6d29uZGVy");
  ASSERT_TRUE(alice.ok()) << alice.status().message();
  EXPECT_EQ(*alice, 0u);
}

TEST(BasicAuth, RefusesWrongPasswordUnknownUserAndCrossedPairs) {
  auto auth = BasicAuth::create({{"alice", "wonder"}, {"bob", "hunter2"}});
  ASSERT_TRUE(auth.ok());
  // A known user with another user's password, a prefix of a password, an unknown user.
  const std::pair<const char*, const char*> cases[] = {{"alice:hunter2", "YWxpY2U6aHVudGVyMg=="},
                                                       {"bob:wonder", "Ym9iOndvbmRlcg=="},
                                                       {"carol:wonder", "Y2Fyb2w6d29uZGVy"},
                                                       {"alice:", "YWxpY2U6"},
                                                       {"alice:wonde", "YWxpY2U6d29uZGU="}};
  for (const auto& [plain, encoded] : cases) {
    auto r = auth->authenticate(std::string("Basic ") + encoded);
    ASSERT_FALSE(r.ok()) << plain << " was accepted";
    EXPECT_EQ(r.status().message(), "Basic auth: invalid user-id or password") << plain;
  }
}

TEST(BasicAuth, MalformedHeaderIsReportedAsSuch) {
  auto auth = BasicAuth::create({{"alice", "wonder"}});
  ASSERT_TRUE(auth.ok());
  auto r = auth->authenticate("Bearer abc");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("expected the Basic scheme"));
}

TEST(BasicAuth, RejectsImpossibleConfiguration) {
  EXPECT_FALSE(BasicAuth::create({}).ok());
  auto colon = BasicAuth::create({{"ok", "x"}, {"a:b", "x"}});
  ASSERT_FALSE(colon.ok());
  EXPECT_THAT(colon.status().message(), HasSubstr("credentials 1"));
  EXPECT_THAT(colon.status().message(), HasSubstr("contains ':'"));
}

// --- Bearer
// ----------------------------------------------------------------------------------------

TEST(BearerAuthorization, ParsesToken68) {
  for (const char* token : {"mF_9.B5f-4.1JqM", "abc~+/==", "x", "A0z9-._~+/"}) {
    auto t = parse_bearer_authorization(std::string("Bearer ") + token);
    ASSERT_TRUE(t.ok()) << token << ": " << t.status().message();
    EXPECT_EQ(*t, token);
  }
  auto lower = parse_bearer_authorization("bearer   abc");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(*lower, "abc");
}

TEST(BearerAuthorization, RejectsEachMalformedForm) {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"", "empty"},
      {"Basic abc", "expected the Bearer scheme, got 'Basic'"},
      {"Token abc", "got 'Token'"},
      {"Bearer", "no credentials after the Bearer scheme"},
      {"Bearer   ", "no credentials"},
      {"Bearer a b", "outside the token68"},
      {"Bearer a=b", "outside the token68"},
      {"Bearer ===", "outside the token68"},
      {"Bearer ab\"c", "outside the token68"},
      {"Bearer abc,def", "outside the token68"},
  };
  for (const Case& c : cases) {
    auto r = parse_bearer_authorization(c.value);
    ASSERT_FALSE(r.ok()) << "'" << c.value << "' was accepted";
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.value;
  }
}

TEST(BearerAuth, AcceptsAnyConfiguredTokenAndRefusesOthers) {
  auto auth = BearerAuth::create({"old-token", "new-token"});
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  auto old_one = auth->authenticate("Bearer old-token");
  ASSERT_TRUE(old_one.ok()) << old_one.status().message();
  EXPECT_EQ(*old_one, 0u);
  auto new_one = auth->authenticate("Bearer new-token");
  ASSERT_TRUE(new_one.ok());
  EXPECT_EQ(*new_one, 1u);
  for (const char* v : {"Bearer new-toke", "Bearer new-token2", "Bearer NEW-TOKEN", "Bearer x"}) {
    auto r = auth->authenticate(v);
    ASSERT_FALSE(r.ok()) << v << " was accepted";
    EXPECT_EQ(r.status().message(), "Bearer auth: invalid bearer token");
  }
  auto wrong_scheme = auth->authenticate("Basic new-token");
  ASSERT_FALSE(wrong_scheme.ok());
  EXPECT_THAT(wrong_scheme.status().message(), HasSubstr("expected the Bearer scheme"));
}

TEST(BearerAuth, RejectsImpossibleConfiguration) {
  EXPECT_FALSE(BearerAuth::create({}).ok());
  auto bad = BearerAuth::create({"fine", "has space"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("token 1"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("has space")));
  EXPECT_FALSE(BearerAuth::create({""}).ok());
}

// --- Standard Webhooks
// -----------------------------------------------------------------------------

// The test vector published with the Standard Webhooks reference libraries.
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr char kTimestampText[] = "1614265330";
constexpr char kBody[] = R"({"test": 2432232314})";
constexpr char kSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// Another valid secret (24 random bytes).
constexpr char kOtherSecret[] = "whsec_3q2+7wABAgMEBQYHCAkKCwwNDg8QERIT";

WebhookVerifierOptions at(int64_t unix_seconds,
                          std::chrono::seconds tolerance = std::chrono::minutes(5)) {
  WebhookVerifierOptions o;
  o.tolerance = tolerance;
  o.now = [unix_seconds] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
  };
  return o;
}

WebhookHeaders headers(std::string_view signature, std::string_view id = kId,
                       std::string_view timestamp = kTimestampText) {
  return {.id = id, .timestamp = timestamp, .signature = signature};
}

TEST(WebhookSecret, SignReproducesThePublishedVector) {
  auto secret = WebhookSecret::parse(kSecret);
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->sign(kId, kTimestamp, kBody), kSignature);
  // The prefix is optional, as in the reference libraries.
  auto bare = WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->sign(kId, kTimestamp, kBody), kSignature);
  EXPECT_EQ(bare->key().size(), 24u);
}

TEST(WebhookSecret, RejectsMalformedSecretsWithoutEchoingThem) {
  for (const char* s :
       {"whsec_", "", "whsec_not base64!", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec_===="}) {
    auto r = WebhookSecret::parse(s);
    ASSERT_FALSE(r.ok()) << "'" << s << "' was accepted";
    EXPECT_THAT(r.status().message(), HasSubstr("malformed webhook secret")) << s;
    if (std::string_view(s).size() > 6) {
      EXPECT_THAT(r.status().message(), Not(HasSubstr(std::string_view(s).substr(6))));
    }
  }
}

TEST(WebhookVerifier, VerifiesThePublishedVector) {
  auto v = WebhookVerifier::create({kSecret}, at(kTimestamp));
  ASSERT_TRUE(v.ok()) << v.status().message();
  const Status s = v->verify(headers(kSignature), kBody);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(WebhookVerifier, RoundTripsWhatSignProduces) {
  auto secret = WebhookSecret::parse(kOtherSecret);
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  const std::string body = std::string("binary\0body\xff", 12);
  const std::string sig = secret->sign("evt-1", 1700000000, body);
  auto v = WebhookVerifier::create({kOtherSecret}, at(1700000000));
  ASSERT_TRUE(v.ok());
  const Status s = v->verify(headers(sig, "evt-1", "1700000000"), body);
  EXPECT_TRUE(s.ok()) << s.message();
  // An empty body signs and verifies too.
  const std::string empty_sig = secret->sign("evt-2", 1700000000, "");
  EXPECT_TRUE(v->verify(headers(empty_sig, "evt-2", "1700000000"), "").ok());
}

TEST(WebhookVerifier, AnySecretMatchesAnyV1EntryForRotation) {
  auto old_secret = WebhookSecret::parse(kSecret);
  auto new_secret = WebhookSecret::parse(kOtherSecret);
  ASSERT_TRUE(old_secret.ok() && new_secret.ok());
  const std::string by_old = old_secret->sign(kId, kTimestamp, kBody);
  const std::string by_new = new_secret->sign(kId, kTimestamp, kBody);

  // The receiver knows both secrets, the sender signs with either one.
  auto both = WebhookVerifier::create({kSecret, kOtherSecret}, at(kTimestamp));
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->verify(headers(by_old), kBody).ok());
  EXPECT_TRUE(both->verify(headers(by_new), kBody).ok());

  // The sender signs with both secrets, the receiver knows only one (either): any entry may match,
  // whatever its position, and entries of other versions are skipped.
  const std::string several = "v1a,ignored-asymmetric " + by_new + " " + by_old;
  auto only_old = WebhookVerifier::create({kSecret}, at(kTimestamp));
  auto only_new = WebhookVerifier::create({kOtherSecret}, at(kTimestamp));
  ASSERT_TRUE(only_old.ok() && only_new.ok());
  EXPECT_TRUE(only_old->verify(headers(several), kBody).ok());
  EXPECT_TRUE(only_new->verify(headers(several), kBody).ok());
  EXPECT_TRUE(only_old->verify(headers("v1,bm9wZQ== " + by_old), kBody).ok());

  // A secret no longer configured verifies nothing.
  const Status s = only_new->verify(headers(by_old), kBody);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("does not match"));
}

TEST(WebhookVerifier, ToleranceHoldsOnBothSides) {
  const auto tolerance = std::chrono::seconds(60);
  struct Case {
    int64_t now;
    const char* message;  // nullptr: accepted
  };
  const Case cases[] = {
      {kTimestamp, nullptr},
      {kTimestamp + 60, nullptr},
      {kTimestamp - 60, nullptr},
      {kTimestamp + 61, "webhook-timestamp is 61 s too old (tolerance 60 s)"},
      {kTimestamp - 61, "webhook-timestamp is 61 s in the future (tolerance 60 s)"},
      {kTimestamp + 86400, "86400 s too old"},
  };
  for (const Case& c : cases) {
    auto v = WebhookVerifier::create({kSecret}, at(c.now, tolerance));
    ASSERT_TRUE(v.ok());
    const Status s = v->verify(headers(kSignature), kBody);
    if (c.message == nullptr) {
      EXPECT_TRUE(s.ok()) << "now " << c.now << ": " << s.message();
    } else {
      ASSERT_FALSE(s.ok()) << "now " << c.now << " was accepted";
      EXPECT_EQ(s.message().find(c.message) != std::string::npos, true) << s.message();
    }
  }
  // The default tolerance is five minutes.
  auto def = WebhookVerifier::create({kSecret}, at(kTimestamp + 300));
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(def->verify(headers(kSignature), kBody).ok());
  auto def_late = WebhookVerifier::create({kSecret}, at(kTimestamp + 301));
  ASSERT_TRUE(def_late.ok());
  EXPECT_THAT(def_late->verify(headers(kSignature), kBody).message(),
              HasSubstr("1 s too old (tolerance 300 s)"));
}

TEST(WebhookVerifier, TamperingWithBodyIdOrTimestampFails) {
  auto v = WebhookVerifier::create({kSecret}, at(kTimestamp));
  ASSERT_TRUE(v.ok());
  const std::string mismatch = "webhook-signature does not match";
  EXPECT_THAT(v->verify(headers(kSignature), R"({"test": 2432232315})").message(),
              HasSubstr(mismatch));
  EXPECT_THAT(v->verify(headers(kSignature), std::string(kBody) + " ").message(),
              HasSubstr(mismatch));
  EXPECT_THAT(v->verify(headers(kSignature, "msg_p5jXN8AQM9LWM0D4loKWxJeK"), kBody).message(),
              HasSubstr(mismatch));
  // A timestamp moved by a second, still inside the window, no longer matches the signature.
  EXPECT_THAT(v->verify(headers(kSignature, kId, "1614265331"), kBody).message(),
              HasSubstr(mismatch));
  // A tampered signature (one character changed) fails the same way.
  EXPECT_THAT(
      v->verify(headers("v1,g0hM9SsE+OTPJTGt/tmIKtSzZlE3uFJELVlNIOLJ1OE="), kBody).message(),
      HasSubstr(mismatch));
  // So does a non-canonical spelling of the right MAC (unused low bits of the last character
  // set): every MAC has exactly one accepted encoding.
  EXPECT_THAT(
      v->verify(headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF="), kBody).message(),
      HasSubstr(mismatch));
  // The id and the timestamp are delimited by ".", so moving a digit from one to the other (the
  // timestamp still inside the window) changes the signed content.
  auto wide = WebhookVerifier::create({kSecret}, at(614265330));
  ASSERT_TRUE(wide.ok());
  EXPECT_THAT(wide->verify(headers(kSignature, "msg_p5jXN8AQM9LWM0D4loKWxJek1", "614265330"), kBody)
                  .message(),
              HasSubstr(mismatch));
}

TEST(WebhookVerifier, EachMissingOrMalformedHeaderIsNamed) {
  auto v = WebhookVerifier::create({kSecret}, at(kTimestamp));
  ASSERT_TRUE(v.ok());
  WebhookHeaders h = headers(kSignature);
  h.id.reset();
  EXPECT_EQ(v->verify(h, kBody).message(), "missing header webhook-id");
  h = headers(kSignature, "");
  EXPECT_EQ(v->verify(h, kBody).message(), "missing header webhook-id");
  h = headers(kSignature);
  h.timestamp.reset();
  EXPECT_EQ(v->verify(h, kBody).message(), "missing header webhook-timestamp");
  h = headers(kSignature);
  h.signature.reset();
  EXPECT_EQ(v->verify(h, kBody).message(), "missing header webhook-signature");

  for (const char* ts : {"16142653.30", "-1614265330", "+1614265330", "1614265330 ", "abc",
                         "99999999999999999999999"}) {
    const Status s = v->verify(headers(kSignature, kId, ts), kBody);
    ASSERT_FALSE(s.ok()) << ts;
    EXPECT_THAT(s.message(), HasSubstr("is not an integer number of seconds")) << ts;
  }

  for (const char* sig : {"v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "g0hM9SsE", "v1a,xyz",
                          "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "   "}) {
    EXPECT_EQ(v->verify(headers(sig), kBody).message(), "webhook-signature has no v1 signature")
        << sig;
  }
  // v1 entries that are not base64 or not 32 bytes never match.
  for (const char* sig :
       {"v1,", "v1,!!!!", "v1,bm9wZQ==", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"}) {
    EXPECT_THAT(v->verify(headers(sig), kBody).message(), HasSubstr("does not match")) << sig;
  }
}

TEST(WebhookVerifier, RejectsImpossibleConfiguration) {
  EXPECT_FALSE(WebhookVerifier::create({}).ok());
  auto bad = WebhookVerifier::create({kSecret, "whsec_@@@@"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("secret 1: malformed webhook secret"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("@@@@")));
  WebhookVerifierOptions negative;
  negative.tolerance = std::chrono::seconds(-1);
  EXPECT_FALSE(WebhookVerifier::create({kSecret}, negative).ok());
}

TEST(WebhookVerifier, UsesTheSystemClockByDefault) {
  auto secret = WebhookSecret::parse(kSecret);
  ASSERT_TRUE(secret.ok());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string ts = std::to_string(now);
  auto v = WebhookVerifier::create({kSecret});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->verify(headers(secret->sign(kId, now, kBody), kId, ts), kBody).ok());
  // The published vector is from 2021: far outside the window of a real clock.
  EXPECT_THAT(v->verify(headers(kSignature), kBody).message(), HasSubstr("s too old"));
}

}  // namespace
}  // namespace simpang::http
