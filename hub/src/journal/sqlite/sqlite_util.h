// A thin RAII layer over the SQLite C API for the journal: a connection (Db) and a prepared
// statement (Stmt), with errors turned into Status values that name the file and the failing step.
// Deliberately small: it adds ownership and error text, not an abstraction over SQL.
//
//   auto db = Db::open(path, SQLITE_OPEN_READWRITE);
//   Stmt insert(*db, "INSERT INTO t(a, b) VALUES (?1, ?2)");
//   insert.bind(1, int64_t{7}).bind_text(2, name);
//   SIMPANG_RETURN_IF_ERROR(insert.run());
//   Stmt select(*db, "SELECT a FROM t WHERE b = ?1");
//   SIMPANG_RETURN_IF_ERROR(select.bind_text(1, name).for_each_row([&](const Stmt& row) {
//     values.push_back(row.column_int(0));
//   }));
//
// Thread rule: a Db and its Stmts are used by one thread at a time (connections are opened with
// SQLITE_OPEN_NOMUTEX, so SQLite does not lock for us).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "simpang/base/status.h"

namespace simpang::hub::journal_internal {

// One SQLite connection. OWNERSHIP: owns the sqlite3 handle; closes it on destruction (after every
// Stmt made from it has been destroyed: declare statements after the Db they use).
class Db {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_READWRITE, SQLITE_OPEN_CREATE...). NOMUTEX is added.
  static StatusOr<std::unique_ptr<Db>> open(const std::filesystem::path& path, int flags);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  // Runs a statement returning one integer (a PRAGMA, a COUNT).
  StatusOr<int64_t> query_int(std::string_view sql);
  // "FILE: WHAT: sqlite error text (code)". `what` says which step failed.
  Status error(std::string_view what) const;
  // The error code of the last failed call on this connection.
  int last_error_code() const { return sqlite3_extended_errcode(db_); }

 private:
  Db(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::filesystem::path path_;
};

// One prepared statement, reset after each use so it can be run again with new bindings.
// OWNERSHIP: owns the sqlite3_stmt; borrows the Db, which must outlive it.
// Bound text and blobs are SQLITE_STATIC: the caller keeps them alive until the statement is reset
// (run() resets; for row-returning use, reset() or destruction does). Bindings persist across runs
// (clearing them costs the hot statements time): bind every parameter each run, with bind_null()
// for an absent optional one.
class Stmt {
 public:
  Stmt() = default;
  // Prepares `sql` for repeated use. A preparation error is kept and returned by the first step.
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return stmt_ != nullptr; }

  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, uint64_t value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind(int index, uint32_t value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind_text(int index, std::string_view value);
  Stmt& bind_blob(int index, std::string_view value);
  Stmt& bind_null(int index);

  // Advances to the next row. Returns true for a row, false when done; errors as Status.
  StatusOr<bool> step();
  // Runs a statement that returns no rows to completion and resets it.
  Status run();
  // Steps through the rows, calling `on_row(const Stmt&)` for each (it reads the columns), then
  // resets the statement, which also ends its read transaction. `on_row` returns void (go on),
  // bool (false stops early), Status (an error stops, and is returned) or StatusOr<bool> (both).
  // A step error is returned. The one row loop of the journal: every query that reads rows goes
  // through it.
  template <typename OnRow>
  Status for_each_row(OnRow&& on_row);
  // Steps once and resets: whether the statement returns a row (an EXISTS-style probe).
  StatusOr<bool> exists();
  // Resets the statement so it can be run again; keeps the bindings.
  void reset();

  int64_t column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool column_is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  // The column's bytes; valid until the next step/reset.
  std::string_view column_text(int column) const;
  std::string_view column_blob(int column) const;

 private:
  Status step_error() const;
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int prepare_rc_ = SQLITE_OK;
  std::string prepare_error_;
};

template <typename OnRow>
Status Stmt::for_each_row(OnRow&& on_row) {
  using Result = std::invoke_result_t<OnRow&, const Stmt&>;
  for (;;) {
    auto row = step();
    if (!row.ok()) {
      return row.status();  // step() has reset the statement
    }
    if (!*row) {
      break;
    }
    if constexpr (std::is_void_v<Result>) {
      on_row(static_cast<const Stmt&>(*this));
    } else if constexpr (std::is_same_v<Result, bool>) {
      if (!on_row(static_cast<const Stmt&>(*this))) {
        break;
      }
    } else if constexpr (std::is_same_v<Result, Status>) {
      Status status = on_row(static_cast<const Stmt&>(*this));
      if (!status.ok()) {
        reset();
        return status;
      }
    } else {
      static_assert(std::is_same_v<Result, StatusOr<bool>>,
                    "on_row returns void, bool, Status or StatusOr<bool>");
      StatusOr<bool> go_on = on_row(static_cast<const Stmt&>(*this));
      if (!go_on.ok()) {
        reset();
        return go_on.status();
      }
      if (!*go_on) {
        break;
      }
    }
  }
  reset();
  return Status::Ok();
}

// Runs `sql` as a transaction bracket, rolling back on destruction unless commit() succeeded.
// Used where a failure in the middle must leave nothing behind.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  // BEGIN IMMEDIATE: takes the write lock now, waiting up to the connection's busy timeout.
  Status begin();
  Status commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace simpang::hub::journal_internal
