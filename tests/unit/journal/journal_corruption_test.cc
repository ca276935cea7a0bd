// A damaged, foreign or too-new journal file is refused, with a message naming the file, what is
// wrong and how to recover; the hub must not start on it. A salvaged file is accepted.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "journal/journal.h"
#include "journal/journal_admin.h"
#include "journal/sqlite/sqlite_journal.h"
#include "journal_test_util.h"

namespace simpang::hub::testing {
namespace {

class JournalCorruptionTest : public ::testing::Test {
 protected:
  std::filesystem::path file() const { return dir_ / "journal.db"; }

  StatusOr<std::unique_ptr<Journal>> open() {
    JournalOptions options;
    options.file = file();
    return open_sqlite_journal(options, {"ledger"}, {"all"});
  }

  // A real journal of a few hundred KiB: events with 256-byte bodies, some acked. Closed cleanly,
  // so everything is in the main file (no -wal).
  void write_real_journal() {
    auto journal = open();
    ASSERT_TRUE(journal.ok()) << journal.status().message();
    (*journal)->start({});
    std::vector<NewEvent> events;
    for (int i = 0; i < 2000; ++i) {
      events.push_back(new_event("moodle://lms", std::to_string(i), {{0, 0}}));
    }
    auto appended = append_sync(**journal, batch_of("lms", std::move(events)));
    ASSERT_TRUE(appended.ok());
    (*journal)->stop();
    journal->reset();
    ASSERT_FALSE(std::filesystem::exists(file().string() + "-wal"));
    ASSERT_GT(std::filesystem::file_size(file()), 256u * 1024);
  }

  // Inverts one 4 KiB page in the middle of the file.
  void flip_middle_page() {
    const auto size = std::filesystem::file_size(file());
    std::fstream io(file(), std::ios::in | std::ios::out | std::ios::binary);
    const std::streamoff start = static_cast<std::streamoff>(size / 2 / 4096 * 4096);
    std::string block(4096, '\0');
    io.seekg(start);
    io.read(block.data(), static_cast<std::streamsize>(block.size()));
    for (char& c : block) {
      c = static_cast<char>(~c);
    }
    io.seekp(start);
    io.write(block.data(), static_cast<std::streamsize>(block.size()));
  }

  // Checks the refusal names the file, says `what`, and (for damage) says how to recover.
  // `admin_too`: open_sqlite_journal_admin refuses it as well (it skips quick_check, which reads
  // the whole file, so it refuses only what the header checks find).
  void expect_refused(const std::string& what, bool damaged = true, bool admin_too = true) {
    auto journal = open();
    ASSERT_FALSE(journal.ok()) << "opened a journal that should be refused (" << what << ")";
    const std::string message = journal.status().message();
    EXPECT_NE(message.find(file().string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    if (damaged) {
      EXPECT_NE(message.find("will not start on a damaged journal"), std::string::npos) << message;
      EXPECT_NE(message.find(".recover"), std::string::npos) << message;
      EXPECT_NE(message.find("-wal"), std::string::npos) << message;
      EXPECT_NE(message.find("undelivered events are lost"), std::string::npos) << message;
    }
    if (admin_too) {
      auto admin = open_sqlite_journal_admin(file());
      ASSERT_FALSE(admin.ok());
      EXPECT_NE(admin.status().message().find(what), std::string::npos) << admin.status().message();
    }
  }

  void sql(const std::string& statements) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  simpang::testing::TempDir dir_;
};

TEST_F(JournalCorruptionTest, GarbageBytesAreNotADatabase) {
  std::string garbage;
  for (int i = 0; i < 64 * 1024; ++i) {
    garbage.push_back(static_cast<char>((i * 7919) % 251));
  }
  simpang::testing::write_file(file(), garbage);
  expect_refused("is not a SQLite database");
}

TEST_F(JournalCorruptionTest, ATruncatedJournalIsRefused) {
  write_real_journal();
  std::filesystem::resize_file(file(), std::filesystem::file_size(file()) / 2);
  expect_refused("is truncated");
}

TEST_F(JournalCorruptionTest, ATruncatedPageBoundaryJournalIsRefused) {
  write_real_journal();
  const auto size = std::filesystem::file_size(file());
  std::filesystem::resize_file(file(), (size / 2) / 4096 * 4096);
  expect_refused("is truncated: it is");
}

TEST_F(JournalCorruptionTest, FlippedBytesInTheMiddleFailTheIntegrityCheck) {
  write_real_journal();
  flip_middle_page();
  expect_refused("failed its integrity check", /*damaged=*/true, /*admin_too=*/false);
}

TEST_F(JournalCorruptionTest, AnotherApplicationsDatabaseIsRefused) {
  sql("PRAGMA application_id = 1234; CREATE TABLE learners(id INTEGER PRIMARY KEY, name TEXT);");
  expect_refused("another application (application_id 0x000004d2)", /*damaged=*/false);
  // A plain SQLite database with tables and no application id is not a journal either.
  std::filesystem::remove(file());
  sql("CREATE TABLE learners(id INTEGER PRIMARY KEY, name TEXT);");
  expect_refused("not a Simpang journal", /*damaged=*/false);
}

TEST_F(JournalCorruptionTest, ANewerSchemaVersionIsRefused) {
  write_real_journal();
  sql("PRAGMA user_version = 2; UPDATE meta SET value = 2 WHERE key = 'schema_version';");
  expect_refused("schema version 2, written by a newer Simpang", /*damaged=*/false);
}

TEST_F(JournalCorruptionTest, AnUnknownOlderSchemaVersionIsRefused) {
  write_real_journal();
  sql("PRAGMA user_version = 0;");
  expect_refused("unknown schema version");
}

TEST_F(JournalCorruptionTest, AnEmptyFileIsANewJournal) {
  simpang::testing::write_file(file(), "");
  auto journal = open();
  EXPECT_TRUE(journal.ok()) << journal.status().message();
}

TEST_F(JournalCorruptionTest, ASalvagedJournalOpensWithItsRows) {
  write_real_journal();
  // What `sqlite3 OLD .recover | sqlite3 NEW` leaves: the rows, without the header's ids.
  sql("PRAGMA application_id = 0; PRAGMA user_version = 0;");
  auto journal = open();
  ASSERT_TRUE(journal.ok()) << journal.status().message();
  EXPECT_EQ(all_pending(**journal, 0).size(), 2000u);
}

// The salvage recipe of docs/journal.md for a sqlite3 shell without `.recover` (Debian 12's is
// built without the sqlite_dbpage table it needs): `.dump`, keeping what it could read although it
// ends with ROLLBACK after the damaged page.
TEST_F(JournalCorruptionTest, TheSalvageRecipeInTheMessageWorks) {
  if (std::system("command -v sqlite3 > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the sqlite3 command-line shell is not installed";
  }
  write_real_journal();
  flip_middle_page();
  const auto damaged = file().string() + ".damaged";
  std::filesystem::rename(file(), damaged);
  const std::string command =
      "sqlite3 '" + damaged +
      "' .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 '" + file().string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto journal = open();
  ASSERT_TRUE(journal.ok()) << journal.status().message();
  // Everything but the rows of the damaged page.
  const size_t salvaged = all_pending(**journal, 0).size();
  EXPECT_GT(salvaged, 1000u);
  EXPECT_LT(salvaged, 2000u);
}

}  // namespace
}  // namespace simpang::hub::testing
