// The basket ledger: an append-only, durable record of everything the cart decides in one
// shopping session (basket actions, shopper prompts, audit flags), in one SQLite file in WAL
// mode. The basket is the fold of the ledger's actions (basket.h).
//
//   CS_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(data_dir + "/ledger.sqlite", session));
//   CS_ASSIGN_OR_RETURN(int64_t sequence, ledger->Append(action));  // durable once returned
//   ledger->basket().total_minor();
//
// Durability: every Append is one SQLite transaction committed with synchronous=FULL, so the
// WAL is fsynced before Append returns; what Append acknowledged survives a process crash and a
// power cut. An action the basket cannot take (removing what is not there) is rejected before
// anything is written. Opening an existing file replays it: the SQLite integrity check, the
// schema version, the session id, a SHA-256 chain over the records (so a changed, dropped or
// reordered record is found; only losing the last records together goes unseen, as a shorter
// valid ledger) and the fold itself must all pass, or Open fails with an error naming the file.
//
// One process, one thread: the ledger holds an exclusive lock on its file while open (a second
// opener gets Unavailable), and a Ledger object is not safe to share between threads.
// Schema, durability argument and fold rules: docs/basket.md.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "basket/basket.h"
#include "catalog/catalogue.h"
#include "core/basket_action.h"
#include "core/metrics.h"
#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cartsense::basket {

// Written once when the ledger is created.
struct LedgerSession {
  std::string session_id;         // the shopping session, e.g. "cart-07/2026-11-26T14:32:00Z"
  std::string catalogue_version;  // sha256 of the catalogue the prices come from
  std::string currency;           // ISO 4217

  friend bool operator==(const LedgerSession&, const LedgerSession&) = default;
};

using LedgerEntry = std::variant<BasketAction, ShopperPrompt, AuditFlag>;

struct LedgerRecord {
  int64_t sequence = 0;  // 1, 2, 3, ... in append order
  LedgerEntry entry;

  friend bool operator==(const LedgerRecord&, const LedgerRecord&) = default;
};

struct LedgerOptions {
  // When set, Append also rejects an action whose product is not in this catalogue or whose
  // unit price is not the catalogue's (CheckAgainstCatalogue). Not owned; must outlive the
  // ledger.
  const catalog::Catalogue* catalogue = nullptr;
  // Where the ledger's metrics go (nullptr: MetricsRegistry::Global()): append latency
  // cartsense_ledger_append_ms, cartsense_ledger_records_total{type}, rejected actions
  // cartsense_ledger_rejected_total, disk failures cartsense_ledger_write_failures_total.
  MetricsRegistry* metrics = nullptr;
};

class Ledger {
 public:
  // Creates the ledger at `path` for `session`, or reopens it after a restart or crash. An
  // existing file must belong to the same session id (FailedPrecondition otherwise); its stored
  // catalogue version and currency are kept (the prices recorded are the ones billed).
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path, const LedgerSession& session,
                                              LedgerOptions options = {});
  // Opens an existing ledger whatever its session (tools, audits). NotFound if there is none.
  static Result<std::unique_ptr<Ledger>> OpenExisting(const std::string& path,
                                                      LedgerOptions options = {});

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  // Appends and returns the record's sequence number once it is durable. Errors: the action
  // cannot apply to the basket or is malformed (nothing written); the disk failed (Unavailable;
  // the ledger then refuses further appends until reopened, because an fsync that failed leaves
  // the file's state unknown).
  Result<int64_t> Append(const BasketAction& action);
  Result<int64_t> Append(const ShopperPrompt& prompt);
  Result<int64_t> Append(const AuditFlag& flag);

  const std::string& path() const { return path_; }
  const LedgerSession& session() const { return session_; }
  // Every record, in sequence order (the ones replayed on open, then the ones appended).
  const std::vector<LedgerRecord>& records() const { return records_; }
  const Basket& basket() const { return basket_; }
  // What explains a product's line, in sequence order: its actions, the flags naming it and the
  // prompts that offered it as a candidate.
  std::vector<const LedgerRecord*> RecordsAbout(std::string_view product_id) const;
  // 0 for an empty ledger.
  int64_t last_sequence() const { return records_.empty() ? 0 : records_.back().sequence; }

 private:
  Ledger(std::string path, LedgerOptions options) : path_(std::move(path)), options_(options) {}
  static Result<std::unique_ptr<Ledger>> OpenImpl(const std::string& path,
                                                  const LedgerSession* expected,
                                                  LedgerOptions options);
  Status Configure(bool created);
  Status CreateSchema(const LedgerSession& session);
  Status ReadSchema();
  Status Replay();
  Result<int64_t> AppendEntry(LedgerEntry entry);
  // "ledger PATH: what: sqlite's message" with a code from SQLite's result code.
  Status SqliteError(int code, const std::string& what) const;
  void RegisterMetrics();

  std::string path_;
  LedgerOptions options_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  LedgerSession session_;
  std::vector<LedgerRecord> records_;
  std::string chain_sha256_;  // of the last record (or the session's genesis value)
  Basket basket_;
  bool failed_ = false;
  Histogram* append_ms_ = nullptr;
  Counter* rejected_ = nullptr;
  Counter* write_failures_ = nullptr;
  std::array<Counter*, 3> appended_{};  // per LedgerEntry alternative
};

}  // namespace cartsense::basket
