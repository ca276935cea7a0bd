// RAII wrappers over sqlite3* and sqlite3_stmt*; see sqlite_util.h.
#include "journal/sqlite/sqlite_util.h"

#include <utility>

namespace simpang::hub::journal_internal {

StatusOr<std::unique_ptr<Db>> Db::open(const std::filesystem::path& path, int flags) {
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path.string() + ": cannot open: ";
    message += handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close_v2(handle);  // a handle is returned even on failure (or nullptr: a no-op)
    return Status::Error(std::move(message));
  }
  sqlite3_extended_result_codes(handle, 1);
  return std::unique_ptr<Db>(new Db(handle, path));
}

Db::~Db() { sqlite3_close_v2(db_); }

Status Db::exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return error(text);
  }
  return Status::Ok();
}

StatusOr<int64_t> Db::query_int(std::string_view sql) {
  Stmt stmt(*this, sql);
  auto row = stmt.step();
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    return Status::Error(path_.string() + ": " + std::string(sql) + ": returned no row");
  }
  return stmt.column_int(0);
}

Status Db::error(std::string_view what) const {
  return Status::Error(path_.string() + ": " + std::string(what) + ": " + sqlite3_errmsg(db_) +
                       " (" + std::to_string(sqlite3_extended_errcode(db_)) + ")");
}

Stmt::Stmt(Db& db, std::string_view sql) : db_(&db) {
  prepare_rc_ = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                   SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (prepare_rc_ != SQLITE_OK) {
    prepare_error_ = db.error("preparing `" + std::string(sql) + "`").message();
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      prepare_rc_(other.prepare_rc_),
      prepare_error_(std::move(other.prepare_error_)) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    prepare_rc_ = other.prepare_rc_;
    prepare_error_ = std::move(other.prepare_error_);
  }
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind_text(int index, std::string_view value) {
  // An empty view may have a null data(), which SQLite would store as NULL rather than ''.
  sqlite3_bind_text(stmt_, index, value.empty() ? "" : value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view value) {
  // A zero-length blob must still be a blob, not NULL: give SQLite a valid pointer.
  sqlite3_bind_blob(stmt_, index, value.empty() ? "" : value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Status Stmt::step_error() const {
  if (stmt_ == nullptr) {
    return Status::Error(prepare_error_.empty() ? "statement not prepared" : prepare_error_);
  }
  return db_->error(std::string("running `") + sqlite3_sql(stmt_) + "`");
}

StatusOr<bool> Stmt::step() {
  if (stmt_ == nullptr) {
    return step_error();
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  Status status = step_error();
  sqlite3_reset(stmt_);
  return status;
}

Status Stmt::run() {
  if (stmt_ == nullptr) {
    return step_error();
  }
  int rc;
  do {
    rc = sqlite3_step(stmt_);
  } while (rc == SQLITE_ROW);
  Status status = rc == SQLITE_DONE ? Status::Ok() : step_error();
  reset();
  return status;
}

StatusOr<bool> Stmt::exists() {
  auto row = step();
  reset();
  return row;
}

void Stmt::reset() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
  }
}

std::string_view Stmt::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr
             ? std::string_view()
             : std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string_view Stmt::column_blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return blob == nullptr
             ? std::string_view()
             : std::string_view(static_cast<const char*>(blob), static_cast<size_t>(size));
}

Transaction::~Transaction() {
  if (open_) {
    // Nothing useful can be done with a failed rollback here: the connection is closing or the
    // next BEGIN reports the problem.
    (void)db_.exec("ROLLBACK");
  }
}

Status Transaction::begin() {
  SIMPANG_RETURN_IF_ERROR(db_.exec("BEGIN IMMEDIATE"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::commit() {
  SIMPANG_RETURN_IF_ERROR(db_.exec("COMMIT"));
  open_ = false;
  return Status::Ok();
}

}  // namespace simpang::hub::journal_internal
