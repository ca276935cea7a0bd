// hr-scim's store: one SQLite file (WAL, synchronous FULL) in the instance's state directory with
// every client's Users and Groups as JSON, and an outbox of the events their changes owe the hub.
//
// A change and its events go in together (commit(): one transaction), so after a kill -9 at any
// moment either both are there or neither is. The plugin then publishes the events and, once the
// hub has made them durable, deletes them from the outbox (mark_sent). Rows left in the outbox at
// start are published again with the same ids: the hub's journal de-duplicates them.
//
// Thread rule: one thread (the plugin's runtime thread) uses a store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simpang/base/status.h"
#include "simpang/v1/event.pb.h"

struct sqlite3;

namespace simpang::plugins::hr_scim {

// One resource. A value type.
struct ResourceRow {
  std::string client;  // the configured client (tenant) it belongs to
  std::string type;    // "User" or "Group"
  std::string id;
  std::string name_key;  // lower-cased userName (Users) or displayName (Groups)
  int64_t version = 0;   // meta.version is W/"<version>"
  std::string json;      // the resource as served, meta included (without meta.location)
};

struct OutboxRow {
  int64_t seq = 0;
  int64_t queued_ms = 0;
  simpang::v1::Event event;
};

class ScimStore {
 public:
  // Opens (creating it and its schema if needed) the store at `path`. Errors name the file.
  static StatusOr<std::unique_ptr<ScimStore>> open(const std::filesystem::path& path);
  ~ScimStore();
  ScimStore(const ScimStore&) = delete;
  ScimStore& operator=(const ScimStore&) = delete;

  StatusOr<std::optional<ResourceRow>> get(const std::string& client, const std::string& type,
                                           const std::string& id);
  // The resource of `type` whose name_key is `name_key`, if any.
  StatusOr<std::optional<ResourceRow>> by_name(const std::string& client, const std::string& type,
                                               const std::string& name_key);
  StatusOr<std::vector<ResourceRow>> all(const std::string& client, const std::string& type);

  // In one transaction: upserts `row` (or deletes it when `remove`) and queues `events`. Returns
  // the outbox sequence numbers of the events.
  StatusOr<std::vector<int64_t>> commit(const ResourceRow& row, bool remove,
                                        const std::vector<simpang::v1::Event>& events,
                                        int64_t now_ms);
  Status mark_sent(const std::vector<int64_t>& seqs);
  StatusOr<std::vector<OutboxRow>> outbox();

 private:
  ScimStore(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Status exec(const char* sql);
  Status error(const std::string& what) const;

  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace simpang::plugins::hr_scim
