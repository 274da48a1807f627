#include "basket/ledger.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include "core/checksum.h"
#include "core/text.h"

namespace cartsense::basket {
namespace {

constexpr int64_t kSchemaVersion = 1;

// One table per concern: the schema version (one row), the session (one row), and the records.
// STRICT tables make SQLite refuse a value of the wrong type instead of converting it.
constexpr const char* kCreateSchema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
CREATE TABLE session (
  session_id TEXT NOT NULL,
  catalogue_version TEXT NOT NULL,
  currency TEXT NOT NULL
) STRICT;
CREATE TABLE ledger (
  sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
  record_type TEXT NOT NULL CHECK (record_type IN ('action', 'prompt', 'flag')),
  kind TEXT NOT NULL,
  event_time_ns INTEGER NOT NULL,
  product_id TEXT,
  priced_by TEXT,
  quantity INTEGER,
  net_weight_g REAL,
  net_weight_sigma_g REAL,
  unit_price_minor INTEGER,
  probability REAL NOT NULL,
  evidence_ids TEXT NOT NULL,
  prompt_id TEXT,
  candidate_product_ids TEXT,
  message TEXT,
  chain_sha256 TEXT NOT NULL
) STRICT;
)sql";

constexpr const char* kColumns =
    "sequence, record_type, kind, event_time_ns, product_id, priced_by, quantity, net_weight_g, "
    "net_weight_sigma_g, unit_price_minor, probability, evidence_ids, prompt_id, "
    "candidate_product_ids, message, chain_sha256";

// Names stored in the `kind` and `priced_by` columns.
constexpr std::array<std::pair<BasketActionKind, std::string_view>, 4> kActionKinds = {{
    {BasketActionKind::kAdd, "add"},
    {BasketActionKind::kRemove, "remove"},
    {BasketActionKind::kChangeQuantity, "change_quantity"},
    {BasketActionKind::kSetWeight, "set_weight"},
}};
constexpr std::array<std::pair<PricedBy, std::string_view>, 2> kPricedBy = {{
    {PricedBy::kUnit, "unit"},
    {PricedBy::kWeight, "weight"},
}};
constexpr std::array<std::pair<PromptKind, std::string_view>, 6> kPromptKinds = {{
    {PromptKind::kPleaseScan, "please_scan"},
    {PromptKind::kChooseProduct, "choose_product"},
    {PromptKind::kConfirmRemoval, "confirm_removal"},
    {PromptKind::kPlaceScannedItem, "place_scanned_item"},
    {PromptKind::kRemoveUnknownItem, "remove_unknown_item"},
    {PromptKind::kWeighAlone, "weigh_alone"},
}};
constexpr std::array<std::pair<AuditFlagKind, std::string_view>, 6> kFlagKinds = {{
    {AuditFlagKind::kUnscannedItem, "unscanned_item"},
    {AuditFlagKind::kTicketSwitch, "ticket_switch"},
    {AuditFlagKind::kScanWithoutPlacement, "scan_without_placement"},
    {AuditFlagKind::kUnknownItem, "unknown_item"},
    {AuditFlagKind::kWeightMismatch, "weight_mismatch"},
    {AuditFlagKind::kDegradedMode, "degraded_mode"},
}};

template <typename Enum, std::size_t N>
std::string NameOf(Enum value, const std::array<std::pair<Enum, std::string_view>, N>& names) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return std::string(name);
  }
  return "unknown-" + std::to_string(static_cast<int>(value));
}

template <typename Enum, std::size_t N>
std::optional<Enum> ParseName(std::string_view text,
                              const std::array<std::pair<Enum, std::string_view>, N>& names) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

// One ledger row as stored; nullopt is SQL NULL.
struct Row {
  int64_t sequence = 0;
  std::string record_type;
  std::string kind;
  int64_t event_time_ns = 0;
  std::optional<std::string> product_id;
  std::optional<std::string> priced_by;
  std::optional<int64_t> quantity;
  std::optional<double> net_weight_g;
  std::optional<double> net_weight_sigma_g;
  std::optional<int64_t> unit_price_minor;
  double probability = 0;
  std::string evidence_ids;
  std::optional<std::string> prompt_id;
  std::optional<std::string> candidate_product_ids;
  std::optional<std::string> message;
  std::string chain_sha256;
};

std::string ToJson(const std::vector<std::string>& ids) { return nlohmann::json(ids).dump(); }

Result<std::vector<std::string>> FromJson(std::string_view text, std::string_view column) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return DataLossError(std::string(column) + " is not a JSON array: " + QuoteForMessage(text));
  }
  std::vector<std::string> ids;
  for (const nlohmann::json& id : parsed) {
    if (!id.is_string()) {
      return DataLossError(std::string(column) + " holds a non-string: " + QuoteForMessage(text));
    }
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

struct RowBuilder {
  Row& row;
  void operator()(const BasketAction& action) const {
    row.record_type = "action";
    row.kind = NameOf(action.kind, kActionKinds);
    row.event_time_ns = action.event_time.ns;
    row.product_id = action.product_id;
    row.priced_by = NameOf(action.priced_by, kPricedBy);
    row.quantity = action.quantity;
    row.net_weight_g = action.net_weight_g;
    row.net_weight_sigma_g = action.net_weight_sigma_g;
    row.unit_price_minor = action.unit_price_minor;
    row.probability = action.probability;
    row.evidence_ids = ToJson(action.evidence_ids);
  }
  void operator()(const ShopperPrompt& prompt) const {
    row.record_type = "prompt";
    row.kind = NameOf(prompt.kind, kPromptKinds);
    row.event_time_ns = prompt.event_time.ns;
    row.probability = prompt.probability;
    row.evidence_ids = ToJson(prompt.evidence_ids);
    row.prompt_id = prompt.prompt_id;
    row.candidate_product_ids = ToJson(prompt.candidate_product_ids);
    row.message = prompt.message;
  }
  void operator()(const AuditFlag& flag) const {
    row.record_type = "flag";
    row.kind = NameOf(flag.kind, kFlagKinds);
    row.event_time_ns = flag.event_time.ns;
    row.product_id = flag.product_id;
    row.probability = flag.probability;
    row.evidence_ids = ToJson(flag.evidence_ids);
    row.message = flag.message;
  }
};

template <typename T>
Result<T> Required(const std::optional<T>& value, std::string_view column) {
  if (!value) return DataLossError(std::string(column) + " is NULL");
  return *value;
}

template <typename Enum, std::size_t N>
Result<Enum> RequiredName(std::string_view text,
                          const std::array<std::pair<Enum, std::string_view>, N>& names,
                          std::string_view column) {
  const std::optional<Enum> value = ParseName(text, names);
  if (!value) return DataLossError(std::string(column) + " " + QuoteForMessage(text) + " unknown");
  return *value;
}

Result<LedgerEntry> EntryFromRow(const Row& row) {
  const Timestamp event_time = Timestamp::FromNanoseconds(row.event_time_ns);
  CS_ASSIGN_OR_RETURN(std::vector<std::string> evidence,
                      FromJson(row.evidence_ids, "evidence_ids"));
  if (row.record_type == "action") {
    BasketAction action;
    CS_ASSIGN_OR_RETURN(action.kind, RequiredName(row.kind, kActionKinds, "kind"));
    CS_ASSIGN_OR_RETURN(action.product_id, Required(row.product_id, "product_id"));
    CS_ASSIGN_OR_RETURN(const std::string priced_by, Required(row.priced_by, "priced_by"));
    CS_ASSIGN_OR_RETURN(action.priced_by, RequiredName(priced_by, kPricedBy, "priced_by"));
    CS_ASSIGN_OR_RETURN(action.quantity, Required(row.quantity, "quantity"));
    CS_ASSIGN_OR_RETURN(action.net_weight_g, Required(row.net_weight_g, "net_weight_g"));
    CS_ASSIGN_OR_RETURN(action.net_weight_sigma_g,
                        Required(row.net_weight_sigma_g, "net_weight_sigma_g"));
    CS_ASSIGN_OR_RETURN(action.unit_price_minor,
                        Required(row.unit_price_minor, "unit_price_minor"));
    action.probability = row.probability;
    action.evidence_ids = std::move(evidence);
    action.event_time = event_time;
    return LedgerEntry(std::move(action));
  }
  if (row.record_type == "prompt") {
    ShopperPrompt prompt;
    CS_ASSIGN_OR_RETURN(prompt.kind, RequiredName(row.kind, kPromptKinds, "kind"));
    CS_ASSIGN_OR_RETURN(prompt.prompt_id, Required(row.prompt_id, "prompt_id"));
    CS_ASSIGN_OR_RETURN(const std::string candidates,
                        Required(row.candidate_product_ids, "candidate_product_ids"));
    CS_ASSIGN_OR_RETURN(prompt.candidate_product_ids,
                        FromJson(candidates, "candidate_product_ids"));
    CS_ASSIGN_OR_RETURN(prompt.message, Required(row.message, "message"));
    prompt.probability = row.probability;
    prompt.evidence_ids = std::move(evidence);
    prompt.event_time = event_time;
    return LedgerEntry(std::move(prompt));
  }
  if (row.record_type == "flag") {
    AuditFlag flag;
    CS_ASSIGN_OR_RETURN(flag.kind, RequiredName(row.kind, kFlagKinds, "kind"));
    CS_ASSIGN_OR_RETURN(flag.product_id, Required(row.product_id, "product_id"));
    CS_ASSIGN_OR_RETURN(flag.message, Required(row.message, "message"));
    flag.probability = row.probability;
    flag.evidence_ids = std::move(evidence);
    flag.event_time = event_time;
    return LedgerEntry(std::move(flag));
  }
  return DataLossError("record_type " + QuoteForMessage(row.record_type) + " unknown");
}

// The bytes the SHA-256 chain covers: every stored value, length-prefixed (so no two records
// encode alike), doubles by their bit pattern (so the hash sees exactly what SQLite returns).
class CanonicalText {
 public:
  void Add(std::string_view text) {
    text_ += std::to_string(text.size());
    text_ += ':';
    text_ += text;
    text_ += ';';
  }
  void Add(int64_t value) { Add(std::to_string(value)); }
  void Add(double value) {
    std::array<char, 17> hex{};
    std::snprintf(hex.data(), hex.size(), "%016llx",
                  static_cast<unsigned long long>(std::bit_cast<uint64_t>(value)));
    Add(std::string_view(hex.data(), 16));
  }
  template <typename T>
  void Add(const std::optional<T>& value) {
    if (value) {
      Add(*value);
    } else {
      text_ += "null;";
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string ChainAfter(const std::string& previous_sha256, const Row& row) {
  CanonicalText canonical;
  canonical.Add(previous_sha256);
  canonical.Add(row.sequence);
  canonical.Add(row.record_type);
  canonical.Add(row.kind);
  canonical.Add(row.event_time_ns);
  canonical.Add(row.product_id);
  canonical.Add(row.priced_by);
  canonical.Add(row.quantity);
  canonical.Add(row.net_weight_g);
  canonical.Add(row.net_weight_sigma_g);
  canonical.Add(row.unit_price_minor);
  canonical.Add(row.probability);
  canonical.Add(row.evidence_ids);
  canonical.Add(row.prompt_id);
  canonical.Add(row.candidate_product_ids);
  canonical.Add(row.message);
  return Sha256Hex(canonical.text());
}

std::string GenesisChain(const LedgerSession& session) {
  CanonicalText canonical;
  canonical.Add(std::string_view("cartsense basket ledger"));
  canonical.Add(kSchemaVersion);
  canonical.Add(session.session_id);
  canonical.Add(session.catalogue_version);
  canonical.Add(session.currency);
  return Sha256Hex(canonical.text());
}

using StatementPtr = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

std::optional<std::string> ColumnText(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  return std::string(text == nullptr ? "" : text,
                     static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}
std::optional<int64_t> ColumnInt(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(statement, column);
}
std::optional<double> ColumnDouble(sqlite3_stmt* statement, int column) {
  if (sqlite3_column_type(statement, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(statement, column);
}

Result<Row> ReadRow(sqlite3_stmt* statement) {
  Row row;
  int column = 0;
  std::optional<int64_t> sequence = ColumnInt(statement, column++);
  std::optional<std::string> record_type = ColumnText(statement, column++);
  std::optional<std::string> kind = ColumnText(statement, column++);
  std::optional<int64_t> event_time_ns = ColumnInt(statement, column++);
  row.product_id = ColumnText(statement, column++);
  row.priced_by = ColumnText(statement, column++);
  row.quantity = ColumnInt(statement, column++);
  row.net_weight_g = ColumnDouble(statement, column++);
  row.net_weight_sigma_g = ColumnDouble(statement, column++);
  row.unit_price_minor = ColumnInt(statement, column++);
  std::optional<double> probability = ColumnDouble(statement, column++);
  std::optional<std::string> evidence_ids = ColumnText(statement, column++);
  row.prompt_id = ColumnText(statement, column++);
  row.candidate_product_ids = ColumnText(statement, column++);
  row.message = ColumnText(statement, column++);
  std::optional<std::string> chain_sha256 = ColumnText(statement, column++);
  CS_ASSIGN_OR_RETURN(row.sequence, Required(sequence, "sequence"));
  CS_ASSIGN_OR_RETURN(row.record_type, Required(record_type, "record_type"));
  CS_ASSIGN_OR_RETURN(row.kind, Required(kind, "kind"));
  CS_ASSIGN_OR_RETURN(row.event_time_ns, Required(event_time_ns, "event_time_ns"));
  CS_ASSIGN_OR_RETURN(row.probability, Required(probability, "probability"));
  CS_ASSIGN_OR_RETURN(row.evidence_ids, Required(evidence_ids, "evidence_ids"));
  CS_ASSIGN_OR_RETURN(row.chain_sha256, Required(chain_sha256, "chain_sha256"));
  return row;
}

int BindText(sqlite3_stmt* statement, int index, const std::optional<std::string>& value) {
  if (!value) return sqlite3_bind_null(statement, index);
  return sqlite3_bind_text64(statement, index, value->data(), value->size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8);
}
int BindInt(sqlite3_stmt* statement, int index, const std::optional<int64_t>& value) {
  return value ? sqlite3_bind_int64(statement, index, *value) : sqlite3_bind_null(statement, index);
}
int BindDouble(sqlite3_stmt* statement, int index, const std::optional<double>& value) {
  return value ? sqlite3_bind_double(statement, index, *value)
               : sqlite3_bind_null(statement, index);
}

Status CheckProbability(double probability, std::string_view what) {
  if (!(probability >= 0.0 && probability <= 1.0)) {
    return InvalidArgumentError(std::string(what) + ": probability is " +
                                std::to_string(probability) + ", expected 0..1");
  }
  return Status::Ok();
}

// Makes a new file's directory entry durable: SQLite syncs the directory when it creates the
// WAL, but not for the database file itself.
Status SyncParentDirectory(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return UnavailableError(parent.string() + ": cannot open to fsync: " + ErrnoMessage(errno));
  }
  const int result = ::fsync(fd);
  const int fsync_errno = errno;
  ::close(fd);
  if (result != 0) {
    return UnavailableError(parent.string() + ": fsync failed: " + ErrnoMessage(fsync_errno));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path, const LedgerSession& session,
                                             LedgerOptions options) {
  if (session.session_id.empty()) {
    return InvalidArgumentError("ledger " + path + ": the session id is empty");
  }
  return OpenImpl(path, &session, options);
}

Result<std::unique_ptr<Ledger>> Ledger::OpenExisting(const std::string& path,
                                                     LedgerOptions options) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return NotFoundError("ledger " + path + ": no such file");
  }
  return OpenImpl(path, nullptr, options);
}

Result<std::unique_ptr<Ledger>> Ledger::OpenImpl(const std::string& path,
                                                 const LedgerSession* expected,
                                                 LedgerOptions options) {
  std::error_code error;
  const bool existed = std::filesystem::exists(path, error);
  std::unique_ptr<Ledger> ledger(new Ledger(path, options));
  ledger->RegisterMetrics();
  const int flags =
      SQLITE_OPEN_READWRITE | (expected != nullptr ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int opened = sqlite3_open_v2(path.c_str(), &ledger->db_, flags, nullptr);
  if (opened != SQLITE_OK) return ledger->SqliteError(opened, "cannot open");
  sqlite3_extended_result_codes(ledger->db_, 1);
  CS_RETURN_IF_ERROR(ledger->Configure(!existed));

  CS_RETURN_IF_ERROR(ledger->ReadSchema());
  if (ledger->session_.session_id.empty()) {
    // A new file, or one whose creation crashed before the schema committed (nothing in it was
    // ever acknowledged).
    if (expected == nullptr) {
      return DataLossError("ledger " + path + ": the file holds no ledger schema");
    }
    CS_RETURN_IF_ERROR(ledger->CreateSchema(*expected));
    CS_RETURN_IF_ERROR_CTX(SyncParentDirectory(path), "ledger " + path);
  } else if (expected != nullptr && ledger->session_.session_id != expected->session_id) {
    return FailedPreconditionError("ledger " + path + " belongs to session " +
                                   QuoteForMessage(ledger->session_.session_id) + ", not " +
                                   QuoteForMessage(expected->session_id));
  }
  const std::string insert = std::string("INSERT INTO ledger (") + kColumns +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                             "?14, ?15, ?16)";
  const int prepared = sqlite3_prepare_v3(ledger->db_, insert.c_str(), -1,
                                          SQLITE_PREPARE_PERSISTENT, &ledger->insert_, nullptr);
  if (prepared != SQLITE_OK) return ledger->SqliteError(prepared, "preparing the insert");
  CS_RETURN_IF_ERROR(ledger->Replay());
  return ledger;
}

void Ledger::RegisterMetrics() {
  MetricsRegistry& metrics =
      options_.metrics != nullptr ? *options_.metrics : MetricsRegistry::Global();
  append_ms_ = &metrics.GetHistogram("cartsense_ledger_append_ms",
                                     "Time for a ledger append to become durable");
  rejected_ = &metrics.GetCounter("cartsense_ledger_rejected_total",
                                  "Ledger appends refused before writing (cannot apply)");
  write_failures_ = &metrics.GetCounter("cartsense_ledger_write_failures_total",
                                        "Ledger appends that failed on the disk");
  constexpr std::array<const char*, 3> kTypes = {"action", "prompt", "flag"};
  for (std::size_t i = 0; i < kTypes.size(); ++i) {
    appended_[i] = &metrics.GetCounter("cartsense_ledger_records_total",
                                       "Records appended to the ledger", {{"type", kTypes[i]}});
  }
}

Ledger::~Ledger() {
  sqlite3_finalize(insert_);
  // Closing checkpoints the WAL into the database file; a failure loses nothing (the WAL stays
  // and is replayed on the next open).
  sqlite3_close_v2(db_);
}

Status Ledger::SqliteError(int code, const std::string& what) const {
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  const std::string message = "ledger " + path_ + ": " + what + ": " + detail;
  switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message + " (the file is damaged)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(message + " (another process has the ledger open)");
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return UnavailableError(message);
    default:
      return InternalError(message);
  }
}

Status Ledger::Configure(bool created) {
  const auto exec = [this](const char* sql) -> Status {
    const int result = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (result != SQLITE_OK) return SqliteError(result, sql);
    return Status::Ok();
  };
  const auto query_text = [this](const char* sql) -> Result<std::string> {
    sqlite3_stmt* raw = nullptr;
    const int prepared = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    StatementPtr statement(raw, &sqlite3_finalize);
    if (prepared != SQLITE_OK) return SqliteError(prepared, sql);
    const int stepped = sqlite3_step(statement.get());
    if (stepped != SQLITE_ROW) return SqliteError(stepped, sql);
    return ColumnText(statement.get(), 0).value_or("");
  };
  // Exclusive locking first, so the WAL index lives in this process's memory (no -shm file) and
  // no other process can write (or read a half-replayed state) while the cart runs.
  CS_RETURN_IF_ERROR(exec("PRAGMA locking_mode=EXCLUSIVE"));
  CS_ASSIGN_OR_RETURN(const std::string journal_mode, query_text("PRAGMA journal_mode=WAL"));
  if (journal_mode != "wal") {
    return UnavailableError("ledger " + path_ + ": SQLite refused WAL mode (journal_mode is " +
                            journal_mode + ")");
  }
  // FULL: every commit fsyncs the WAL before it returns (docs/basket.md, durability).
  CS_RETURN_IF_ERROR(exec("PRAGMA synchronous=FULL"));
  CS_RETURN_IF_ERROR(exec("PRAGMA cell_size_check=ON"));
  CS_RETURN_IF_ERROR(exec("PRAGMA trusted_schema=OFF"));
  // Take the write lock now rather than at the first append, so a second process fails here.
  CS_RETURN_IF_ERROR(exec("BEGIN EXCLUSIVE"));
  CS_RETURN_IF_ERROR(exec("COMMIT"));
  if (!created) {
    sqlite3_stmt* raw = nullptr;
    const int prepared = sqlite3_prepare_v2(db_, "PRAGMA integrity_check(5)", -1, &raw, nullptr);
    StatementPtr statement(raw, &sqlite3_finalize);
    if (prepared != SQLITE_OK) return SqliteError(prepared, "integrity check");
    std::string problems;
    int stepped = 0;
    while ((stepped = sqlite3_step(statement.get())) == SQLITE_ROW) {
      const std::string line = ColumnText(statement.get(), 0).value_or("");
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
    if (stepped != SQLITE_DONE) return SqliteError(stepped, "integrity check");
    if (!problems.empty()) {
      return DataLossError("ledger " + path_ +
                           ": SQLite integrity check failed (the file is damaged): " + problems);
    }
  }
  return Status::Ok();
}

Status Ledger::ReadSchema() {
  const auto count_tables = [this]() -> Result<int64_t> {
    sqlite3_stmt* raw = nullptr;
    const char* sql = "SELECT count(*) FROM sqlite_schema";
    const int prepared = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    StatementPtr statement(raw, &sqlite3_finalize);
    if (prepared != SQLITE_OK) return SqliteError(prepared, "reading the schema");
    const int stepped = sqlite3_step(statement.get());
    if (stepped != SQLITE_ROW) return SqliteError(stepped, "reading the schema");
    return sqlite3_column_int64(statement.get(), 0);
  };
  CS_ASSIGN_OR_RETURN(const int64_t objects, count_tables());
  if (objects == 0) return Status::Ok();  // an empty database: no ledger yet

  sqlite3_stmt* raw = nullptr;
  int result = sqlite3_prepare_v2(db_, "SELECT version FROM schema_version", -1, &raw, nullptr);
  StatementPtr version(raw, &sqlite3_finalize);
  if (result != SQLITE_OK) {
    return DataLossError("ledger " + path_ + ": not a cartsense ledger (" + sqlite3_errmsg(db_) +
                         ")");
  }
  std::vector<int64_t> versions;
  while ((result = sqlite3_step(version.get())) == SQLITE_ROW) {
    versions.push_back(sqlite3_column_int64(version.get(), 0));
  }
  if (result != SQLITE_DONE) return SqliteError(result, "reading schema_version");
  if (versions.size() != 1) {
    return DataLossError("ledger " + path_ + ": schema_version has " +
                         std::to_string(versions.size()) + " rows, expected 1");
  }
  if (versions[0] != kSchemaVersion) {
    return FailedPreconditionError("ledger " + path_ + ": schema version " +
                                   std::to_string(versions[0]) + ", this build reads version " +
                                   std::to_string(kSchemaVersion));
  }

  raw = nullptr;
  result = sqlite3_prepare_v2(db_, "SELECT session_id, catalogue_version, currency FROM session",
                              -1, &raw, nullptr);
  StatementPtr session(raw, &sqlite3_finalize);
  if (result != SQLITE_OK) return SqliteError(result, "reading the session");
  int rows = 0;
  while ((result = sqlite3_step(session.get())) == SQLITE_ROW) {
    ++rows;
    session_.session_id = ColumnText(session.get(), 0).value_or("");
    session_.catalogue_version = ColumnText(session.get(), 1).value_or("");
    session_.currency = ColumnText(session.get(), 2).value_or("");
  }
  if (result != SQLITE_DONE) return SqliteError(result, "reading the session");
  if (rows != 1 || session_.session_id.empty()) {
    return DataLossError("ledger " + path_ + ": the session table has " + std::to_string(rows) +
                         " rows, expected one with a session id");
  }
  return Status::Ok();
}

Status Ledger::CreateSchema(const LedgerSession& session) {
  // One transaction: a crash leaves either no schema (an empty file, recreated on the next
  // open) or all of it.
  const std::string schema = std::string("BEGIN IMMEDIATE;") + kCreateSchema +
                             "INSERT INTO schema_version (version) VALUES (" +
                             std::to_string(kSchemaVersion) + ");";
  int result = sqlite3_exec(db_, schema.c_str(), nullptr, nullptr, nullptr);
  if (result == SQLITE_OK) {
    sqlite3_stmt* raw = nullptr;
    result = sqlite3_prepare_v2(
        db_, "INSERT INTO session (session_id, catalogue_version, currency) VALUES (?1, ?2, ?3)",
        -1, &raw, nullptr);
    StatementPtr insert(raw, &sqlite3_finalize);
    if (result == SQLITE_OK) result = BindText(insert.get(), 1, session.session_id);
    if (result == SQLITE_OK) result = BindText(insert.get(), 2, session.catalogue_version);
    if (result == SQLITE_OK) result = BindText(insert.get(), 3, session.currency);
    if (result == SQLITE_OK) result = sqlite3_step(insert.get());
    if (result == SQLITE_DONE) result = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }
  if (result != SQLITE_OK) {
    Status error = SqliteError(result, "creating the schema");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }
  session_ = session;
  return Status::Ok();
}

Status Ledger::Replay() {
  chain_sha256_ = GenesisChain(session_);
  const std::string select = std::string("SELECT ") + kColumns + " FROM ledger ORDER BY sequence";
  sqlite3_stmt* raw = nullptr;
  const int prepared = sqlite3_prepare_v2(db_, select.c_str(), -1, &raw, nullptr);
  StatementPtr statement(raw, &sqlite3_finalize);
  if (prepared != SQLITE_OK) return SqliteError(prepared, "reading the ledger");
  int stepped = 0;
  while ((stepped = sqlite3_step(statement.get())) == SQLITE_ROW) {
    const int64_t expected_sequence = last_sequence() + 1;
    const std::string where = "ledger " + path_ + ": record " + std::to_string(expected_sequence);
    CS_ASSIGN_OR_RETURN(const Row row, ReadRow(statement.get()).WithContext(where));
    if (row.sequence != expected_sequence) {
      return DataLossError(where + ": sequence is " + std::to_string(row.sequence) +
                           " (records are missing)");
    }
    const std::string chain = ChainAfter(chain_sha256_, row);
    if (chain != row.chain_sha256) {
      return DataLossError(where +
                           ": chain_sha256 does not match the record (altered, or a "
                           "record before it was altered or removed)");
    }
    CS_ASSIGN_OR_RETURN(LedgerEntry entry, EntryFromRow(row).WithContext(where));
    if (const auto* action = std::get_if<BasketAction>(&entry)) {
      // The record was checked before it was appended; a fold that fails now means the file
      // does not hold what was acknowledged.
      const Status applied = basket_.Apply(*action);
      if (!applied.ok()) {
        return DataLossError(where +
                             ": does not apply to the basket before it: " + applied.message());
      }
    }
    records_.push_back(LedgerRecord{row.sequence, std::move(entry)});
    chain_sha256_ = chain;
  }
  if (stepped != SQLITE_DONE) return SqliteError(stepped, "reading the ledger");
  return Status::Ok();
}

std::vector<const LedgerRecord*> Ledger::RecordsAbout(std::string_view product_id) const {
  std::vector<const LedgerRecord*> about;
  for (const LedgerRecord& record : records_) {
    const bool concerns = std::visit(
        [product_id](const auto& entry) {
          using Entry = std::decay_t<decltype(entry)>;
          if constexpr (std::is_same_v<Entry, ShopperPrompt>) {
            return std::find(entry.candidate_product_ids.begin(), entry.candidate_product_ids.end(),
                             product_id) != entry.candidate_product_ids.end();
          } else {
            return entry.product_id == product_id;
          }
        },
        record.entry);
    if (concerns) about.push_back(&record);
  }
  return about;
}

Result<int64_t> Ledger::Append(const BasketAction& action) {
  Status valid = options_.catalogue != nullptr
                     ? CheckAgainstCatalogue(action, *options_.catalogue)
                           .WithContext(std::string(ToString(action.kind)))
                     : Status::Ok();
  if (valid.ok()) valid = basket_.Check(action);
  if (!valid.ok()) {
    rejected_->Increment();
    return std::move(valid).WithContext("ledger " + path_);
  }
  return AppendEntry(action);
}

Result<int64_t> Ledger::Append(const ShopperPrompt& prompt) {
  const std::string what = "prompt " + QuoteForMessage(prompt.prompt_id);
  Status valid = CheckProbability(prompt.probability, what);
  if (prompt.prompt_id.empty()) valid = InvalidArgumentError("prompt: prompt_id is empty");
  if (valid.ok() && !ParseName(NameOf(prompt.kind, kPromptKinds), kPromptKinds)) {
    valid = InvalidArgumentError(what + ": kind is unknown");
  }
  if (!valid.ok()) {
    rejected_->Increment();
    return std::move(valid).WithContext("ledger " + path_);
  }
  return AppendEntry(prompt);
}

Result<int64_t> Ledger::Append(const AuditFlag& flag) {
  const std::string what = "flag " + NameOf(flag.kind, kFlagKinds);
  Status valid = CheckProbability(flag.probability, what);
  if (valid.ok() && !ParseName(NameOf(flag.kind, kFlagKinds), kFlagKinds)) {
    valid = InvalidArgumentError(what + ": kind is unknown");
  }
  if (!valid.ok()) {
    rejected_->Increment();
    return std::move(valid).WithContext("ledger " + path_);
  }
  return AppendEntry(flag);
}

Result<int64_t> Ledger::AppendEntry(LedgerEntry entry) {
  if (failed_) {
    return FailedPreconditionError("ledger " + path_ +
                                   ": an earlier write failed; reopen the ledger to recover");
  }
  Row row;
  row.sequence = last_sequence() + 1;
  std::visit(RowBuilder{row}, entry);
  row.chain_sha256 = ChainAfter(chain_sha256_, row);

  int index = 1;
  int bound = SQLITE_OK;
  const auto bind = [&bound](int result) {
    if (bound == SQLITE_OK) bound = result;
  };
  bind(BindInt(insert_, index++, row.sequence));
  bind(BindText(insert_, index++, row.record_type));
  bind(BindText(insert_, index++, row.kind));
  bind(BindInt(insert_, index++, row.event_time_ns));
  bind(BindText(insert_, index++, row.product_id));
  bind(BindText(insert_, index++, row.priced_by));
  bind(BindInt(insert_, index++, row.quantity));
  bind(BindDouble(insert_, index++, row.net_weight_g));
  bind(BindDouble(insert_, index++, row.net_weight_sigma_g));
  bind(BindInt(insert_, index++, row.unit_price_minor));
  bind(BindDouble(insert_, index++, row.probability));
  bind(BindText(insert_, index++, row.evidence_ids));
  bind(BindText(insert_, index++, row.prompt_id));
  bind(BindText(insert_, index++, row.candidate_product_ids));
  bind(BindText(insert_, index++, row.message));
  bind(BindText(insert_, index++, row.chain_sha256));
  // Autocommit: the step is the whole transaction; with synchronous=FULL it returns after the
  // WAL is fsynced.
  const auto start = std::chrono::steady_clock::now();
  const int stepped = bound == SQLITE_OK ? sqlite3_step(insert_) : bound;
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  if (stepped != SQLITE_DONE) {
    failed_ = true;
    write_failures_->Increment();
    return SqliteError(stepped, "appending record " + std::to_string(row.sequence));
  }

  if (const auto* action = std::get_if<BasketAction>(&entry)) {
    CS_RET_CHECK(basket_.Apply(*action).ok());
  }
  append_ms_->Observe(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  appended_[entry.index()]->Increment();
  records_.push_back(LedgerRecord{row.sequence, std::move(entry)});
  chain_sha256_ = row.chain_sha256;
  return row.sequence;
}

}  // namespace cartsense::basket
