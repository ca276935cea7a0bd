// The record an event is kept as after its one parse: attributes read back from the bytes where
// the fast scan placed them, copied where protobuf's full parse had to decide, and parsed once
// when paged back from the journal.
#include "core/event_record.h"

#include <gtest/gtest.h>

#include "core_test_util.h"

namespace simpang::hub {
namespace {

using test::make_event;
using test::serialized;

std::shared_ptr<const EventRecord> take_in(std::string bytes, bool* exact = nullptr) {
  simpang::v1::Event parsed;
  AttributeSpans spans;
  if (!parse_event_attributes(bytes.data(), bytes.size(), parsed, &spans)) {
    return nullptr;
  }
  if (exact != nullptr) {
    *exact = spans.exact;
  }
  return std::make_shared<const EventRecord>(std::move(bytes), parsed, spans);
}

TEST(EventRecordTest, ReadsTheAttributesFromTheBytesTheScanFound) {
  bool exact = false;
  const std::string bytes = serialized(make_event("id-1", "person.created", "alice"));
  auto record = take_in(bytes, &exact);
  ASSERT_TRUE(record);
  EXPECT_TRUE(exact);
  EXPECT_EQ(record->id(), "id-1");
  EXPECT_EQ(record->type(), "person.created");
  EXPECT_EQ(record->subject(), "alice");
  EXPECT_EQ(record->body(), bytes);
}

TEST(EventRecordTest, ARepeatedAttributeReadsAsItsLastValueAsProtobufDoes) {
  // Field 1 (id) again at the end: protobuf keeps the last one.
  auto record = take_in(serialized(make_event("first", "t.x", "s")) + std::string("\x0a\x04last"));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->id(), "last");
  EXPECT_EQ(record->subject(), "s");
}

TEST(EventRecordTest, AnUnusualEncodingKeepsCopiesOfWhatTheFullParseFound) {
  bool exact = true;
  // An unknown varint field (99): only protobuf's own parser decides, and it says nothing of
  // where the values lie.
  auto record =
      take_in(serialized(make_event("id-2", "t.y", "bob")) + std::string("\x98\x06\x01"), &exact);
  ASSERT_TRUE(record);
  EXPECT_FALSE(exact);
  EXPECT_EQ(record->id(), "id-2");
  EXPECT_EQ(record->type(), "t.y");
  EXPECT_EQ(record->subject(), "bob");
}

TEST(EventRecordTest, ARowFromTheJournalIsParsedOnceAndSharesItsBytes) {
  auto stored = std::make_shared<const std::string>(serialized(make_event("id-3", "t.z", "carol")));
  simpang::v1::Event scratch;
  EventRecord record(stored, scratch);
  EXPECT_EQ(&record.body(), stored.get()) << "no copy of the bytes";
  EXPECT_EQ(record.id(), "id-3");
  EXPECT_EQ(record.subject(), "carol");

  auto garbage = std::make_shared<const std::string>("\xff\xff");
  EventRecord unreadable(garbage, scratch);
  EXPECT_EQ(unreadable.subject(), "") << "still deliverable, with no attributes";
  EXPECT_EQ(unreadable.body(), *garbage);
}

TEST(EventRecordTest, TheJournalsPointerSharesTheRecord) {
  auto record = take_in(serialized(make_event("id-4")));
  ASSERT_TRUE(record);
  std::shared_ptr<const std::string> body = EventRecord::shared_body(record);
  EXPECT_EQ(body.get(), &record->body());
  EXPECT_EQ(record.use_count(), 2);
  std::weak_ptr<const EventRecord> weak = record;
  record.reset();
  EXPECT_FALSE(weak.expired()) << "the journal's pointer keeps the record alive";
  EXPECT_EQ(simpang::v1::Event().ParseFromString(*body), true);
}

}  // namespace
}  // namespace simpang::hub
