// The xAPI value formats: each accepted and refused shape, from the specification's examples.
#include <gtest/gtest.h>

#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace {

TEST(XapiFormats, Iri) {
  EXPECT_TRUE(is_iri("http://adlnet.gov/expapi/verbs/completed"));
  EXPECT_TRUE(is_iri("urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0"));
  EXPECT_TRUE(is_iri("http://example.com/caf\xc3\xa9"));
  EXPECT_FALSE(is_iri("completed"));
  EXPECT_FALSE(is_iri("http://example.com/a b"));
  EXPECT_FALSE(is_iri(":nothing"));
  EXPECT_FALSE(is_iri("1http://x"));
  EXPECT_FALSE(is_iri("http:"));
  EXPECT_FALSE(is_iri("http://x/<y>"));
}

TEST(XapiFormats, UuidMailtoSha1) {
  EXPECT_TRUE(is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaa0"));
  EXPECT_TRUE(is_uuid("FD41C918-B88B-4B20-A0A5-A4C32391AAA0"));
  EXPECT_FALSE(is_uuid("fd41c918b88b4b20a0a5a4c32391aaa0"));
  EXPECT_FALSE(is_uuid("fd41c918-b88b-4b20-a0a5-a4c32391aaag"));
  EXPECT_TRUE(is_mailto("mailto:xapi@adlnet.gov"));
  EXPECT_FALSE(is_mailto("xapi@adlnet.gov"));
  EXPECT_FALSE(is_mailto("mailto:xapi"));
  EXPECT_FALSE(is_mailto("mailto:@adlnet.gov"));
  EXPECT_FALSE(is_mailto("mailto:a b@c"));
  EXPECT_TRUE(is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee9"));
  EXPECT_FALSE(is_sha1_hex("ebd31e95054c018b10727ccffd2ef2ec3a016ee"));
  EXPECT_FALSE(is_sha1_hex("zbd31e95054c018b10727ccffd2ef2ec3a016ee9"));
}

TEST(XapiFormats, LanguageTag) {
  for (const char* good : {"en-US", "en", "zh-Hant-TW", "de-CH-1996", "x-private", "ms"}) {
    EXPECT_TRUE(is_language_tag(good)) << good;
  }
  for (const char* bad : {"", "en_US", "e", "-en", "en-", "toolongtag", "en--US", "1e"}) {
    EXPECT_FALSE(is_language_tag(bad)) << bad;
  }
}

TEST(XapiFormats, Timestamp) {
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_timestamp("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00.123456789Z"), 123);
  EXPECT_EQ(parse_timestamp("2013-05-18T05:32:34.804+00:00"), 1368855154804);
  EXPECT_EQ(parse_timestamp("2013-05-18T05:32"), 1368855120000);
  EXPECT_EQ(parse_timestamp("2013-05-18T07:32:34+0200"), 1368855154000);
  EXPECT_FALSE(parse_timestamp("2013-05-18T05:32:34-00:00"));
  EXPECT_FALSE(parse_timestamp("2013-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_timestamp("2012-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2013-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2013-05-18 05:32:34Z"));
  EXPECT_FALSE(parse_timestamp("2013-05-18T05:32:34ZZ"));
  EXPECT_FALSE(parse_timestamp("2013-05-18T05:32:34."));
  EXPECT_FALSE(parse_timestamp("yesterday"));
  EXPECT_EQ(format_timestamp(1368855154804), "2013-05-18T05:32:34.804Z");
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
}

TEST(XapiFormats, Duration) {
  for (const char* good : {"PT1H30M", "P1Y2M3DT4H5M6.5S", "PT0S", "P3W", "P1D", "PT1.25S"}) {
    EXPECT_TRUE(is_duration(good)) << good;
  }
  for (const char* bad :
       {"P", "PT", "1H", "P1H", "PT1D", "P1DT", "PT1.5H30M", "P1M1Y", "PTS", "PT1.S"}) {
    EXPECT_FALSE(is_duration(bad)) << bad;
  }
}

TEST(XapiFormats, Version) {
  EXPECT_TRUE(is_version("1.0.0"));
  EXPECT_TRUE(is_version("1.0.3"));
  EXPECT_TRUE(is_version("1.0"));
  EXPECT_FALSE(is_version("1.1.0"));
  EXPECT_FALSE(is_version("0.95"));
  EXPECT_FALSE(is_version("1.0."));
  EXPECT_FALSE(is_version("2.0.0"));
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
