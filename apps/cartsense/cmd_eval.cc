// `cartsense eval` (issue 8; docs/evaluation.md): replays sessions with ground truth
// through the whole pipeline (weigh chain, basket cameras' change detection and recognition,
// barcode reader, basket reasoner, basket) with a simulated shopper answering the prompts, and
// scores the final baskets, prompts, flags and latencies against the truth.
//
//   cartsense eval --sessions DIR... [--modalities weight,vision,scan] [--ablations] [--json]
//                  [--verbose] [--catalogue CSV] [--bundle DIR] [--ledger-dir DIR]
//
// A DIR is a session folder, or a folder whose sub-folders are sessions. --ablations runs the
// reasoner four times over the same evidence: fused, weight only, vision only, scan only.
// --verbose prints every basket action, prompt (with the shopper's answer) and flag as the replay
// reaches it, and each session's final basket with totals. --ledger-dir records what the fused
// reasoner decides in each session in a basket ledger DIR/<session id>.sqlite, as a cart would
// (`cartsense basket --ledger FILE` shows it); an existing ledger is never overwritten.
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "basket/basket.h"
#include "basket/ledger.h"
#include "basket_text.h"
#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "commands.h"
#include "fusion/reasoner.h"
#include "paths.h"
#include "service/basket_eval.h"
#include "service/ledger_observer.h"
#include "service/session_evidence.h"
#include "session/session_reader.h"
#include "session/session_truth.h"
#include "vision/model_bundle.h"

namespace cartsense::app {
namespace {

struct EvalCommandOptions {
  std::vector<std::string> sessions;
  std::string modalities = "weight,vision,scan";
  bool ablations = false;
  bool json = false;
  bool verbose = false;
  std::string catalogue;
  std::string bundle;
  std::string ledger_dir;
  int64_t answer_delay_ms = 3000;
};

std::string Seconds(Timestamp t) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << static_cast<double>(t.ns) / 1e9 << " s";
  return out.str();
}

const char* ActionName(BasketActionKind kind) {
  switch (kind) {
    case BasketActionKind::kAdd:
      return "add";
    case BasketActionKind::kRemove:
      return "remove";
    case BasketActionKind::kChangeQuantity:
      return "set quantity";
    case BasketActionKind::kSetWeight:
      return "set weight";
  }
  return "?";
}

const char* FlagName(AuditFlagKind kind) {
  switch (kind) {
    case AuditFlagKind::kUnscannedItem:
      return "unscanned item";
    case AuditFlagKind::kTicketSwitch:
      return "ticket switch";
    case AuditFlagKind::kScanWithoutPlacement:
      return "scan without placement";
    case AuditFlagKind::kUnknownItem:
      return "unknown item";
    case AuditFlagKind::kWeightMismatch:
      return "weight mismatch";
    case AuditFlagKind::kDegradedMode:
      return "degraded mode";
  }
  return "?";
}

// Prints what the replay decides as it happens (--verbose; the demo).
class PrintingObserver : public service::EvalObserver {
 public:
  PrintingObserver(const catalog::Catalogue& catalogue, std::ostream& out)
      : catalogue_(catalogue), out_(out) {}

  void OnAction(const BasketAction& action, const basket::Basket& after) override {
    const catalog::Product* product = catalogue_.FindById(action.product_id);
    out_ << "  [" << Seconds(action.event_time) << "] " << ActionName(action.kind) << " "
         << action.quantity << " x " << (product != nullptr ? product->name : action.product_id);
    if (action.priced_by == PricedBy::kWeight) {
      out_ << " (" << std::fixed << std::setprecision(0) << action.net_weight_g << " g net)";
    }
    out_ << std::fixed << std::setprecision(2) << "  p=" << action.probability << "  basket "
         << Money(after.total_minor(), catalogue_.currency()) << "\n";
  }
  void OnPrompt(const ShopperPrompt& prompt, const ShopperAction& answer) override {
    out_ << "  [" << Seconds(prompt.event_time) << "] prompt: " << prompt.message;
    if (!prompt.candidate_product_ids.empty()) {
      out_ << " (";
      for (std::size_t i = 0; i < prompt.candidate_product_ids.size(); ++i) {
        out_ << (i ? ", " : "") << prompt.candidate_product_ids[i];
      }
      out_ << ")";
    }
    out_ << " -> shopper at " << Seconds(answer.t) << ": "
         << (answer.product_id.empty() ? answer.answer : answer.product_id) << "\n";
  }
  void OnFlag(const AuditFlag& flag) override {
    out_ << "  [" << Seconds(flag.event_time) << "] flag: " << FlagName(flag.kind);
    if (!flag.product_id.empty()) out_ << " " << flag.product_id;
    if (!flag.message.empty()) out_ << ": " << flag.message;
    out_ << "\n";
  }
  void OnModeChange(const std::string& mode, Timestamp t) override {
    out_ << "  [" << Seconds(t) << "] mode: " << mode << "\n";
  }

 private:
  const catalog::Catalogue& catalogue_;
  std::ostream& out_;
};

nlohmann::ordered_json FiguresJson(const service::EvalFigures& f, bool with_scenarios) {
  nlohmann::ordered_json j;
  j["sessions"] = f.sessions;
  j["receipt_exact_match"] = f.receipt_exact_match();
  j["item_accuracy"] = f.item_accuracy();
  j["item_precision"] = f.item_precision();
  j["item_recall"] = f.item_recall();
  j["prompts_per_10_items"] = f.prompts_per_10_items();
  j["flag_precision"] = f.flag_precision();
  j["flag_recall"] = f.flag_recall();
  j["decision_latency_ms_p99"] = f.decision_latency_ms_p99();
  // null when the truth carries no settle times (sessions simulated before settle_s existed).
  j["settle_to_action_ms_p95"] = f.settle_to_action_ms.empty()
                                     ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json(f.settle_to_action_ms_p95());
  j["counts"] = {{"items_placed", f.items_placed},
                 {"true_units", f.true_units},
                 {"billed_units", f.billed_units},
                 {"matched_units", f.matched_units},
                 {"prompts", f.prompts},
                 {"item_flags", f.item_flags},
                 {"item_flags_right", f.item_flags_right},
                 {"theft", f.theft},
                 {"theft_flagged", f.theft_flagged},
                 {"degraded_mode_flags", f.degraded_mode_flags},
                 {"rejected_actions", f.rejected_actions}};
  if (with_scenarios) {
    nlohmann::ordered_json scenarios = nlohmann::ordered_json::object();
    for (const auto& [tag, b] : f.behaviours) {
      nlohmann::ordered_json s;
      s["sessions"] = b.sessions;
      s["receipt_exact_match"] =
          b.sessions > 0 ? static_cast<double>(b.exact_sessions) / static_cast<double>(b.sessions)
                         : 0.0;
      s["actions"] = b.actions;
      s["actions_billed_right"] = b.actions > 0 ? static_cast<double>(b.actions_billed_right) /
                                                      static_cast<double>(b.actions)
                                                : 0.0;
      s["prompts_per_10_actions"] =
          b.actions > 0 ? 10.0 * static_cast<double>(b.prompts) / static_cast<double>(b.actions)
                        : 0.0;
      if (b.theft > 0) {
        s["flag_recall"] = static_cast<double>(b.theft_flagged) / static_cast<double>(b.theft);
      }
      scenarios[tag] = s;
    }
    j["scenarios"] = scenarios;
  }
  return j;
}

void PrintFigures(const std::string& title, const service::EvalFigures& f) {
  std::cout << std::fixed << std::setprecision(4) << title
            << " (simulation when the sessions are simulated)\n"
            << "  sessions                 " << f.sessions << "\n"
            << "  receipt_exact_match      " << f.receipt_exact_match() << "\n"
            << "  item_accuracy            " << f.item_accuracy() << "  (precision "
            << f.item_precision() << ", recall " << f.item_recall() << ")\n"
            << "  prompts_per_10_items     " << f.prompts_per_10_items() << "\n"
            << "  flag_precision           " << f.flag_precision() << "  (" << f.item_flags_right
            << " of " << f.item_flags << ")\n"
            << "  flag_recall              " << f.flag_recall() << "  (" << f.theft_flagged
            << " of " << f.theft << " theft behaviours)\n"
            << std::setprecision(2) << "  decision_latency_ms_p99  " << f.decision_latency_ms_p99()
            << "\n"
            << "  settle_to_action_ms_p95  ";
  if (f.settle_to_action_ms.empty()) {
    std::cout << "n/a (the truth has no settle times)\n";
  } else {
    std::cout << f.settle_to_action_ms_p95() << "\n";
  }
}

int RunEval(const EvalCommandOptions& options) {
  const auto fail = [](const Status& status, int code) {
    std::cerr << "cartsense eval: " << status.ToString() << "\n";
    return code;
  };
  std::vector<fusion::Modalities> configs;
  if (options.ablations) {
    configs = {
        {true, true, true}, {true, false, false}, {false, true, false}, {false, false, true}};
  } else {
    auto modalities = fusion::Modalities::Parse(options.modalities);
    if (!modalities.ok()) return fail(modalities.status(), kExitUsage);
    configs = {*modalities};
  }
  bool need_vision = false;
  for (const fusion::Modalities& m : configs) need_vision = need_vision || m.vision;

  auto sessions = ExpandSessionDirs(options.sessions);
  if (!sessions.ok()) return fail(sessions.status(), kExitUnavailable);
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) return fail(catalogue.status(), kExitUnavailable);
  std::unique_ptr<catalog::Recognizer> recognizer;
  if (need_vision) {
    std::string bundle = options.bundle;
    if (bundle.empty()) {
      auto newest = FindNewestBundle(DefaultRepoPath("models/recognizer"));
      if (!newest.ok() || newest->empty()) {
        return fail(NotFoundError("no recognizer bundle under models/recognizer"),
                    kExitUnavailable);
      }
      bundle = *newest;
    }
    catalog::RecognizerOptions recognizer_options;
    recognizer_options.catalogue = &*catalogue;
    auto opened = catalog::Recognizer::Open(bundle, recognizer_options);
    if (!opened.ok()) return fail(opened.status(), kExitUnavailable);
    recognizer = std::move(*opened);
  }

  std::vector<service::EvalFigures> totals(configs.size());
  for (const std::string& dir : *sessions) {
    auto reader = session::SessionReader::Open(dir);
    if (!reader.ok()) return fail(reader.status(), kExitUnavailable);
    auto truth_text = reader->ReadTruth();
    if (!truth_text.ok()) return fail(truth_text.status().WithContext(dir), kExitUnavailable);
    auto truth = session::ParseTruth(*truth_text, dir + "/truth.json");
    if (!truth.ok()) return fail(truth.status(), kExitProblemFound);
    service::SessionEvidenceOptions evidence_options;
    evidence_options.vision = need_vision;
    evidence_options.recognizer = recognizer.get();
    auto evidence = service::ExtractSessionEvidence(*reader, evidence_options);
    if (!evidence.ok()) return fail(evidence.status().WithContext(dir), kExitProblemFound);
    for (std::size_t c = 0; c < configs.size(); ++c) {
      service::EvalOptions eval_options;
      eval_options.modalities = configs[c];
      eval_options.answer_delay_ms = options.answer_delay_ms;
      PrintingObserver printer(*catalogue, std::cout);
      const bool print = options.verbose && c == 0;
      if (print) {
        std::cout << "session " << evidence->session_id << " (" << configs[c].ToString()
                  << "): " << evidence->weight_events << " weight events, " << evidence->scans
                  << " scans, " << evidence->vision_reports << " camera reports\n";
      }
      service::EvalObserver* observer = print ? &printer : nullptr;
      std::unique_ptr<basket::Ledger> ledger;
      std::unique_ptr<service::LedgerObserver> recorder;
      if (!options.ledger_dir.empty() && c == 0) {
        const std::filesystem::path ledger_path = std::filesystem::path(options.ledger_dir) /
                                                  service::LedgerFileName(evidence->session_id);
        std::error_code error;
        std::filesystem::create_directories(options.ledger_dir, error);
        if (error) {
          return fail(
              UnavailableError("cannot create " + options.ledger_dir + ": " + error.message()),
              kExitUnavailable);
        }
        if (std::filesystem::exists(ledger_path)) {
          return fail(AlreadyExistsError(ledger_path.string() +
                                         " exists (a ledger is never overwritten; remove it or "
                                         "choose another --ledger-dir)"),
                      kExitUsage);
        }
        basket::LedgerOptions ledger_options;
        ledger_options.catalogue = &*catalogue;
        auto opened = basket::Ledger::Open(
            ledger_path.string(),
            {evidence->session_id, catalogue->version(), catalogue->currency()}, ledger_options);
        if (!opened.ok()) return fail(opened.status(), kExitUnavailable);
        ledger = std::move(*opened);
        recorder = std::make_unique<service::LedgerObserver>(ledger.get(), observer);
        observer = recorder.get();
      }
      auto run = service::RunSession(*evidence, *truth, *catalogue, eval_options, observer);
      if (!run.ok()) return fail(run.status().WithContext(dir), kExitInternal);
      if (recorder != nullptr) {
        const Status recorded = recorder->Finish(run->basket);
        if (!recorded.ok()) return fail(recorded, kExitInternal);
        if (print) {
          std::cout << "ledger: " << recorder->appended() << " records in " << ledger->path()
                    << "\n";
        }
      }
      if (print) {
        std::cout << "final basket (" << run->final_mode << "):\n";
        PrintBasket(run->basket, &*catalogue, catalogue->currency(), std::cout);
        std::cout << "against the truth: "
                  << (run->figures.exact_sessions == 1 ? "receipt exactly right"
                                                       : "receipt differs")
                  << "\n";
        for (const std::string& mismatch : run->mismatches) std::cout << "  " << mismatch << "\n";
      }
      totals[c].Merge(run->figures);
    }
  }
  if (options.json) {
    nlohmann::ordered_json out = FiguresJson(totals[0], true);
    out["modalities"] = configs[0].ToString();
    out["label"] = "simulation when the sessions are simulated";
    if (configs.size() > 1) {
      nlohmann::ordered_json ablations = nlohmann::ordered_json::object();
      for (std::size_t c = 0; c < configs.size(); ++c) {
        ablations[configs[c].ToString()] = FiguresJson(totals[c], false);
      }
      out["ablations"] = ablations;
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (std::size_t c = 0; c < configs.size(); ++c) {
      PrintFigures("eval " + configs[c].ToString(), totals[c]);
    }
  }
  for (const service::EvalFigures& f : totals) {
    if (f.rejected_actions > 0) {
      std::cerr << "cartsense eval: the basket refused " << f.rejected_actions
                << " of the reasoner's actions\n";
      return kExitProblemFound;
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterEvalCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<EvalCommandOptions>();
  CLI::App* eval = app.add_subcommand(
      "eval", "replay sessions with ground truth through the whole pipeline and score the basket");
  eval->add_option("--sessions", options->sessions,
                   "session folders, or folders of session folders")
      ->required()
      ->expected(1, -1);
  eval->add_option("--modalities", options->modalities,
                   "evidence the reasoner uses: any of weight,vision,scan (default all)");
  eval->add_flag("--ablations", options->ablations,
                 "also run weight only, vision only and scan only over the same evidence");
  eval->add_flag("--json", options->json, "one JSON object with the figures");
  eval->add_flag("--verbose", options->verbose,
                 "print every action, prompt and flag, and each final basket");
  eval->add_option("--catalogue", options->catalogue, "catalogue CSV");
  eval->add_option("--bundle", options->bundle, "recognizer bundle folder (default: newest)");
  eval->add_option("--ledger-dir", options->ledger_dir,
                   "record each session's decisions in a basket ledger DIR/<session id>.sqlite");
  eval->add_option("--answer-delay-ms", options->answer_delay_ms,
                   "how long the simulated shopper takes to answer a prompt")
      ->check(CLI::Range(int64_t{0}, int64_t{60'000}));
  eval->callback([options, &action] { action.run = [options] { return RunEval(*options); }; });
}

}  // namespace cartsense::app
