// The SQLite journal's writer transaction: one group of appends, settlements and names, then due
// replay requests and maintenance, committed together (SqliteJournal::commit_group and what it
// calls). Runs on the writer thread only; see sqlite_journal_impl.h.
#include <algorithm>
#include <optional>
#include <string_view>

#include "journal/sqlite/schema.h"
#include "journal/sqlite/sqlite_journal_impl.h"

namespace simpang::hub::journal_internal {

void SqliteJournal::commit_group(std::vector<Op>& group, bool idle) {
  const auto clock_now = now();
  const int64_t now_ms = to_ms(clock_now);
  const auto steady = std::chrono::steady_clock::now();

  bool run_requests = false;
  if (idle || request_check_forced_ || steady - last_request_check_ >= kRequestCheckInterval) {
    last_request_check_ = steady;
    run_requests = requests_waiting();
  }
  const bool run_maintenance = steady - last_maintenance_ >= options_.maintenance_interval ||
                               appended_since_maintenance_ >= kPruneEveryAppended;
  if (group.empty() && !run_requests && !run_maintenance) {
    return;
  }

  const Counters counters_before = counters_;
  const int64_t replayed_rows_before = replayed_rows_;
  GroupDelta delta;
  std::vector<StatusOr<std::vector<AppendedEvent>>> results;
  std::vector<ExecutedRequest> executed;
  int64_t prune_cursor = prune_cursor_;
  new_instances_.clear();

  // Names added by add_names() in this group serve the appends after them at once, and are
  // published to the other threads once committed.
  std::shared_ptr<const Names> names = this->names();
  bool names_added = false;

  Status status = w_->begin.run();
  for (size_t i = 0; status.ok() && i < group.size(); ++i) {
    const Op& op = group[i];
    if (op.is_append) {
      results.emplace_back(std::vector<AppendedEvent>());
      status = append_batch(op.batch, *names, now_ms, results.back(), delta);
    } else if (op.names) {
      auto more = std::make_shared<Names>(*names);
      status = add_to(*more, *writer_db_, op.names->destinations, op.names->routes);
      names = std::move(more);
      names_added = true;
    } else {
      status = apply_updates(op.updates, now_ms, delta);
    }
  }
  if (status.ok() && run_requests) {
    auto done = run_queued_requests(*writer_db_, counters_, "hub", now_ms);
    if (done.ok()) {
      executed = std::move(*done);
      for (const auto& request : executed) {
        delta.replayed += request.count;
      }
      replayed_rows_ += static_cast<int64_t>(delta.replayed);
    } else {
      status = done.status();
    }
  }
  if (status.ok() && run_maintenance) {
    status = maintain(now_ms, delta, prune_cursor);
  }
  counters_.pending_events += delta.pending_events;
  if (status.ok() && !(counters_ == saved_counters_)) {
    status = save_counters(w_->update_meta, counters_);
  }
  if (status.ok()) {
    status = w_->commit.run();
  }

  if (!status.ok()) {
    // Nothing of this group is in the file: undo what memory assumed.
    (void)w_->rollback.run();
    dedup_.forget_from(counters_before.next_event_seq);
    counters_ = counters_before;
    replayed_rows_ = replayed_rows_before;
    std::fill(recent_.begin(), recent_.end(), RecentDelivery{});
    for (const auto& name : new_instances_) {
      instance_ids_.erase(name);
    }
    ++failed_commits_;
    for (Op& op : group) {
      if (op.is_append && op.done) {
        op.done(status);
      } else if (op.names) {
        op.names->done.set_value(status);
      }
    }
    return;
  }

  if (names_added) {
    publish(names);
  }

  saved_counters_ = counters_;
  prune_cursor_ = prune_cursor;
  dedup_.expire(now_ms - dedup_ms());
  if (run_requests) {
    requests_pending_ = false;
  }
  if (run_maintenance) {
    last_maintenance_ = steady;
    appended_since_maintenance_ = 0;
  } else {
    appended_since_maintenance_ += delta.appended;
  }
  events_.fetch_add(static_cast<uint64_t>(delta.events));  // wraps correctly for a negative delta
  pending_events_ = static_cast<uint64_t>(counters_.pending_events);
  appended_ += delta.appended;
  duplicates_ += delta.duplicates;
  updates_ += delta.updates;
  pruned_ += delta.pruned;
  replayed_ += delta.replayed;
  ++commits_;

  // Completions in submission order, after the commit made them true.
  size_t next_result = 0;
  for (Op& op : group) {
    if (op.is_append) {
      StatusOr<std::vector<AppendedEvent>>& result = results[next_result++];
      if (op.done) {
        op.done(std::move(result));
      }
    } else if (op.names) {
      op.names->done.set_value(Status::Ok());
    }
  }
  if (!executed.empty() && on_replay_) {
    ReplayNotice notice;
    for (const auto& request : executed) {
      notice.deliveries += request.count;
      for (int64_t id : request.destination_ids) {
        auto index = names->destination_index.find(id);
        if (index != names->destination_index.end() &&
            std::find(notice.destinations.begin(), notice.destinations.end(), index->second) ==
                notice.destinations.end()) {
          notice.destinations.push_back(index->second);
        }
      }
    }
    if (notice.deliveries > 0) {
      std::sort(notice.destinations.begin(), notice.destinations.end());
      on_replay_(std::move(notice));
    }
  }
}

StatusOr<int64_t> SqliteJournal::instance_id(const std::string& name) {
  auto found = instance_ids_.find(name);
  if (found != instance_ids_.end()) {
    return found->second;
  }
  auto id = ensure_name(*writer_db_, NameKind::kInstance, name);
  if (id.ok()) {
    instance_ids_.emplace(name, *id);
    new_instances_.push_back(name);
  }
  return id;
}

Status SqliteJournal::append_batch(const AppendBatch& batch, const Names& names, int64_t now_ms,
                                   StatusOr<std::vector<AppendedEvent>>& result,
                                   GroupDelta& delta) {
  for (const NewEvent& event : batch.events) {
    for (const NewDelivery& delivery : event.deliveries) {
      if (delivery.destination >= names.destination_ids.size() ||
          delivery.route >= names.route_ids.size()) {
        result = Status::Error("journal: event " + event.id + " of " + batch.publisher +
                               " names destination " + std::to_string(delivery.destination) +
                               " / route " + std::to_string(delivery.route) +
                               ", beyond the names given to open() and add_names()");
        return Status::Ok();
      }
    }
  }
  auto publisher = instance_id(batch.publisher);
  if (!publisher.ok()) {
    return publisher.status();
  }
  const int64_t window_ms = dedup_ms();
  const int64_t window_start = now_ms - window_ms;

  std::vector<AppendedEvent>& out = *result;
  out.resize(batch.events.size());
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const NewEvent& event = batch.events[i];
    AppendedEvent& appended = out[i];
    const uint64_t key = dedup_key(event.source, event.id);
    if (window_ms > 0) {
      if (const int64_t candidate = dedup_.find(key, window_start); candidate != 0) {
        // The hash matched: the stored strings decide (a row of this transaction counts too).
        Stmt& find = w_->find_event;
        auto row = find.bind(1, candidate).step();
        const bool duplicate = row.ok() && *row && find.column_text(0) == event.source &&
                               find.column_text(1) == event.id;
        find.reset();
        if (!row.ok()) {
          return row.status();
        }
        if (duplicate) {
          appended.duplicate = true;
          ++delta.duplicates;
          continue;
        }
      }
    }

    const int64_t seq = counters_.next_event_seq++;
    routing_.clear();
    for (const NewDelivery& delivery : event.deliveries) {
      append_routing(routing_, names.destination_ids[delivery.destination],
                     names.route_ids[delivery.route]);
    }
    const std::string_view body = event.body ? std::string_view(*event.body) : std::string_view();
    const auto siblings = static_cast<int64_t>(event.deliveries.size());
    SIMPANG_RETURN_IF_ERROR(w_->insert_event.bind(1, seq)
                                .bind(2, now_ms)
                                .bind(3, *publisher)
                                .bind(4, counters_.next_delivery_id)
                                .bind(5, siblings)
                                .bind_text(6, event.source)
                                .bind_text(7, event.id)
                                .bind_blob(8, routing_)
                                .bind_blob(9, body)
                                .run());
    if (window_ms > 0) {
      dedup_.add(key, seq, now_ms);
    }
    appended.seq = static_cast<uint64_t>(seq);
    appended.delivery_ids.reserve(event.deliveries.size());
    for (const NewDelivery& delivery : event.deliveries) {
      const int64_t id = counters_.next_delivery_id++;
      SIMPANG_RETURN_IF_ERROR(w_->insert_delivery.bind(1, id)
                                  .bind(2, seq)
                                  .bind(3, names.destination_ids[delivery.destination])
                                  .bind(4, names.route_ids[delivery.route])
                                  .bind(5, siblings)
                                  .run());
      appended.delivery_ids.push_back(static_cast<uint64_t>(id));
      recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)] =
          RecentDelivery{id, seq, static_cast<int32_t>(siblings), true};
    }
    ++delta.events;
    ++delta.appended;
    if (!event.deliveries.empty()) {
      ++delta.pending_events;
    }
  }
  for (const auto& [key, value] : batch.cursors) {
    SIMPANG_RETURN_IF_ERROR(w_->upsert_cursor.bind_text(1, batch.publisher)
                                .bind_text(2, key)
                                .bind_blob(3, value)
                                .bind(4, now_ms)
                                .run());
  }
  return Status::Ok();
}

Status SqliteJournal::note_not_pending(int64_t event_seq, int64_t id, int64_t siblings,
                                       GroupDelta& delta) {
  auto other = event_rows_->has_pending(event_seq, id, siblings, replayed_rows_ > 0);
  if (!other.ok()) {
    return other.status();
  }
  if (!*other) {
    --delta.pending_events;
  }
  return Status::Ok();
}

Status SqliteJournal::apply_updates(const std::vector<DeliveryUpdate>& updates, int64_t now_ms,
                                    GroupDelta& delta) {
  for (const DeliveryUpdate& update : updates) {
    if (update.kind == DeliveryUpdate::Kind::kRetry) {
      Stmt& retry = w_->retry;
      retry.bind(1, update.delivery_id).bind(2, update.attempts).bind(3, to_ms(update.not_before));
      if (update.error.empty()) {
        retry.bind_null(4);
      } else {
        retry.bind_text(4, update.error);
      }
      SIMPANG_RETURN_IF_ERROR(retry.run());
    } else {
      SIMPANG_RETURN_IF_ERROR(settle(update, now_ms, delta));
    }
    ++delta.updates;
  }
  return Status::Ok();
}

Status SqliteJournal::settle(const DeliveryUpdate& update, int64_t now_ms, GroupDelta& delta) {
  // An update for a row that is gone (acked twice, or replayed under a new id) or dead (only
  // `simpang dlq drop` removes a dead letter) changes nothing.
  const auto id = static_cast<int64_t>(update.delivery_id);
  auto row = find_pending(id);
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    return Status::Ok();
  }
  if (update.kind == DeliveryUpdate::Kind::kAcked) {
    SIMPANG_RETURN_IF_ERROR(w_->ack.bind(1, id).run());
  } else {
    SIMPANG_RETURN_IF_ERROR(w_->dead.bind(1, id)
                                .bind(2, update.attempts)
                                .bind_text(3, update.error)
                                .bind(4, now_ms)
                                .run());
  }
  // Both statements require state = 0: a row the remembered state was wrong about is not counted.
  if (sqlite3_changes(writer_db_->handle()) == 0) {
    return Status::Ok();
  }
  RecentDelivery& recent = recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)];
  if (recent.id == id) {
    recent.pending = false;
  }
  if (update.kind == DeliveryUpdate::Kind::kAcked && (*row)->siblings == 0) {
    --replayed_rows_;
  }
  return note_not_pending((*row)->event_seq, id, (*row)->siblings, delta);
}

StatusOr<std::optional<SqliteJournal::PendingRow>> SqliteJournal::find_pending(int64_t id) {
  const RecentDelivery& recent = recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)];
  if (recent.id == id) {
    return recent.pending ? std::optional(PendingRow{recent.event_seq, recent.siblings})
                          : std::nullopt;
  }
  Stmt& find = w_->find_delivery;
  auto row = find.bind(1, id).step();
  std::optional<PendingRow> pending;
  if (row.ok() && *row && find.column_int(1) == kPending) {
    pending = PendingRow{find.column_int(0), find.column_int(2)};
  }
  find.reset();
  if (!row.ok()) {
    return row.status();
  }
  return pending;
}

Status SqliteJournal::load_dedup_window(int64_t now_ms) {
  if (dedup_ms() <= 0) {
    return Status::Ok();
  }
  // Newest first, back to the start of the window; remembered oldest first.
  Stmt recent(*writer_db_,
              "SELECT seq, received_ms, source, event_id FROM events ORDER BY seq DESC LIMIT ?1");
  recent.bind(1, static_cast<int64_t>(options_.dedup_max_events));
  const int64_t since = now_ms - dedup_ms();
  struct Recent {
    uint64_t key;
    int64_t seq;
    int64_t received_ms;
  };
  std::vector<Recent> events;
  SIMPANG_RETURN_IF_ERROR(recent.for_each_row([&](const Stmt& row) {
    if (row.column_int(1) < since) {
      return false;
    }
    events.push_back(Recent{dedup_key(row.column_text(2), row.column_text(3)), row.column_int(0),
                            row.column_int(1)});
    return true;
  }));
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    dedup_.add(it->key, it->seq, it->received_ms);
  }
  return Status::Ok();
}

Status SqliteJournal::maintain(int64_t now_ms, GroupDelta& delta, int64_t& prune_cursor) {
  // Retention and the max_events bound. Events are scanned oldest first from where the last pass
  // stopped; an event goes when nothing (pending or dead) refers to it and it is past retention,
  // or when the table is over max_events. The scan ends at the first event still within
  // retention (younger ones follow) unless the bound forces pruning younger acked events too.
  const int64_t cutoff = now_ms - options_.retention.count();
  int64_t over = static_cast<int64_t>(events_.load()) + delta.events -
                 static_cast<int64_t>(options_.max_events);
  const int64_t budget =
      kPruneBaseBudget + 2 * static_cast<int64_t>(appended_since_maintenance_ + delta.appended);
  std::vector<int64_t> doomed;
  int64_t scanned = 0;
  int64_t last_seq = prune_cursor;
  bool reached_young = false;
  auto examine = [&](const Stmt& row) -> StatusOr<bool> {
    ++scanned;
    last_seq = row.column_int(0);
    if (row.column_int(1) >= cutoff && over <= 0) {
      reached_young = true;
      return false;
    }
    // It goes when nothing (pending or dead) refers to it any more. (Reading deliveries while the
    // scan of events is open is fine; nothing is deleted until the scan is over.)
    auto referenced =
        event_rows_->has_any(last_seq, row.column_int(2), row.column_int(3), replayed_rows_ > 0);
    if (!referenced.ok()) {
      return referenced.status();
    }
    if (!*referenced) {
      doomed.push_back(last_seq);
      --over;
    }
    return true;
  };
  SIMPANG_RETURN_IF_ERROR(
      w_->prune_scan.bind(1, prune_cursor).bind(2, budget).for_each_row(examine));
  // Deleted after the scan: a statement does not modify the table another one is iterating.
  for (int64_t seq : doomed) {
    SIMPANG_RETURN_IF_ERROR(w_->prune_delete.bind(1, seq).run());
  }
  delta.events -= static_cast<int64_t>(doomed.size());
  delta.pruned += doomed.size();
  // Next pass: from the start again once the old end is done, otherwise where this one stopped.
  prune_cursor = reached_young || scanned < budget ? 0 : last_seq;

  SIMPANG_RETURN_IF_ERROR(w_->prune_requests.bind(1, cutoff).run());
  replayed_rows_ = query_or_zero(w_->count_replayed);

  // Hand a slice of free pages back after a large prune (auto_vacuum = INCREMENTAL).
  const int64_t free_pages = query_or_zero(w_->freelist_count);
  if (free_pages > kVacuumMinFreePages && free_pages * 4 > query_or_zero(w_->page_count)) {
    SIMPANG_RETURN_IF_ERROR(
        writer_db_->exec("PRAGMA incremental_vacuum(" + std::to_string(kVacuumSlicePages) + ")"));
  }
  return Status::Ok();
}

}  // namespace simpang::hub::journal_internal
