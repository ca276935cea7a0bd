// The journal's on-disk format: the schema, the checks that refuse a damaged or foreign file, and
// the small encodings stored in it (the de-duplication hash, the per-event routing list). Shared by
// the hub's Journal and the operator's JournalAdmin, so both read the file the same way.
//
// Thread rule: free functions over a Db passed in; they follow the Db's rule (one thread at a
// time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "journal/journal_options.h"
#include "journal/sqlite/sqlite_util.h"
#include "simpang/base/status.h"

namespace simpang::hub::journal_internal {

// PRAGMA application_id of every Simpang journal: "SMPJ". Tells a journal from any other SQLite
// file (the talent ledger's database, for one) before the hub writes into it.
inline constexpr int32_t kApplicationId = 0x534D504A;
// PRAGMA user_version and meta.schema_version. Bump with a migration when the schema changes.
inline constexpr int64_t kSchemaVersion = 1;
// meta.application, so a file salvaged with `sqlite3 .recover` (which drops the application_id)
// is still recognised as a journal.
inline constexpr std::string_view kApplicationName = "simpang-journal";

// names.kind
enum class NameKind : int64_t { kDestination = 1, kRoute = 2, kInstance = 3 };
// deliveries.state
inline constexpr int64_t kPending = 0;
inline constexpr int64_t kDead = 1;

// The recovery advice every "damaged journal" error ends with.
std::string damaged_message(const std::filesystem::path& file, std::string_view what);

// Checks a file before SQLite opens it, so a damaged file gets a precise diagnosis rather than
// SQLite's generic one: not a database (wrong header), truncated (shorter than its header says).
// A missing or empty file passes (it is a new journal).
Status precheck_file(const std::filesystem::path& file);

// Opens a connection for the journal: busy timeout, the SQL functions the schema's queries use
// (simpang_event_type(body), simpang_route_for(routing, destination)).
StatusOr<std::unique_ptr<Db>> open_connection(const std::filesystem::path& file, bool create);

// Makes `db` a journal of the current schema: creates the schema on a new file (when `create`),
// otherwise checks application id and schema version and, with `verify`, runs PRAGMA quick_check.
// Refusals name the file, the problem and the way to recover.
Status prepare_schema(Db& db, bool create, bool verify);

// Write-side settings of the hub's writer connection: WAL, synchronous level, cache, and a long
// busy timeout (the checkpointer may hold it back while the WAL restarts).
Status configure_writer(Db& db, JournalSync sync);

// 64-bit FNV-1a of source and id, the de-duplication key. A collision only costs a string
// comparison.
uint64_t dedup_key(std::string_view source, std::string_view id);

// events.routing: where the event was routed, as varint pairs (destination name id, route name id),
// so `simpang replay --to DEST` re-delivers only what DEST was meant to receive, via its route.
void append_routing(std::string& out, int64_t destination_id, int64_t route_id);

// Milliseconds since the Unix epoch, as stored.
int64_t to_ms(std::chrono::system_clock::time_point time);
std::chrono::system_clock::time_point from_ms(int64_t ms);

}  // namespace simpang::hub::journal_internal
