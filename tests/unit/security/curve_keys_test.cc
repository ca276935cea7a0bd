#include "security/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>

#include "test_support.h"

namespace simpang::hub {
namespace {

using simpang::testing::read_file;
using simpang::testing::TempDir;

mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(CurveKeys, GeneratedPairsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
    ASSERT_TRUE(pair.ok()) << pair.status().message();
    EXPECT_TRUE(parse_curve_key(pair->public_key, "public").ok());
    EXPECT_TRUE(parse_curve_key(pair->secret_key, "secret").ok());
    EXPECT_NE(pair->public_key, pair->secret_key);
    EXPECT_TRUE(seen.insert(pair->public_key).second);
  }
}

TEST(CurveKeys, WritesTheSecretOwnerOnlyAndRefusesToOverwrite) {
  TempDir dir{"curve-keys"};
  StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(write_curve_key_pair(dir.path(), "acme", *pair).ok());
  EXPECT_EQ(mode_of(dir / "acme.key"), 0600u);
  EXPECT_EQ(mode_of(dir / "acme.pub"), 0644u);
  EXPECT_EQ(read_file(dir / "acme.key"), pair->secret_key + "\n");
  EXPECT_EQ(read_file(dir / "acme.pub"), pair->public_key + "\n");

  StatusOr<CurveKeyPair> other = generate_curve_key_pair();
  ASSERT_TRUE(other.ok());
  Status again = write_curve_key_pair(dir.path(), "acme", *other);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.message().find("acme.key exists"), std::string::npos) << again.message();
  EXPECT_EQ(read_file(dir / "acme.key"), pair->secret_key + "\n");  // untouched
}

TEST(CurveKeys, RefusesBadNamesAndMissingDirectories) {
  TempDir dir{"curve-keys"};
  StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
  ASSERT_TRUE(pair.ok());
  for (const char* name : {"", ".hidden", "a/b", "sp ace"}) {
    Status s = write_curve_key_pair(dir.path(), name, *pair);
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_NE(s.message().find("key name"), std::string::npos) << s.message();
  }
  Status missing = write_curve_key_pair(dir / "nope", "acme", *pair);
  EXPECT_NE(missing.message().find("does not exist"), std::string::npos) << missing.message();
}

TEST(CurveKeys, ParsingNamesWhatIsWrong) {
  StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
  ASSERT_TRUE(pair.ok());
  StatusOr<std::string> trimmed = parse_curve_key("  " + pair->public_key + "\n", "k");
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ(*trimmed, pair->public_key);

  StatusOr<std::string> short_key = parse_curve_key("abc", "partners[1].curve_public_key");
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().message(),
            "partners[1].curve_public_key: a CURVE key is 40 characters of Z85, got 3");

  std::string bad = pair->public_key;
  bad[7] = '~';
  StatusOr<std::string> bad_char = parse_curve_key(bad, "k");
  ASSERT_FALSE(bad_char.ok());
  EXPECT_EQ(bad_char.status().message(), "k: character 8 of the key is not in the Z85 alphabet");
}

TEST(CurveKeys, FingerprintsAreStableAndTellKeysApart) {
  // The all-zero key, whose Z85 text is fixed: its fingerprint is the SHA-256 of 32 zero bytes.
  const std::string zero_key(40, '0');
  EXPECT_EQ(curve_key_fingerprint(zero_key), "SHA256:66687aadf862bd77");
  StatusOr<CurveKeyPair> a = generate_curve_key_pair();
  StatusOr<CurveKeyPair> b = generate_curve_key_pair();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(curve_key_fingerprint(a->public_key), curve_key_fingerprint(a->public_key + "\n"));
  EXPECT_NE(curve_key_fingerprint(a->public_key), curve_key_fingerprint(b->public_key));
  EXPECT_EQ(curve_key_fingerprint("not a key"), "SHA256:invalid");
}

}  // namespace
}  // namespace simpang::hub
