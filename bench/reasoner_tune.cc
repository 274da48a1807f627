// Tuning and diagnosis of the basket reasoner on simulated sessions (issue 8, docs/reasoner.md).
//
//   bench_reasoner_tune --bundle DIR [--catalogue CSV] [--placements FILE.jsonl]
//                       [--config "NAME|yaml"]... [--trace NAME] SESSION_DIR...
//
// Each session's evidence is extracted once (the weigh chain, the cameras with the recognizer,
// the scanner: the expensive part), then the reasoner is replayed over it with every --config
// (ReasonerParams keys as in a cart config, e.g. "eps02|vision_error_probability_ratio: 0.2";
// the first, "base", has none), so parameter settings are compared on the same evidence.
// Prints one JSON line per session and config (exact, mismatches, theft flagged) and one per
// config with the totals (as `cartsense eval --json`, plus the swap and unscanned recalls).
// --trace NAME prints that config's actions, prompts (with the answers) and flags to stderr.
//
// --placements writes one JSON line per single-item placement of the truth (not a multi-drop)
// whose weight event the weigh chain reported (settled within 1.5 s of the truth's settle): the
// behaviour, the product placed and the product scanned for it, Δg, and the regions that the
// reasoner would select for it combined as it combines them (SelectRegionsForEvent,
// CombineViews with the default view parameters): the views' products and p_nic. From these the
// vision likelihood is fitted (bench/fit_vision_likelihood.py).
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "basket/basket.h"
#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "core/basket_action.h"
#include "core/config.h"
#include "fusion/evidence.h"
#include "fusion/reasoner.h"
#include "fusion/view_combination.h"
#include "service/basket_eval.h"
#include "service/session_evidence.h"
#include "session/session_reader.h"
#include "session/session_truth.h"

namespace cs = cartsense;

namespace {

struct NamedConfig {
  std::string name;
  cs::fusion::ReasonerParams params;
};

// --trace NAME: what the reasoner decides with that config, as it happens (to stderr).
class TraceObserver : public cs::service::EvalObserver {
 public:
  void OnAction(const cs::BasketAction& action, const cs::basket::Basket& /*after*/) override {
    std::cerr << "  [" << action.event_time.seconds() << " s] "
              << (action.kind == cs::BasketActionKind::kAdd ? "add " : "remove ") << action.quantity
              << " x " << action.product_id << " p=" << action.probability << "\n";
  }
  void OnPrompt(const cs::ShopperPrompt& prompt, const cs::ShopperAction& answer) override {
    std::cerr << "  [" << prompt.event_time.seconds() << " s] prompt " << prompt.message << " (";
    for (const std::string& id : prompt.candidate_product_ids) std::cerr << id << " ";
    std::cerr << ") p=" << prompt.probability << " -> "
              << (answer.product_id.empty() ? answer.answer : answer.product_id) << "\n";
  }
  void OnFlag(const cs::AuditFlag& flag) override {
    std::cerr << "  [" << flag.event_time.seconds() << " s] flag " << static_cast<int>(flag.kind)
              << " " << flag.product_id << ": " << flag.message << "\n";
  }
};

int Usage() {
  std::cerr << "usage: bench_reasoner_tune --bundle DIR [--catalogue CSV] [--placements FILE]"
               " [--config \"NAME|yaml\"]... SESSION_DIR...\n";
  return 2;
}

// The truth's single-item placements with the product scanned for each (a swap's scan names
// another product; "" when none was scanned).
struct TruthPlacement {
  const cs::session::TruthEvent* place = nullptr;
  std::string scanned;
};

std::vector<TruthPlacement> SinglePlacements(const cs::session::SessionTruth& truth) {
  std::vector<TruthPlacement> out;
  std::string pending_scan;
  for (const cs::session::TruthEvent& e : truth.events) {
    if (e.kind == "scan") {
      pending_scan = e.product_id;
      continue;
    }
    if (e.kind != "place") continue;
    if (e.behaviour == "multi_drop") {
      pending_scan.clear();
      continue;
    }
    TruthPlacement p;
    p.place = &e;
    if (e.behaviour == "swap" || e.scanned) p.scanned = pending_scan;
    pending_scan.clear();
    out.push_back(p);
  }
  return out;
}

void DumpPlacements(const cs::service::SessionEvidence& evidence,
                    const cs::session::SessionTruth& truth,
                    const cs::fusion::ReasonerParams& params, std::ostream& out) {
  std::vector<cs::fusion::VisionEvidence> views;
  std::vector<cs::sensors::WeightEvent> additions;
  for (const cs::service::EvidenceRecord& r : evidence.records) {
    if (r.packet.Holds<cs::fusion::VisionEvidence>()) {
      views.push_back(r.packet.Value<cs::fusion::VisionEvidence>());
    } else if (r.packet.Holds<cs::sensors::WeightEvent>()) {
      const auto& w = r.packet.Value<cs::sensors::WeightEvent>();
      if (w.delta_g > 0) additions.push_back(w);
    }
  }
  for (const TruthPlacement& tp : SinglePlacements(truth)) {
    const cs::session::TruthEvent& e = *tp.place;
    const cs::Timestamp settle = e.settle.value_or(e.t + cs::Duration::FromSeconds(0.5));
    const cs::sensors::WeightEvent* match = nullptr;
    for (const cs::sensors::WeightEvent& w : additions) {
      const double gap = std::abs((w.t_settle - settle).seconds());
      if (gap <= 1.5 &&
          (match == nullptr || gap < std::abs((match->t_settle - settle).seconds()))) {
        match = &w;
      }
    }
    if (match == nullptr) continue;
    const auto regions = cs::fusion::SelectRegionsForEvent(
        views, +1, match->t_start, match->t_settle, match->item_position, params.views);
    const cs::fusion::CombinedViews combined = cs::fusion::CombineViews(regions, params.views);
    nlohmann::ordered_json j;
    j["session"] = evidence.session_id;
    j["t_s"] = e.t.seconds();
    j["behaviour"] = e.behaviour;
    j["product"] = e.personal ? std::string() : e.product_id;
    j["scanned"] = tp.scanned;
    j["mass_g"] = e.mass_g;
    j["delta_g"] = match->delta_g;
    j["sigma_g"] = match->sigma_g;
    j["views"] = combined.views;
    j["p_nic"] = combined.not_in_catalogue_probability;
    nlohmann::ordered_json products = nlohmann::ordered_json::array();
    for (const cs::fusion::ProductProbability& pp : combined.products) {
      products.push_back({pp.product_id, pp.probability});
    }
    j["products"] = products;
    out << j.dump() << "\n";
  }
}

nlohmann::ordered_json Summary(const cs::service::EvalFigures& f) {
  nlohmann::ordered_json j;
  j["sessions"] = f.sessions;
  j["exact"] = f.exact_sessions;
  j["item_accuracy"] = f.item_accuracy();
  j["prompts_per_10_items"] = f.prompts_per_10_items();
  j["prompts"] = f.prompts;
  j["flag_precision"] = f.flag_precision();
  j["flags"] = f.item_flags;
  j["flags_right"] = f.item_flags_right;
  j["flag_recall"] = f.flag_recall();
  j["theft"] = f.theft;
  j["theft_flagged"] = f.theft_flagged;
  for (const auto& [tag, b] : f.behaviours) {
    if (b.theft > 0) {
      j[tag + "_theft"] = b.theft;
      j[tag + "_flagged"] = b.theft_flagged;
    }
  }
  j["rejected_actions"] = f.rejected_actions;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle;
  std::string catalogue_path = "data/catalogue/grocery-store-81.csv";
  std::string placements_path;
  std::string trace;
  std::vector<NamedConfig> configs = {{"base", {}}};
  std::vector<std::string> sessions;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--bundle" && has_value) {
      bundle = argv[++i];
    } else if (arg == "--catalogue" && has_value) {
      catalogue_path = argv[++i];
    } else if (arg == "--trace" && has_value) {
      trace = argv[++i];
    } else if (arg == "--placements" && has_value) {
      placements_path = argv[++i];
    } else if (arg == "--config" && has_value) {
      const std::string text = argv[++i];
      const std::size_t bar = text.find('|');
      if (bar == std::string::npos) return Usage();
      auto config = cs::Config::Parse(text.substr(bar + 1), "--config");
      if (!config.ok()) {
        std::cerr << config.status().ToString() << "\n";
        return 2;
      }
      auto params = cs::fusion::ReasonerParams::FromConfig(*config);
      if (!params.ok()) {
        std::cerr << params.status().ToString() << "\n";
        return 2;
      }
      configs.push_back({text.substr(0, bar), *params});
    } else if (!arg.empty() && arg[0] != '-') {
      sessions.push_back(arg);
    } else {
      return Usage();
    }
  }
  if (bundle.empty() || sessions.empty()) return Usage();
  auto catalogue = cs::catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) {
    std::cerr << catalogue.status().ToString() << "\n";
    return 1;
  }
  cs::catalog::RecognizerOptions recognizer_options;
  recognizer_options.catalogue = &*catalogue;
  auto recognizer = cs::catalog::Recognizer::Open(bundle, recognizer_options);
  if (!recognizer.ok()) {
    std::cerr << recognizer.status().ToString() << "\n";
    return 1;
  }
  std::ofstream placements;
  if (!placements_path.empty()) {
    placements.open(placements_path);
    if (!placements) {
      std::cerr << "cannot write " << placements_path << "\n";
      return 1;
    }
  }
  std::vector<cs::service::EvalFigures> totals(configs.size());
  for (const std::string& dir : sessions) {
    auto reader = cs::session::SessionReader::Open(dir);
    if (!reader.ok()) {
      std::cerr << reader.status().ToString() << "\n";
      return 1;
    }
    auto truth_text = reader->ReadTruth();
    if (!truth_text.ok()) {
      std::cerr << truth_text.status().ToString() << "\n";
      return 1;
    }
    auto truth = cs::session::ParseTruth(*truth_text, dir + "/truth.json");
    if (!truth.ok()) {
      std::cerr << truth.status().ToString() << "\n";
      return 1;
    }
    cs::service::SessionEvidenceOptions evidence_options;
    evidence_options.recognizer = recognizer->get();
    auto evidence = cs::service::ExtractSessionEvidence(*reader, evidence_options);
    if (!evidence.ok()) {
      std::cerr << evidence.status().WithContext(dir).ToString() << "\n";
      return 1;
    }
    if (placements.is_open()) DumpPlacements(*evidence, *truth, configs[0].params, placements);
    for (std::size_t c = 0; c < configs.size(); ++c) {
      cs::service::EvalOptions options;
      options.reasoner = configs[c].params;
      TraceObserver tracer;
      const bool traced = configs[c].name == trace;
      if (traced) std::cerr << "session " << evidence->session_id << " (" << trace << ")\n";
      auto run = cs::service::RunSession(*evidence, *truth, *catalogue, options,
                                         traced ? &tracer : nullptr);
      if (!run.ok()) {
        std::cerr << run.status().WithContext(dir).ToString() << "\n";
        return 1;
      }
      nlohmann::ordered_json j = Summary(run->figures);
      j["config"] = configs[c].name;
      j["session"] = evidence->session_id;
      j["mismatches"] = run->mismatches;
      std::cout << j.dump() << "\n" << std::flush;
      totals[c].Merge(run->figures);
    }
  }
  for (std::size_t c = 0; c < configs.size(); ++c) {
    nlohmann::ordered_json j = Summary(totals[c]);
    j["config"] = configs[c].name;
    j["total"] = true;
    std::cout << j.dump() << "\n";
  }
  return 0;
}
