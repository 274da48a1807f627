// The basket reasoner on hand-built evidence sequences (fixed numbers) against the shipped
// catalogue (data/catalogue/grocery-store-81.csv).
#include "fusion/reasoner.h"

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/catalogue.h"
#include "core/basket_action.h"

namespace cartsense::fusion {
namespace {

constexpr char kMilk[] = "arla-standard-milk";  // 1062 ± 8 g, GTIN 2000100000410
constexpr char kMilkGtin[] = "2000100000410";
constexpr char kOtherMilk[] = "garant-ecological-standard-milk";  // 1062 ± 8 g, dearer
constexpr char kOtherMilkGtin[] = "2000100000434";
constexpr char kSoyMilk[] = "alpro-fresh-soy-milk";  // 1060 ± 8 g, coarse class Soy-Milk
constexpr char kOatMilk[] = "oatly-oat-milk";        // 1060 ± 8 g, alone in its coarse class
constexpr char kOrangeJuice[] = "god-morgon-orange-juice";  // 1070 ± 8 g, coarse class Juice
constexpr char kJuice[] = "bravo-apple-juice";              // 2135 ± 12 g
constexpr char kJuiceGtin[] = "2000100000281";
constexpr char kCream[] = "arla-sour-cream";  // 317 ± 5 g
constexpr char kCreamGtin[] = "2000100000472";
constexpr char kApple[] = "golden-delicious";       // per kg 2990, 180 ± 27 g a piece
constexpr char kMushroom[] = "brown-cap-mushroom";  // per kg 7990, 20 ± 6 g a piece

const catalog::Catalogue& TheCatalogue() {
  static const catalog::Catalogue catalogue =
      catalog::Catalogue::Load(std::string(CARTSENSE_SOURCE_DIR) +
                               "/data/catalogue/grocery-store-81.csv")
          .value();
  return catalogue;
}

Timestamp Ms(int64_t ms) { return Timestamp::FromMilliseconds(ms); }

sensors::WeightEvent Weight(int64_t start_ms, int64_t settle_ms, double delta_g,
                            sensors::PointMm position = {280, 200}) {
  sensors::WeightEvent e;
  e.t_start = Ms(start_ms);
  e.t_settle = Ms(settle_ms);
  e.delta_g = delta_g;
  e.sigma_g = 0.8;
  e.added = delta_g > 0;
  e.item_position = position;
  e.below_min_capacity = std::abs(delta_g) < 100;
  return e;
}

ScannerRead Scan(int64_t t_ms, const std::string& gtin) {
  ScannerRead read;
  read.t = Ms(t_ms);
  read.gtin = gtin;
  read.camera_id = 2;
  return read;
}

RegionEvidence Region(int camera, int n, bool vanished, sensors::PointMm floor,
                      std::vector<ProductScore> top, double not_in_catalogue = 0.02) {
  RegionEvidence r;
  r.evidence_id = "region:" + std::to_string(camera) + ":" + std::to_string(n);
  r.camera_id = camera;
  r.vanished = vanished;
  r.box_px = cv::Rect(100, 100, 80, 120);
  r.area_px = 9600;
  r.floor_mm = floor;
  r.visible_share = 1.0;
  r.top = std::move(top);
  r.not_in_catalogue_probability = not_in_catalogue;
  return r;
}

VisionEvidence View(int camera, int64_t motion_start_ms, int64_t t_ms,
                    std::vector<RegionEvidence> regions) {
  VisionEvidence v;
  v.camera_id = camera;
  v.motion_start = Ms(motion_start_ms);
  v.t = Ms(t_ms);
  v.outcome = VisionEvidence::Outcome::kCompared;
  v.regions = std::move(regions);
  return v;
}

ShopperAction Choose(int64_t t_ms, const std::string& product, const std::string& pieces) {
  ShopperAction a;
  a.t = Ms(t_ms);
  a.kind = ShopperAction::Kind::kChooseProduct;
  a.product_id = product;
  a.answer = pieces;
  return a;
}

ShopperAction Answer(int64_t t_ms, const std::string& prompt_id, const std::string& product,
                     const std::string& answer) {
  ShopperAction a;
  a.t = Ms(t_ms);
  a.kind = ShopperAction::Kind::kAnswerPrompt;
  a.prompt_id = prompt_id;
  a.product_id = product;
  a.answer = answer;
  return a;
}

std::unique_ptr<Reasoner> Make(Modalities modalities = {}, ReasonerParams params = {}) {
  auto reasoner = Reasoner::Create(&TheCatalogue(), params, modalities);
  EXPECT_TRUE(reasoner.ok()) << reasoner.status().ToString();
  return std::move(reasoner).value();
}

ReasonerOutput Ok(Result<ReasonerOutput> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? std::move(result).value() : ReasonerOutput{};
}

bool Has(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Units per product in the reasoner's basket (own items excluded).
int Count(const Reasoner& reasoner, const std::string& product) {
  int n = 0;
  for (const ReasonerItem& item : reasoner.Items()) {
    if (!item.own_item && item.product_id == product) n += static_cast<int>(item.quantity);
  }
  return n;
}

// ---- scan then place ---------------------------------------------------------------------------

TEST(ReasonerTest, ScanThenPlaceAddsAtTheWeightEventWithoutWaitingForVision) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnScan(Scan(1000, kMilkGtin))).empty());
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 1064.5)));
  ASSERT_EQ(out.actions.size(), 1u);
  const BasketAction& add = out.actions[0];
  EXPECT_EQ(add.kind, BasketActionKind::kAdd);
  EXPECT_EQ(add.product_id, kMilk);
  EXPECT_EQ(add.priced_by, PricedBy::kUnit);
  EXPECT_EQ(add.quantity, 1);
  EXPECT_EQ(add.unit_price_minor, 1590);
  EXPECT_EQ(add.event_time, Ms(3000));
  EXPECT_GE(add.probability, 0.9);
  EXPECT_TRUE(Has(add.evidence_ids, "weight:1"));
  EXPECT_TRUE(Has(add.evidence_ids, "scan:1"));
  EXPECT_TRUE(out.prompts.empty());
  EXPECT_TRUE(out.flags.empty());
  // The views agree: nothing more.
  const sensors::PointMm at{280, 200};
  EXPECT_TRUE(Ok(r->OnVision(View(0, 2000, 3600,
                                  {Region(0, 1, false, at, {{kMilk, 0.86}, {kOtherMilk, 0.70}})})))
                  .empty());
  EXPECT_TRUE(
      Ok(r->OnVision(View(1, 2000, 3650, {Region(1, 1, false, at, {{kMilk, 0.84}})}))).empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(60000))).empty());
  EXPECT_EQ(Count(*r, kMilk), 1);
}

// One milk scanned, a weight of two put down (no views): billed as two, as the weight says, but
// only one of them was scanned: flagged for review, and the scan pays for one.
TEST(ReasonerTest, MoreUnitsThanScansAreBilledAndFlagged) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 2126)));
  out.Append(Ok(r->AdvanceTo(Ms(60000))));
  EXPECT_EQ(Count(*r, kMilk), 2);
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kWeightMismatch);
  EXPECT_EQ(out.flags[0].product_id, kMilk);
  EXPECT_TRUE(out.prompts.empty());

  // Two scans and the same weight: both scans pay, nothing to flag, nothing left open.
  auto twice = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(twice->OnScan(Scan(1000, kMilkGtin)));
  Ok(twice->OnScan(Scan(1500, kMilkGtin)));
  ReasonerOutput both = Ok(twice->OnWeightEvent(Weight(2600, 3000, 2126)));
  both.Append(Ok(twice->AdvanceTo(Ms(120000))));
  EXPECT_EQ(Count(*twice, kMilk), 2);
  EXPECT_TRUE(both.flags.empty());
  EXPECT_TRUE(both.prompts.empty());
}

// Equal weights leave the switch to the views, and the views must beat the scan's factor of
// about 1540. That takes a recognizer as good as its views claim: vision_error_probability 0.001
// and no confusion within the coarse class here. The defaults (calibrated on simulated sessions
// where the recognizer is often plainly wrong) do not let the same views overrule a scan (the
// next test).
TEST(ReasonerTest, TicketSwitchWithEqualWeightsIsCarriedByTheViews) {
  ReasonerParams params;
  params.vision_error_probability = 0.001;
  params.vision_class_error_probability = 0;
  auto r = Make({}, params);
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  const ReasonerOutput added = Ok(r->OnWeightEvent(Weight(2600, 3000, 1061)));
  ASSERT_EQ(added.actions.size(), 1u);
  EXPECT_EQ(added.actions[0].product_id, kMilk);
  const sensors::PointMm at{300, 180};
  EXPECT_TRUE(Ok(r->OnVision(View(0, 2000, 3600,
                                  {Region(0, 1, false, at, {{kOtherMilk, 0.85}, {kMilk, 0.55}})})))
                  .empty());
  const ReasonerOutput checked = Ok(r->OnVision(
      View(1, 2000, 3700, {Region(1, 1, false, at, {{kOtherMilk, 0.83}, {kMilk, 0.50}})})));
  ASSERT_EQ(checked.flags.size(), 1u);
  EXPECT_EQ(checked.flags[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_EQ(checked.flags[0].product_id, kOtherMilk);
  EXPECT_GE(checked.flags[0].probability, 0.5);
  EXPECT_EQ(checked.flags[0].event_time, Ms(3700));
  EXPECT_TRUE(Has(checked.flags[0].evidence_ids, "scan:1"));
  EXPECT_TRUE(Has(checked.flags[0].evidence_ids, "region:1:1"));
  // The basket is corrected to what was placed.
  ASSERT_EQ(checked.actions.size(), 2u);
  EXPECT_EQ(checked.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(checked.actions[0].product_id, kMilk);
  EXPECT_EQ(checked.actions[1].kind, BasketActionKind::kAdd);
  EXPECT_EQ(checked.actions[1].product_id, kOtherMilk);
  EXPECT_EQ(Count(*r, kMilk), 0);
  EXPECT_EQ(Count(*r, kOtherMilk), 1);
}

TEST(ReasonerTest, ViewsOfAnUnreliableRecognizerDoNotOverruleAScan) {
  auto r = Make();  // default vision_error_probability
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  ASSERT_EQ(Ok(r->OnWeightEvent(Weight(2600, 3000, 1061))).actions.size(), 1u);
  const sensors::PointMm at{300, 180};
  Ok(r->OnVision(
      View(0, 2000, 3600, {Region(0, 1, false, at, {{kOtherMilk, 0.85}, {kMilk, 0.55}})})));
  const ReasonerOutput checked = Ok(r->OnVision(
      View(1, 2000, 3700, {Region(1, 1, false, at, {{kOtherMilk, 0.83}, {kMilk, 0.50}})})));
  EXPECT_TRUE(checked.empty());
  EXPECT_EQ(Count(*r, kMilk), 1);
}

// Views that name a product of another coarse class (soy milk for a scanned milk of the same
// weight), the scanned one nowhere in their top-k: the switch is possible but not sure, so the
// scanned product stays billed and a ticket-switch flag asks staff to look. The shopper is not
// asked: a switcher would name what they scanned.
TEST(ReasonerTest, ViewsNamingAnotherClassFlagTheSwitchForReviewAndKeepTheScan) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  ASSERT_EQ(Ok(r->OnWeightEvent(Weight(2600, 3000, 1061))).actions.size(), 1u);
  const sensors::PointMm at{300, 180};
  Ok(r->OnVision(
      View(0, 2000, 3600, {Region(0, 1, false, at, {{kSoyMilk, 0.85}, {kOrangeJuice, 0.6}})})));
  const ReasonerOutput checked = Ok(r->OnVision(
      View(1, 2000, 3700, {Region(1, 1, false, at, {{kSoyMilk, 0.83}, {kOrangeJuice, 0.6}})})));
  ASSERT_EQ(checked.flags.size(), 1u);
  EXPECT_EQ(checked.flags[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_EQ(checked.flags[0].product_id, kSoyMilk);
  EXPECT_GE(checked.flags[0].probability, ReasonerParams{}.ticket_switch_review_probability_min);
  EXPECT_LT(checked.flags[0].probability, ReasonerParams{}.ticket_switch_probability_min);
  EXPECT_TRUE(Has(checked.flags[0].evidence_ids, "scan:1"));
  EXPECT_TRUE(checked.actions.empty());
  EXPECT_TRUE(checked.prompts.empty());
  EXPECT_EQ(Count(*r, kMilk), 1);
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());

  // With the review off (1), the same views change nothing.
  ReasonerParams no_review;
  no_review.ticket_switch_review_probability_min = 1;
  auto quiet = Make(Modalities{}, no_review);
  Ok(quiet->OnScan(Scan(1000, kMilkGtin)));
  Ok(quiet->OnWeightEvent(Weight(2600, 3000, 1061)));
  Ok(quiet->OnVision(
      View(0, 2000, 3600, {Region(0, 1, false, at, {{kSoyMilk, 0.85}, {kOrangeJuice, 0.6}})})));
  EXPECT_TRUE(
      Ok(quiet->OnVision(View(1, 2000, 3700,
                              {Region(1, 1, false, at, {{kSoyMilk, 0.83}, {kOrangeJuice, 0.6}})})))
          .empty());
}

// A switch flagged and asked about (the evidence does not say well enough which item it is):
// an answer naming the scanned product the evidence contradicts is not believed, the product
// the evidence favours is billed and the flag stands; another product named is billed as named.
TEST(ReasonerTest, AnswerNamingTheContradictedScanDoesNotOverruleTheEvidence) {
  for (const bool names_scanned : {true, false}) {
    auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
    Ok(r->OnScan(Scan(1000, kCreamGtin)));
    const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 2137)));
    ASSERT_EQ(out.flags.size(), 1u);
    ASSERT_EQ(out.prompts.size(), 1u) << "the test needs the flag-and-ask path";
    ASSERT_GE(out.prompts[0].candidate_product_ids.size(), 2u);
    const std::string favoured = out.flags[0].product_id;
    const std::string other = out.prompts[0].candidate_product_ids[1];
    ASSERT_NE(other, favoured);
    const ReasonerOutput answered = Ok(r->OnShopper(
        Answer(6000, out.prompts[0].prompt_id, names_scanned ? kCream : other, "product")));
    EXPECT_TRUE(answered.flags.empty());  // the switch was flagged once, before the question
    EXPECT_EQ(Count(*r, kCream), 0);
    EXPECT_EQ(Count(*r, names_scanned ? favoured : other), 1);
  }
}

// The recognizer's errors are mostly between look-alikes of one coarse class (two brands of milk):
// views naming another milk than the one scanned say little against the scan, so nothing is
// asked, while the same views naming a soy milk (previous test) do ask.
TEST(ReasonerTest, ViewsNamingALookAlikeOfTheScannedClassDoNotAsk) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 1061)));
  const sensors::PointMm at{300, 180};
  Ok(r->OnVision(
      View(0, 2000, 3600, {Region(0, 1, false, at, {{kOtherMilk, 0.85}, {kOrangeJuice, 0.6}})})));
  const ReasonerOutput checked = Ok(r->OnVision(
      View(1, 2000, 3700, {Region(1, 1, false, at, {{kOtherMilk, 0.83}, {kOrangeJuice, 0.6}})})));
  EXPECT_TRUE(checked.empty());
  EXPECT_EQ(Count(*r, kMilk), 1);
}

TEST(ReasonerTest, TicketSwitchWithDifferentWeightsWaitsForTheViews) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kCreamGtin)));  // 317 g scanned, 2135 g placed
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 2137))).empty());
  const sensors::PointMm at{250, 220};
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{kJuice, 0.88}, {kCream, 0.4}})})));
  const ReasonerOutput out =
      Ok(r->OnVision(View(1, 2000, 3550, {Region(1, 1, false, at, {{kJuice, 0.86}})})));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_EQ(out.flags[0].product_id, kJuice);
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kJuice);
  EXPECT_EQ(out.actions[0].event_time, Ms(3550));
  // The scan was used up: no timeout prompt later.
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
}

TEST(ReasonerTest, TicketSwitchWithoutVisionStillFlagsAndAsks) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(r->OnScan(Scan(1000, kCreamGtin)));
  // 2137 g is what two 2 l juices weigh: one item of the whole weight explains it far better
  // than the cream and 1820 g of something more (a multi-drop).
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 2137)));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_EQ(out.flags[0].event_time, Ms(3000));
  // By weight alone 2137 g is bravo juice or several others: asked unless sure.
  EXPECT_EQ(out.actions.size() + out.prompts.size(), 1u);
}

// One scan and a heavier drop whose excess no single product explains: the scanned item and
// something more (here 181 g of apples), not a switch.
TEST(ReasonerTest, OneScanAndAHeavierDropWithoutVisionIsAMultiDrop) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(r->OnScan(Scan(1000, kCreamGtin)));
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 317 + 181)));
  out.Append(Ok(r->AdvanceTo(Ms(9000))));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kCream);
  EXPECT_TRUE(out.flags.empty());
  ASSERT_EQ(out.prompts.size(), 1u);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(12000, out.prompts[0].prompt_id, kApple, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].product_id, kApple);
  EXPECT_TRUE(answered.flags.empty());
  EXPECT_EQ(Count(*r, kCream), 1);
}

// ---- place without scan ------------------------------------------------------------------------

TEST(ReasonerTest, PlaceWithoutScanAddsWhenConfidentAndFlagsUnscanned) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 2133))).empty());
  const sensors::PointMm at{200, 150};
  EXPECT_TRUE(
      Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{kJuice, 0.9}})}))).empty());
  const ReasonerOutput out =
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, at, {{kJuice, 0.88}})})));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kJuice);
  EXPECT_EQ(out.actions[0].event_time, Ms(3600));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kUnscannedItem);
  EXPECT_EQ(out.flags[0].product_id, kJuice);
}

// An unscanned 1 l carton among some 20 cartons of about 1 kg, both views naming it with the
// recognizer's usual not-in-catalogue probability of 0.75 (simulation, bundle v3): that p_nic
// does not tell the shop's products from the shopper's own, so only a tenth of it goes to
// "unknown" (vision_not_in_catalogue_weight) and the views carry the carton: billed and flagged
// without asking. With all of p_nic for "unknown" the views' mass on the carton is a quarter and
// the shopper was asked.
TEST(ReasonerTest, UnscannedCartonBothViewsNameIsBilledWithoutAsking) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 1060))).empty());
  const sensors::PointMm at{200, 150};
  Ok(r->OnVision(View(0, 2000, 3500,
                      {Region(0, 1, false, at, {{kOatMilk, 0.85}, {kOrangeJuice, 0.6}}, 0.75)})));
  ReasonerOutput out = Ok(r->OnVision(View(
      1, 2000, 3600, {Region(1, 1, false, at, {{kOatMilk, 0.84}, {kOrangeJuice, 0.6}}, 0.75)})));
  out.Append(Ok(r->AdvanceTo(Ms(20000))));
  EXPECT_TRUE(out.prompts.empty());
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kOatMilk);
  EXPECT_GE(out.actions[0].probability, 0.9);
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kUnscannedItem);
}

// The same views, but one camera saw two regions appear: several things came in, and the views
// are not matched to the drop's items, so what they name is asked about, not billed.
TEST(ReasonerTest, ViewsOfADropOfSeveralThingsAreAskedAboutNotBilled) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 1060))).empty());
  Ok(r->OnVision(
      View(0, 2000, 3500,
           {Region(0, 1, false, {270, 190}, {{kOatMilk, 0.85}, {kOrangeJuice, 0.6}}, 0.75),
            Region(0, 2, false, {200, 130}, {{"mango", 0.8}}, 0.75)})));
  ReasonerOutput out = Ok(r->OnVision(
      View(1, 2000, 3600,
           {Region(1, 1, false, {270, 190}, {{kOatMilk, 0.84}, {kOrangeJuice, 0.6}}, 0.75)})));
  out.Append(Ok(r->AdvanceTo(Ms(20000))));
  EXPECT_TRUE(out.actions.empty());
  ASSERT_EQ(out.prompts.size(), 1u);
  EXPECT_EQ(out.prompts[0].kind, PromptKind::kWeighAlone);
  EXPECT_TRUE(Has(out.prompts[0].candidate_product_ids, kOatMilk));
}

TEST(ReasonerTest, AnUndecodableScanAttemptIsNotFlaggedAsUnscanned) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, "")));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 2133)));
  const sensors::PointMm at{200, 150};
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{kJuice, 0.9}})})));
  const ReasonerOutput out =
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, at, {{kJuice, 0.88}})})));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_TRUE(out.flags.empty());
}

TEST(ReasonerTest, PlaceWithoutScanByWeightAloneAsksAndTheAnswerBills) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  const ReasonerOutput asked = Ok(r->OnWeightEvent(Weight(2600, 3000, 1063)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_TRUE(asked.actions.empty());
  const ShopperPrompt& prompt = asked.prompts[0];
  EXPECT_TRUE(prompt.kind == PromptKind::kPleaseScan || prompt.kind == PromptKind::kChooseProduct);
  EXPECT_EQ(prompt.event_time, Ms(3000));
  EXPECT_EQ(r->OpenPrompts().size(), 1u);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(6000, prompt.prompt_id, kOtherMilk, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].product_id, kOtherMilk);
  EXPECT_TRUE(Has(answered.actions[0].evidence_ids, "answer:" + prompt.prompt_id));
  ASSERT_EQ(answered.flags.size(), 1u);
  EXPECT_EQ(answered.flags[0].kind, AuditFlagKind::kUnscannedItem);
  EXPECT_TRUE(r->OpenPrompts().empty());
  // A second answer to the same prompt changes nothing.
  EXPECT_TRUE(Ok(r->OnShopper(Answer(7000, prompt.prompt_id, kMilk, "product"))).empty());
}

TEST(ReasonerTest, ScanningAfterPlacingSettlesTheWaitingPlacement) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  const ReasonerOutput asked = Ok(r->OnWeightEvent(Weight(2600, 3000, 1063)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  // The scan is held first: it may be the next item's (next test).
  EXPECT_TRUE(Ok(r->OnScan(Scan(5000, kMilkGtin))).actions.empty());
  const int64_t hold_ms = ReasonerParams{}.late_scan_hold_ms;
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(5000 + hold_ms - 1))).actions.empty());
  const ReasonerOutput settled = Ok(r->AdvanceTo(Ms(5000 + hold_ms)));
  ASSERT_EQ(settled.actions.size(), 1u);
  EXPECT_EQ(settled.actions[0].product_id, kMilk);
  EXPECT_TRUE(Has(settled.actions[0].evidence_ids, "scan:1"));
  EXPECT_TRUE(settled.flags.empty());
  EXPECT_TRUE(r->OpenPrompts().empty());

  // With no hold the scan settles it at once.
  ReasonerParams at_once;
  at_once.late_scan_hold_ms = 0;
  auto r0 = Make(Modalities{.weight = true, .vision = false, .scan = true}, at_once);
  ASSERT_EQ(Ok(r0->OnWeightEvent(Weight(2600, 3000, 1063))).prompts.size(), 1u);
  const ReasonerOutput scanned = Ok(r0->OnScan(Scan(5000, kMilkGtin)));
  ASSERT_EQ(scanned.actions.size(), 1u);
  EXPECT_EQ(scanned.actions[0].product_id, kMilk);
}

TEST(ReasonerTest, ScanFollowedByANewPlacementIsThatPlacementsNotTheAskedOnes) {
  // An unscanned carton is asked about; before answering, the shopper scans and places the
  // next carton of the same weight. The scan is the new carton's; the asked one waits for its
  // answer (it used to take the scan, leaving the new carton unscanned and billing one product
  // twice).
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  const ReasonerOutput asked = Ok(r->OnWeightEvent(Weight(2600, 3000, 1063)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_TRUE(Ok(r->OnScan(Scan(5000, kMilkGtin))).actions.empty());
  const ReasonerOutput placed = Ok(r->OnWeightEvent(Weight(6200, 6600, 1063, {400, 250})));
  ASSERT_EQ(placed.actions.size(), 1u);
  EXPECT_EQ(placed.actions[0].product_id, kMilk);
  EXPECT_TRUE(Has(placed.actions[0].evidence_ids, "scan:1"));
  EXPECT_TRUE(Has(placed.actions[0].evidence_ids, "weight:2"));
  // The hold ends with nothing left to settle; the question stays open.
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(9000))).actions.empty());
  ASSERT_EQ(r->OpenPrompts().size(), 1u);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(9500, asked.prompts[0].prompt_id, kOtherMilk, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].product_id, kOtherMilk);
  ASSERT_EQ(answered.flags.size(), 1u);
  EXPECT_EQ(answered.flags[0].kind, AuditFlagKind::kUnscannedItem);
  EXPECT_EQ(Count(*r, kMilk), 1);
  EXPECT_EQ(Count(*r, kOtherMilk), 1);
}

// ---- produce -----------------------------------------------------------------------------------

std::vector<ProductScore> AppleLook() {
  return {{kApple, 0.80}, {"granny-smith", 0.79}, {"pink-lady", 0.78}, {"royal-gala", 0.78}};
}

TEST(ReasonerTest, ProduceChosenOnTheScreenIsPricedByNetWeight) {
  ReasonerParams params;
  params.produce_bag_tare_g = 5;
  auto r = Make({}, params);
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 545.2))).empty());
  const sensors::PointMm at{280, 200};
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, AppleLook())})));
  // Not sure which apple: it waits for the screen.
  EXPECT_TRUE(Ok(r->OnVision(View(1, 2000, 3550, {Region(1, 1, false, at, AppleLook())}))).empty());
  const ReasonerOutput out = Ok(r->OnShopper(Choose(4800, kApple, "3")));
  ASSERT_EQ(out.actions.size(), 1u);
  const BasketAction& add = out.actions[0];
  EXPECT_EQ(add.product_id, kApple);
  EXPECT_EQ(add.priced_by, PricedBy::kWeight);
  EXPECT_EQ(add.quantity, 3);
  EXPECT_DOUBLE_EQ(add.net_weight_g, 540.2);
  EXPECT_EQ(add.unit_price_minor, 2990);
  EXPECT_EQ(add.event_time, Ms(4800));
  EXPECT_TRUE(Has(add.evidence_ids, "choice:1"));
  EXPECT_TRUE(out.flags.empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(60000))).empty());
}

TEST(ReasonerTest, ProduceBelowTheMinimumCapacityIsPricedByThePiece) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 62))).empty());
  const ReasonerOutput out = Ok(r->OnShopper(Choose(4500, kMushroom, "3")));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].priced_by, PricedBy::kUnit);
  EXPECT_EQ(out.actions[0].quantity, 3);
  EXPECT_EQ(out.actions[0].unit_price_minor, PiecePriceMinor(7990, 20));
}

// Mushrooms put in twice, 55 g and then 80 g: alone each is below the scale's minimum capacity,
// together the line weighs 135 g and a store bills it by weight, as one line. Taking the 80 g out
// again leaves 55 g, billed by the piece again.
TEST(ReasonerTest, ProduceLineIsPricedByTheWeightOfAllOfIt) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(r->OnWeightEvent(Weight(2600, 3000, 55)));
  const ReasonerOutput first = Ok(r->OnShopper(Choose(4500, kMushroom, "3")));
  ASSERT_EQ(first.actions.size(), 1u);
  EXPECT_EQ(first.actions[0].priced_by, PricedBy::kUnit);

  Ok(r->OnWeightEvent(Weight(20600, 21000, 80)));
  const ReasonerOutput second = Ok(r->OnShopper(Choose(22500, kMushroom, "4")));
  // The new pieces by weight; the first ones leave at their piece price and come back by weight.
  ASSERT_EQ(second.actions.size(), 3u);
  EXPECT_EQ(second.actions[0].kind, BasketActionKind::kAdd);
  EXPECT_EQ(second.actions[0].priced_by, PricedBy::kWeight);
  EXPECT_DOUBLE_EQ(second.actions[0].net_weight_g, 80);
  EXPECT_EQ(second.actions[1].kind, BasketActionKind::kRemove);
  EXPECT_EQ(second.actions[1].priced_by, PricedBy::kUnit);
  EXPECT_EQ(second.actions[1].quantity, 3);
  EXPECT_EQ(second.actions[1].unit_price_minor, PiecePriceMinor(7990, 20));
  EXPECT_EQ(second.actions[2].kind, BasketActionKind::kAdd);
  EXPECT_EQ(second.actions[2].priced_by, PricedBy::kWeight);
  EXPECT_DOUBLE_EQ(second.actions[2].net_weight_g, 55);
  EXPECT_EQ(second.actions[2].unit_price_minor, 7990);
  double weighed_g = 0;
  for (const ReasonerItem& item : r->Items()) {
    EXPECT_EQ(item.priced_by, PricedBy::kWeight);
    weighed_g += item.net_weight_g;
  }
  EXPECT_DOUBLE_EQ(weighed_g, 135);

  // The 80 g taken out: 55 g stay, below the minimum capacity, by the piece again.
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(40000, 40400, -80.3)));
  out.Append(Ok(r->AdvanceTo(Ms(50000))));
  EXPECT_TRUE(out.prompts.empty());
  EXPECT_TRUE(out.flags.empty());
  ASSERT_EQ(out.actions.size(), 3u);
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_DOUBLE_EQ(out.actions[0].net_weight_g, 80);
  EXPECT_EQ(out.actions[1].kind, BasketActionKind::kRemove);
  EXPECT_EQ(out.actions[1].priced_by, PricedBy::kWeight);
  EXPECT_EQ(out.actions[2].kind, BasketActionKind::kAdd);
  EXPECT_EQ(out.actions[2].priced_by, PricedBy::kUnit);
  EXPECT_EQ(out.actions[2].quantity, 3);
  EXPECT_EQ(Count(*r, kMushroom), 3);
}

TEST(ReasonerTest, ProduceNotChosenIsAskedAfterTheChoiceWait) {
  auto r = Make(Modalities{.weight = true, .vision = true, .scan = true});
  Ok(r->OnWeightEvent(Weight(2600, 3000, 545)));
  const sensors::PointMm at{280, 200};
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, AppleLook())})));
  Ok(r->OnVision(View(1, 2000, 3550, {Region(1, 1, false, at, AppleLook())})));
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(7999))).empty());
  const ReasonerOutput out = Ok(r->AdvanceTo(Ms(8000)));  // settle + produce_choice_wait_ms
  ASSERT_EQ(out.prompts.size(), 1u);
  // Nobody picked produce for this weight on the screen: it may hold several things, so the
  // question also asks for loose produce to be weighed alone.
  EXPECT_EQ(out.prompts[0].kind, PromptKind::kWeighAlone);
  EXPECT_EQ(out.prompts[0].event_time, Ms(8000));
  EXPECT_TRUE(Has(out.prompts[0].candidate_product_ids, kApple));
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(10000, out.prompts[0].prompt_id, kApple, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].priced_by, PricedBy::kWeight);
  EXPECT_EQ(answered.actions[0].quantity, 3);  // 545 g / 180 g a piece
  EXPECT_TRUE(answered.flags.empty());         // produce is never scanned
}

TEST(ReasonerTest, ChooseThenPlace) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnShopper(Choose(1000, kApple, "2"))).empty());
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 371)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kApple);
  EXPECT_EQ(out.actions[0].quantity, 2);
  EXPECT_DOUBLE_EQ(out.actions[0].net_weight_g, 371);
  EXPECT_EQ(out.actions[0].event_time, Ms(3000));
}

// ---- removal -----------------------------------------------------------------------------------

// Milk, juice and cream, each scanned and placed.
std::unique_ptr<Reasoner> ThreeItems(Modalities modalities = {}) {
  auto r = Make(modalities);
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  EXPECT_EQ(Ok(r->OnWeightEvent(Weight(2600, 3000, 1060))).actions.size(), 1u);
  Ok(r->OnScan(Scan(10000, kJuiceGtin)));
  EXPECT_EQ(Ok(r->OnWeightEvent(Weight(11600, 12000, 2140))).actions.size(), 1u);
  Ok(r->OnScan(Scan(20000, kCreamGtin)));
  EXPECT_EQ(Ok(r->OnWeightEvent(Weight(21600, 22000, 316))).actions.size(), 1u);
  Ok(r->AdvanceTo(Ms(30000)));
  return r;
}

TEST(ReasonerTest, RemovalExplainedByWeightIsDecidedAtOnce) {
  auto r = ThreeItems();
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(40000, 40500, -2139)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(out.actions[0].product_id, kJuice);
  EXPECT_EQ(out.actions[0].event_time, Ms(40500));
  EXPECT_EQ(Count(*r, kJuice), 0);
  EXPECT_EQ(Count(*r, kMilk), 1);
}

TEST(ReasonerTest, SeveralItemsRemovedAtOnce) {
  auto r = ThreeItems();
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(40000, 40500, -1377)));  // milk + cream
  ASSERT_EQ(out.actions.size(), 2u);
  std::vector<std::string> removed = {out.actions[0].product_id, out.actions[1].product_id};
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{kCream, kMilk}));
  EXPECT_EQ(Count(*r, kJuice), 1);
}

TEST(ReasonerTest, AmbiguousRemovalAsksWhichItemLeft) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 1062)));
  Ok(r->OnScan(Scan(10000, kOtherMilkGtin)));
  Ok(r->OnWeightEvent(Weight(11600, 12000, 1062)));
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(40000, 40500, -1062)));
  EXPECT_TRUE(out.actions.empty());
  ASSERT_EQ(out.prompts.size(), 1u);
  EXPECT_EQ(out.prompts[0].kind, PromptKind::kConfirmRemoval);
  EXPECT_TRUE(Has(out.prompts[0].candidate_product_ids, kMilk));
  EXPECT_TRUE(Has(out.prompts[0].candidate_product_ids, kOtherMilk));
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(43000, out.prompts[0].prompt_id, kOtherMilk, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(answered.actions[0].product_id, kOtherMilk);
  EXPECT_EQ(Count(*r, kMilk), 1);
  EXPECT_EQ(Count(*r, kOtherMilk), 0);
}

TEST(ReasonerTest, VanishedRegionsTellWhichOfTwoEqualWeightsLeft) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 1062, {150, 150})));
  Ok(r->OnScan(Scan(10000, kOtherMilkGtin)));
  Ok(r->OnWeightEvent(Weight(11600, 12000, 1062, {400, 250})));
  Ok(r->AdvanceTo(Ms(30000)));
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(40000, 40500, -1061, {400, 250}))).empty());
  const sensors::PointMm at{400, 250};
  Ok(r->OnVision(
      View(0, 39500, 41000, {Region(0, 9, true, at, {{kOtherMilk, 0.87}, {kMilk, 0.6}})})));
  const ReasonerOutput out = Ok(r->OnVision(
      View(1, 39500, 41100, {Region(1, 9, true, at, {{kOtherMilk, 0.85}, {kMilk, 0.62}})})));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(out.actions[0].product_id, kOtherMilk);
  EXPECT_EQ(out.actions[0].event_time, Ms(41100));
}

TEST(ReasonerTest, RemovalThatNothingExplainsIsFlagged) {
  auto r = ThreeItems(Modalities{.weight = true, .vision = false, .scan = true});
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(40000, 40500, -4800)));
  EXPECT_TRUE(out.actions.empty());
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kWeightMismatch);
}

// ---- several items, scans without placements -------------------------------------------------

TEST(ReasonerTest, MultiDropConsumesTheScansWhoseWeightsSumToTheEvent) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kJuiceGtin)));
  Ok(r->OnScan(Scan(3000, kCreamGtin)));
  Ok(r->OnScan(Scan(5000, kMilkGtin)));
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(7000, 7600, 2135 + 317 + 1062 + 4)));
  ASSERT_EQ(out.actions.size(), 3u);
  std::vector<std::string> added;
  for (const BasketAction& a : out.actions) {
    EXPECT_EQ(a.kind, BasketActionKind::kAdd);
    EXPECT_EQ(a.event_time, Ms(7600));
    added.push_back(a.product_id);
  }
  std::sort(added.begin(), added.end());
  EXPECT_EQ(added, (std::vector<std::string>{kCream, kMilk, kJuice}));  // sorted ids
  EXPECT_TRUE(out.flags.empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());  // every scan was placed
  // One of them comes out again: its share of the weight finds it.
  const ReasonerOutput removed = Ok(r->OnWeightEvent(Weight(110000, 110500, -318)));
  ASSERT_EQ(removed.actions.size(), 1u);
  EXPECT_EQ(removed.actions[0].product_id, kCream);
}

TEST(ReasonerTest, MultiDropOfTwoLeavesTheThirdScanOpen) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kJuiceGtin)));
  Ok(r->OnScan(Scan(3000, kCreamGtin)));
  Ok(r->OnScan(Scan(5000, kMilkGtin)));
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(7000, 7600, 2135 + 1062)));
  ASSERT_EQ(out.actions.size(), 2u);
  const ReasonerOutput late = Ok(r->OnWeightEvent(Weight(9000, 9400, 318)));
  ASSERT_EQ(late.actions.size(), 1u);
  EXPECT_EQ(late.actions[0].product_id, kCream);
}

TEST(ReasonerTest, MultiDropWithAnUnscannedItemBillsTheScansAndAsksAboutTheRest) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kCreamGtin)));
  Ok(r->OnScan(Scan(3000, kMilkGtin)));
  // Cream, milk and an apple (181 g) dropped together.
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(5000, 5600, 317 + 1062 + 181)));
  ASSERT_EQ(out.actions.size(), 2u);
  EXPECT_EQ(Count(*r, kCream), 1);
  EXPECT_EQ(Count(*r, kMilk), 1);
  EXPECT_TRUE(out.flags.empty());
  // The rest (about 181 g) is not the shopper's own without asking: it came with the shop's items.
  const ReasonerOutput asked = Ok(r->AdvanceTo(Ms(20000)));
  EXPECT_TRUE(asked.actions.empty());
  EXPECT_TRUE(asked.flags.empty());
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_TRUE(Has(asked.prompts[0].evidence_ids, "weight:1"));
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(23000, asked.prompts[0].prompt_id, kApple, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].product_id, kApple);
  EXPECT_EQ(answered.actions[0].priced_by, PricedBy::kWeight);
  EXPECT_NEAR(answered.actions[0].net_weight_g, 181, 1);
  EXPECT_TRUE(answered.flags.empty());  // produce is not scanned
  // No scan is left waiting.
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
}

// Produce in a drop with scanned items: its weight is only inferred (the drop less the scans'
// catalogue masses, off by their mass spread), so the shopper is asked to weigh it alone; put
// back, it is billed at the weight it has alone.
TEST(ReasonerTest, ProduceInAMultiDropIsBilledAtTheWeightItHasAlone) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kCreamGtin)));
  Ok(r->OnScan(Scan(3000, kMilkGtin)));
  // Cream (322 g), milk (1071 g) and an apple (181 g): the remainder by catalogue masses is 195 g.
  Ok(r->OnWeightEvent(Weight(5000, 5600, 322 + 1071 + 181)));
  const ReasonerOutput asked = Ok(r->AdvanceTo(Ms(20000)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_EQ(asked.prompts[0].kind, PromptKind::kWeighAlone);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(23000, asked.prompts[0].prompt_id, kApple, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_NEAR(answered.actions[0].net_weight_g, 195, 1);  // for now
  // Lifted out and put back on its own.
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(24000, 24500, -181.2)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(out.actions[0].product_id, kApple);
  const ReasonerOutput back = Ok(r->OnWeightEvent(Weight(25500, 26000, 181.0)));
  ASSERT_EQ(back.actions.size(), 1u);
  EXPECT_EQ(back.actions[0].kind, BasketActionKind::kAdd);
  EXPECT_EQ(back.actions[0].priced_by, PricedBy::kWeight);
  EXPECT_NEAR(back.actions[0].net_weight_g, 181.0, 0.01);
  EXPECT_TRUE(back.prompts.empty());  // 14 g left over is within the scans' mass spread
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
  EXPECT_EQ(Count(*r, kCream), 1);
  EXPECT_EQ(Count(*r, kMilk), 1);
  EXPECT_EQ(Count(*r, kApple), 1);
}

// Produce sold by the piece named for a drop of several produce: billed for now as the pieces
// the whole weight suggests (three mangoes for 1208 g); lifted out, every one of them goes out,
// and put back it is one mango, the rest of the drop asked about (it used to lift out one of
// three provisional mangoes and keep the other two billed).
TEST(ReasonerTest, ProduceByThePieceLiftedOutOfADropTakesItsWholeProvisionalLine) {
  auto r = Make({.weight = true, .vision = false, .scan = true});
  Ok(r->OnWeightEvent(Weight(1000, 1500, 425 + 628 + 155)));
  const ReasonerOutput asked = Ok(r->AdvanceTo(Ms(8000)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_EQ(asked.prompts[0].kind, PromptKind::kWeighAlone);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(9000, asked.prompts[0].prompt_id, "mango", "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  EXPECT_EQ(answered.actions[0].quantity, 3);  // for now
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(10000, 10500, -425.2)));
  int removed = 0;
  for (const BasketAction& a : out.actions) {
    EXPECT_EQ(a.kind, BasketActionKind::kRemove);
    EXPECT_EQ(a.product_id, "mango");
    removed += static_cast<int>(a.quantity);
  }
  EXPECT_EQ(removed, 3);
  EXPECT_EQ(Count(*r, "mango"), 0);
  const ReasonerOutput back = Ok(r->OnWeightEvent(Weight(11500, 12000, 425.0)));
  ASSERT_EQ(back.actions.size(), 1u);
  EXPECT_EQ(back.actions[0].product_id, "mango");
  EXPECT_EQ(back.actions[0].quantity, 1);
  // The other 783 g came in with it: asked about at once.
  ASSERT_EQ(back.prompts.size(), 1u);
  EXPECT_EQ(back.prompts[0].kind, PromptKind::kWeighAlone);
  EXPECT_EQ(Count(*r, "mango"), 1);
}

// Two kinds of produce dropped together, unscanned: one named and weighed alone, what it leaves
// of the drop's weight is asked about as the next thing.
TEST(ReasonerTest, TwoProduceInOneDropAreAskedAboutOneByOne) {
  auto r = Make({.weight = true, .vision = false, .scan = true});
  Ok(r->OnWeightEvent(Weight(1000, 1500, 138 + 328)));
  const ReasonerOutput asked = Ok(r->AdvanceTo(Ms(8000)));
  ASSERT_EQ(asked.prompts.size(), 1u);
  EXPECT_EQ(asked.prompts[0].kind, PromptKind::kWeighAlone);
  Ok(r->OnShopper(Answer(9000, asked.prompts[0].prompt_id, kApple, "product")));
  Ok(r->OnWeightEvent(Weight(10000, 10500, -138.1)));
  const ReasonerOutput back = Ok(r->OnWeightEvent(Weight(11500, 12000, 138.0)));
  ASSERT_EQ(back.actions.size(), 1u);
  EXPECT_EQ(back.actions[0].product_id, kApple);
  EXPECT_NEAR(back.actions[0].net_weight_g, 138.0, 0.01);
  // The other 328 g came in with it: asked about now, never taken for the shopper's own.
  ASSERT_EQ(back.prompts.size(), 1u);
  EXPECT_EQ(back.prompts[0].kind, PromptKind::kWeighAlone);
  const ReasonerOutput second =
      Ok(r->OnShopper(Answer(15000, back.prompts[0].prompt_id, kMushroom, "product")));
  ASSERT_EQ(second.actions.size(), 1u);
  EXPECT_EQ(second.actions[0].product_id, kMushroom);
  EXPECT_NEAR(second.actions[0].net_weight_g, 328, 1);
  EXPECT_EQ(Count(*r, kApple), 1);
}

// Scanned one carton, placed another that looks like nothing the shop sells: the shopper's answer
// names it, the switch is flagged and the scan is consumed, so that it is not billed for the
// next placement of its weight.
TEST(ReasonerTest, AnswerNamingAnotherProductThanTheOpenScanIsASwitchAndConsumesTheScan) {
  auto r = Make();
  const sensors::PointMm at{200, 200};
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 767, at)));
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{"ginger", 0.8}}, 0.95)})));
  ReasonerOutput out =
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, at, {{"pineapple", 0.8}}, 0.95)})));
  out.Append(Ok(r->AdvanceTo(Ms(9000))));
  ASSERT_EQ(out.prompts.size(), 1u);
  const ReasonerOutput answered = Ok(
      r->OnShopper(Answer(10000, out.prompts[0].prompt_id, "alpro-blueberry-soyghurt", "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  // Flagged once: when the placement was decided (the weight and the views rule out the milk) or
  // on the answer.
  std::vector<AuditFlag> flags = out.flags;
  flags.insert(flags.end(), answered.flags.begin(), answered.flags.end());
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_TRUE(Has(flags[0].evidence_ids, "scan:1"));
  // An unscanned litre carton next is not billed as the scanned milk.
  const ReasonerOutput next = Ok(r->OnWeightEvent(Weight(20000, 20500, 1063, at)));
  EXPECT_TRUE(next.actions.empty());
  // Nor is the scan asked about as never placed.
  const ReasonerOutput later = Ok(r->AdvanceTo(Ms(30000)));
  for (const ShopperPrompt& prompt : later.prompts) {
    EXPECT_NE(prompt.kind, PromptKind::kPlaceScannedItem);
  }
  for (const AuditFlag& flag : later.flags) {
    EXPECT_NE(flag.kind, AuditFlagKind::kScanWithoutPlacement);
  }
}

TEST(ReasonerTest, UnscannedCartonIsAskedAboutNotTakenForTheShoppersOwn) {
  auto r = Make();
  const sensors::PointMm at{200, 200};
  // 1063 g: a litre carton by weight; the views are sure of nothing and call it not the shop's
  // (as the recognizer often does on basket crops).
  Ok(r->OnWeightEvent(Weight(2600, 3000, 1063, at)));
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{"ginger", 0.8}}, 0.8)})));
  ReasonerOutput out =
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, at, {{"pineapple", 0.8}}, 0.8)})));
  out.Append(Ok(r->AdvanceTo(Ms(10000))));
  EXPECT_TRUE(out.actions.empty());
  EXPECT_TRUE(out.flags.empty());
  ASSERT_EQ(out.prompts.size(), 1u);
  EXPECT_TRUE(out.prompts[0].kind == PromptKind::kPleaseScan ||
              out.prompts[0].kind == PromptKind::kChooseProduct ||
              out.prompts[0].kind == PromptKind::kWeighAlone);
  for (const ReasonerItem& item : r->Items()) EXPECT_FALSE(item.own_item);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(12000, out.prompts[0].prompt_id, kMilk, "product")));
  ASSERT_EQ(answered.actions.size(), 1u);
  ASSERT_EQ(answered.flags.size(), 1u);
  EXPECT_EQ(answered.flags[0].kind, AuditFlagKind::kUnscannedItem);
  EXPECT_EQ(answered.flags[0].product_id, kMilk);
}

// An unscanned carton put in and, within the transient window, a carton of the same weight taken
// out from elsewhere: the cameras saw the new one appear, so this is no lean that came back.
TEST(ReasonerTest, AdditionTheCamerasSawIsNotCancelledByARemovalOfItsWeightElsewhere) {
  auto r = Make();
  const sensors::PointMm at{200, 200};
  const sensors::PointMm far{420, 320};
  Ok(r->OnScan(Scan(1000, kMilkGtin)));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 1062, at)));
  Ok(r->AdvanceTo(Ms(8000)));
  ASSERT_EQ(Count(*r, kMilk), 1);
  Ok(r->OnWeightEvent(Weight(20000, 20400, 1068, far)));
  Ok(r->OnVision(View(0, 19900, 20900, {Region(0, 1, false, far, {{"ginger", 0.8}}, 0.8)})));
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(22000, 22500, -1063, at)));
  out.Append(Ok(r->AdvanceTo(Ms(40000))));
  EXPECT_EQ(Count(*r, kMilk), 0);     // the milk left
  ASSERT_EQ(out.prompts.size(), 1u);  // the new carton is asked about
  EXPECT_TRUE(Has(out.prompts[0].evidence_ids, "weight:2"));
}

// The same carton put in and taken out again at once (from where it went in): nothing billed,
// nothing asked.
TEST(ReasonerTest, CartonPutInAndTakenOutAgainAtOnceBillsNothing) {
  auto r = Make();
  const sensors::PointMm at{200, 200};
  Ok(r->OnWeightEvent(Weight(20000, 20400, 1068, at)));
  Ok(r->OnVision(View(0, 19900, 20900, {Region(0, 1, false, at, {{"ginger", 0.8}}, 0.8)})));
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(22000, 22500, -1066, at)));
  out.Append(Ok(r->AdvanceTo(Ms(40000))));
  EXPECT_TRUE(out.actions.empty());
  EXPECT_TRUE(out.prompts.empty());
  EXPECT_TRUE(out.flags.empty());
}

// One pear of five taken out: the line stays, at the weight left.
TEST(ReasonerTest, SomePiecesTakenFromAProduceLineLeaveItLighter) {
  auto r = Make();
  Ok(r->OnShopper(Choose(1000, kApple, "5")));
  Ok(r->OnWeightEvent(Weight(2600, 3000, 905)));
  ASSERT_EQ(Count(*r, kApple), 5);
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(30000, 30400, -181)));
  out.Append(Ok(r->AdvanceTo(Ms(40000))));
  EXPECT_TRUE(out.flags.empty());
  EXPECT_TRUE(out.prompts.empty());
  ASSERT_EQ(out.actions.size(), 2u);
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(out.actions[1].kind, BasketActionKind::kAdd);
  EXPECT_EQ(out.actions[1].product_id, kApple);
  EXPECT_NEAR(out.actions[1].net_weight_g, 724, 0.01);
  EXPECT_EQ(Count(*r, kApple), 4);
}

// Four apples weighed together (720 g), a fifth on its own (150 g), then one taken out that
// weighs 158 g: the nearest whole item is the 150 g apple, but the line must be billed for
// 720 + 150 - 158 = 712 g whichever apple left (a store bills loose produce by the weight of all
// of it), not for the 720 g that crediting the 150 g apple alone would leave.
TEST(ReasonerTest, ProduceRemovedWholeLeavesTheLineAtTheWeightThatStays) {
  auto r = Make();
  const auto weighed = [](int64_t start_ms, int64_t settle_ms, double delta_g) {
    sensors::WeightEvent e = Weight(start_ms, settle_ms, delta_g);
    e.sigma_g = 3;
    return e;
  };
  Ok(r->OnShopper(Choose(1000, kApple, "4")));
  Ok(r->OnWeightEvent(weighed(2600, 3000, 720)));
  Ok(r->OnShopper(Choose(10000, kApple, "1")));
  Ok(r->OnWeightEvent(weighed(12600, 13000, 150)));
  ASSERT_EQ(Count(*r, kApple), 5);
  ReasonerOutput out = Ok(r->OnWeightEvent(weighed(30000, 30400, -158)));
  out.Append(Ok(r->AdvanceTo(Ms(40000))));
  EXPECT_TRUE(out.flags.empty());
  EXPECT_TRUE(out.prompts.empty());
  EXPECT_EQ(Count(*r, kApple), 4);
  // Credited to the whole 150 g apple (not some pieces of the 720 g line), then reconciled.
  ASSERT_FALSE(out.actions.empty());
  EXPECT_EQ(out.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_DOUBLE_EQ(out.actions[0].net_weight_g, 150);
  double billed_g = 0;
  for (const ReasonerItem& item : r->Items()) {
    EXPECT_EQ(item.priced_by, PricedBy::kWeight);
    billed_g += item.net_weight_g;
  }
  EXPECT_NEAR(billed_g, 712, 0.01);
  // The basket actions say the same: what was added less what was removed.
  double actions_g = 0;
  for (const BasketAction& a : out.actions) {
    actions_g += (a.kind == BasketActionKind::kAdd ? 1 : -1) * a.net_weight_g;
  }
  EXPECT_NEAR(actions_g, 712 - 870, 0.01);
}

// A lost load cell comes back and the weigh chain reports its share of the load as a step that
// no camera saw anything appear for: not an item.
TEST(ReasonerTest, StepNoCameraSawJustAfterTheScaleRecoveredIsNotAnItem) {
  auto r = Make();
  sensors::ScaleStatus status;
  status.t = Ms(1000);
  status.health = sensors::ScaleHealth::kDegraded;
  Ok(r->OnScaleStatus(status));
  status.t = Ms(5000);
  status.health = sensors::ScaleHealth::kOk;
  Ok(r->OnScaleStatus(status));
  ReasonerOutput out = Ok(r->OnWeightEvent(Weight(5200, 5600, 1500)));
  out.Append(Ok(r->OnVision(View(0, 5100, 6000, {}))));
  out.Append(Ok(r->OnVision(View(1, 5100, 6100, {}))));
  out.Append(Ok(r->AdvanceTo(Ms(30000))));
  EXPECT_TRUE(out.actions.empty());
  EXPECT_TRUE(out.prompts.empty());
  // Later, the same step is an item (asked about).
  out = Ok(r->OnWeightEvent(Weight(40000, 40400, 1500)));
  out.Append(Ok(r->OnVision(View(0, 39900, 41000, {}))));
  out.Append(Ok(r->OnVision(View(1, 39900, 41000, {}))));
  out.Append(Ok(r->AdvanceTo(Ms(60000))));
  EXPECT_EQ(out.prompts.size(), 1u);
}

TEST(ReasonerTest, ScanWithoutPlacementIsAskedAndFlaggedAfterTheTimeout) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kJuiceGtin)));
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(12999))).empty());
  const ReasonerOutput out = Ok(r->AdvanceTo(Ms(13000)));
  ASSERT_EQ(out.prompts.size(), 1u);
  EXPECT_EQ(out.prompts[0].kind, PromptKind::kPlaceScannedItem);
  EXPECT_EQ(out.prompts[0].candidate_product_ids, std::vector<std::string>{kJuice});
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kScanWithoutPlacement);
  EXPECT_EQ(out.flags[0].event_time, Ms(13000));
  EXPECT_TRUE(Has(out.flags[0].evidence_ids, "scan:1"));
  EXPECT_TRUE(out.actions.empty());
  // Placed late after all: still the scanned product, no unscanned flag.
  const ReasonerOutput placed = Ok(r->OnWeightEvent(Weight(20000, 20400, 2131)));
  ASSERT_EQ(placed.actions.size(), 1u);
  EXPECT_EQ(placed.actions[0].product_id, kJuice);
  EXPECT_TRUE(placed.flags.empty());
}

TEST(ReasonerTest, TimeoutIsDecidedByTheNextInputWhenNoAdvanceCame) {
  auto r = Make();
  Ok(r->OnScan(Scan(1000, kJuiceGtin)));
  // No AdvanceTo: the next input (a scan at 20 s) makes the decision, stamped with its time.
  const ReasonerOutput out = Ok(r->OnScan(Scan(20000, kCreamGtin)));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].event_time, Ms(20000));
}

// ---- own items, transients ---------------------------------------------------------------------

TEST(ReasonerTest, OwnItemIsFlaggedNotBilledAndItsRemovalBillsNothing) {
  auto r = Make();
  const sensors::PointMm at{150, 300};
  Ok(r->OnWeightEvent(Weight(2600, 3000, 820, at)));
  // The views' p_nic says little (the shop's products have it as high), so what makes it the
  // shopper's own is that nothing the views name fits its weight (2 l juice, 2135 g).
  Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{kJuice, 0.30}}, 0.9)})));
  const ReasonerOutput seen =
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, at, {{kJuice, 0.28}}, 0.92)})));
  // Unknown, unscanned: loose produce would be picked on the screen now, so the reasoner waits
  // produce_choice_wait_ms (5 s after the settle) before calling it the shopper's own.
  EXPECT_TRUE(seen.empty());
  const ReasonerOutput out = Ok(r->AdvanceTo(Ms(8000)));
  EXPECT_TRUE(out.actions.empty());
  EXPECT_TRUE(out.prompts.empty());
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kUnknownItem);
  ASSERT_EQ(r->Items().size(), 1u);
  EXPECT_TRUE(r->Items()[0].own_item);
  // Taken out at the end: nothing billed, nothing flagged.
  const ReasonerOutput removed = Ok(r->OnWeightEvent(Weight(90000, 90500, -821, {150, 300})));
  EXPECT_TRUE(removed.empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
  EXPECT_TRUE(r->Items().empty());
}

TEST(ReasonerTest, OwnItemByAnswer) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = true});
  // 190 g could be loose produce: the screen gets its chance first, then the question.
  ReasonerOutput asked = Ok(r->OnWeightEvent(Weight(2600, 3000, 190)));
  asked.Append(Ok(r->AdvanceTo(Ms(8000))));
  ASSERT_EQ(asked.prompts.size(), 1u);
  const ReasonerOutput answered =
      Ok(r->OnShopper(Answer(9000, asked.prompts[0].prompt_id, "", "own_item")));
  EXPECT_TRUE(answered.actions.empty());
  ASSERT_EQ(answered.flags.size(), 1u);
  EXPECT_EQ(answered.flags[0].kind, AuditFlagKind::kUnknownItem);
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(50000, 50400, -190))).empty());
}

TEST(ReasonerTest, ALeanThatReturnsBillsNothing) {
  auto r = Make();
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2000, 2400, 3200))).empty());
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(4000, 4400, -3199))).empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(60000))).empty());
  EXPECT_TRUE(r->Items().empty());
}

TEST(ReasonerTest, AnItemLiftedAndPutBackIsBilledOnce) {
  auto r = ThreeItems();
  const ReasonerOutput lifted = Ok(r->OnWeightEvent(Weight(40000, 40300, -2138)));
  ASSERT_EQ(lifted.actions.size(), 1u);
  EXPECT_EQ(lifted.actions[0].kind, BasketActionKind::kRemove);
  const ReasonerOutput back = Ok(r->OnWeightEvent(Weight(41000, 41300, 2137)));
  ASSERT_EQ(back.actions.size(), 1u);
  EXPECT_EQ(back.actions[0].kind, BasketActionKind::kAdd);
  EXPECT_EQ(back.actions[0].product_id, kJuice);
  EXPECT_TRUE(back.flags.empty());
  EXPECT_TRUE(back.prompts.empty());
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
  EXPECT_EQ(Count(*r, kJuice), 1);
}

// ---- modes -------------------------------------------------------------------------------------

TEST(ReasonerTest, DegradedModesAreFlaggedAndDescribed) {
  auto r = Make();
  EXPECT_EQ(r->ModeDescription(), "fused");
  CameraHealthEvidence covered;
  covered.t = Ms(1000);
  covered.camera_id = 0;
  covered.state = CameraHealthEvidence::State::kCovered;
  ReasonerOutput out = Ok(r->OnCameraHealth(covered));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].kind, AuditFlagKind::kDegradedMode);
  EXPECT_EQ(out.flags[0].message, "fewer cameras (camera 0: covered)");
  covered.t = Ms(1100);
  covered.camera_id = 1;
  out = Ok(r->OnCameraHealth(covered));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].message, "no vision (camera 0: covered; camera 1: covered)");
  EXPECT_EQ(r->ModeDescription(), out.flags[0].message);
  // The same report again is no change.
  covered.t = Ms(1200);
  EXPECT_TRUE(Ok(r->OnCameraHealth(covered)).empty());

  sensors::ScaleStatus status;
  status.t = Ms(2000);
  status.health = sensors::ScaleHealth::kDegraded;
  status.cells[2] = sensors::CellFault::kStuck;
  out = Ok(r->OnScaleStatus(status));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].message,
            "one load cell lost (back_left stuck), no vision (camera 0: covered; camera 1: "
            "covered)");
  // Without vision a placement is decided at once, by weight (wider σ) and scan.
  Ok(r->OnScan(Scan(3000, kJuiceGtin)));
  out = Ok(r->OnWeightEvent(Weight(4600, 5000, 2150)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kJuice);

  status.t = Ms(6000);
  status.health = sensors::ScaleHealth::kFault;
  out = Ok(r->OnScaleStatus(status));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(r->ModeDescription(), "scanner only");
  // Scanner only: a scan is an add.
  out = Ok(r->OnScan(Scan(7000, kCreamGtin)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kCream);

  CameraHealthEvidence ok;
  ok.t = Ms(8000);
  ok.camera_id = 0;
  out = Ok(r->OnCameraHealth(ok));
  ASSERT_EQ(out.flags.size(), 1u);
  EXPECT_EQ(out.flags[0].message, "no weight (scale fault), fewer cameras (camera 1: covered)");
}

TEST(ReasonerTest, ScanOnlyAblation) {
  auto r = Make(Modalities{.weight = false, .vision = false, .scan = true});
  EXPECT_EQ(r->ModeDescription(), "scanner only");
  ReasonerOutput out = Ok(r->OnScan(Scan(1000, kMilkGtin)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].event_time, Ms(1000));
  EXPECT_TRUE(Has(out.actions[0].evidence_ids, "scan:1"));
  // Weight and vision are ignored.
  EXPECT_TRUE(Ok(r->OnWeightEvent(Weight(2600, 3000, 500))).empty());
  out = Ok(r->OnShopper(Choose(4000, kApple, "2")));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].priced_by, PricedBy::kUnit);
  EXPECT_EQ(out.actions[0].quantity, 2);
  EXPECT_TRUE(Ok(r->AdvanceTo(Ms(100000))).empty());
}

// Vision alone bills only with a recognizer as good as its views claim (vision_error_probability
// 0.01 here); with the default calibrated on simulated sessions (0.5) one product's views are
// never enough without weight or a scan.
TEST(ReasonerTest, VisionOnlyAblationAddsAndRemovesFromRegions) {
  ReasonerParams params;
  params.vision_error_probability = 0.01;  // a recognizer as good as its views claim
  params.vision_class_error_probability = 0;
  auto r = Make(Modalities{.weight = false, .vision = true, .scan = false}, params);
  EXPECT_EQ(r->ModeDescription(), "no weight, no scanner");
  const sensors::PointMm at{300, 200};
  EXPECT_TRUE(
      Ok(r->OnVision(View(0, 2000, 3500, {Region(0, 1, false, at, {{kJuice, 0.9}})}))).empty());
  // The other camera's view of the same item joins it (10 mm away, 100 ms later).
  EXPECT_TRUE(
      Ok(r->OnVision(View(1, 2000, 3600, {Region(1, 1, false, {310, 200}, {{kJuice, 0.88}})})))
          .empty());
  const ReasonerOutput added = Ok(r->AdvanceTo(Ms(5000)));  // 3500 + vision_dedup_window_ms
  ASSERT_EQ(added.actions.size(), 1u);
  EXPECT_EQ(added.actions[0].product_id, kJuice);
  EXPECT_EQ(added.actions[0].quantity, 1);
  EXPECT_TRUE(Has(added.actions[0].evidence_ids, "region:0:1"));
  EXPECT_TRUE(Has(added.actions[0].evidence_ids, "region:1:1"));
  EXPECT_TRUE(added.flags.empty());  // no scanner: no unscanned flags
  Ok(r->OnVision(View(0, 9000, 10000, {Region(0, 2, true, at, {{kJuice, 0.85}})})));
  const ReasonerOutput removed = Ok(r->AdvanceTo(Ms(12000)));
  ASSERT_EQ(removed.actions.size(), 1u);
  EXPECT_EQ(removed.actions[0].kind, BasketActionKind::kRemove);
  EXPECT_EQ(removed.actions[0].product_id, kJuice);
}

TEST(ReasonerTest, WeightOnlyAblationIdentifiesByWeightOrAsks) {
  auto r = Make(Modalities{.weight = true, .vision = false, .scan = false});
  // 2135 g: bravo apple juice and bravo orange juice weigh the same: asked.
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(2600, 3000, 2135)));
  ASSERT_EQ(out.prompts.size(), 1u);
  // Which item (loose produce keeps some share of the posterior at any weight, so the question
  // may also ask for produce to be weighed alone).
  EXPECT_TRUE(out.prompts[0].kind == PromptKind::kChooseProduct ||
              out.prompts[0].kind == PromptKind::kWeighAlone);
  EXPECT_TRUE(Has(out.prompts[0].candidate_product_ids, kJuice));
  // Scans are ignored.
  EXPECT_TRUE(Ok(r->OnScan(Scan(4000, kJuiceGtin))).empty());
}

// ---- contract ----------------------------------------------------------------------------------

std::vector<ReasonerOutput> RunSession(Reasoner& r) {
  std::vector<ReasonerOutput> outs;
  const sensors::PointMm at{280, 200};
  outs.push_back(Ok(r.OnScan(Scan(1000, kMilkGtin))));
  outs.push_back(Ok(r.OnWeightEvent(Weight(2600, 3000, 1064))));
  outs.push_back(Ok(r.OnVision(View(0, 2000, 3600, {Region(0, 1, false, at, {{kMilk, 0.8}})}))));
  outs.push_back(Ok(r.OnWeightEvent(Weight(8000, 8400, 545, {200, 100}))));
  outs.push_back(Ok(r.AdvanceTo(Ms(9000))));
  outs.push_back(Ok(r.OnShopper(Choose(9500, kApple, "3"))));
  outs.push_back(Ok(r.OnWeightEvent(Weight(12000, 12400, 2140))));
  outs.push_back(Ok(r.AdvanceTo(Ms(20000))));
  for (const ShopperPrompt& p : r.OpenPrompts()) {
    outs.push_back(Ok(r.OnShopper(Answer(21000, p.prompt_id, kJuice, "product"))));
  }
  outs.push_back(Ok(r.OnWeightEvent(Weight(30000, 30400, -1063))));
  outs.push_back(Ok(r.AdvanceTo(Ms(60000))));
  return outs;
}

bool Same(const ReasonerOutput& a, const ReasonerOutput& b) {
  return a.actions == b.actions && a.prompts == b.prompts && a.flags == b.flags;
}

TEST(ReasonerTest, SameEvidenceGivesSameDecisions) {
  auto a = Make();
  auto b = Make();
  const std::vector<ReasonerOutput> first = RunSession(*a);
  const std::vector<ReasonerOutput> second = RunSession(*b);
  ASSERT_EQ(first.size(), second.size());
  int decisions = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(Same(first[i], second[i])) << "output " << i;
    decisions += static_cast<int>(first[i].actions.size());
  }
  EXPECT_GE(decisions, 4);  // milk, apples, juice, milk out
  EXPECT_EQ(Count(*a, kJuice), 1);
  EXPECT_EQ(Count(*a, kMilk), 0);
}

// The same evidence with and without a 100 ms AdvanceTo between inputs: the same decisions (only
// their event_time may differ, later when nothing advanced time).
TEST(ReasonerTest, DecisionsDoNotDependOnHowOftenTimeAdvances) {
  const auto run = [](bool tick) {
    auto r = Make();
    std::vector<BasketAction> actions;
    std::vector<AuditFlag> flags;
    std::vector<PromptKind> prompts;
    int64_t now_ms = 0;
    const auto take = [&](ReasonerOutput out) {
      for (BasketAction& a : out.actions) {
        a.event_time = {};
        actions.push_back(a);
      }
      for (AuditFlag& f : out.flags) {
        f.event_time = {};
        flags.push_back(f);
      }
      for (const ShopperPrompt& p : out.prompts) prompts.push_back(p.kind);
    };
    const auto until = [&](int64_t ms) {
      for (; tick && now_ms + 100 < ms; now_ms += 100) take(Ok(r->AdvanceTo(Ms(now_ms + 100))));
      now_ms = ms;
    };
    until(1000);
    take(Ok(r->OnScan(Scan(1000, kJuiceGtin))));  // never placed
    until(3000);
    take(Ok(r->OnWeightEvent(Weight(2600, 3000, 1063))));  // unscanned, no vision: waits
    until(6000);
    take(Ok(r->OnWeightEvent(Weight(5600, 6000, 545, {100, 100}))));  // produce
    until(7500);
    take(Ok(r->OnShopper(Choose(7500, kApple, "3"))));
    until(30000);
    take(Ok(r->AdvanceTo(Ms(30000))));
    return std::make_tuple(actions, flags, prompts);
  };
  const auto ticked = run(true);
  const auto lazy = run(false);
  EXPECT_EQ(std::get<0>(ticked), std::get<0>(lazy));
  EXPECT_EQ(std::get<1>(ticked), std::get<1>(lazy));
  EXPECT_EQ(std::get<2>(ticked), std::get<2>(lazy));
  EXPECT_EQ(std::get<0>(ticked).size(), 1u);  // the apples
  // 1063 g placed while the juice scan is open reads as a possible switch: flagged and asked
  // (docs/reasoner.md, known limits); the scan is used up by it.
  ASSERT_EQ(std::get<1>(ticked).size(), 1u);
  EXPECT_EQ(std::get<1>(ticked)[0].kind, AuditFlagKind::kTicketSwitch);
  EXPECT_EQ(std::get<2>(ticked), std::vector<PromptKind>{PromptKind::kChooseProduct});
}

TEST(ReasonerTest, EarlierInputIsAnErrorAndChangesNothing) {
  auto r = Make();
  Ok(r->OnScan(Scan(5000, kMilkGtin)));
  const Result<ReasonerOutput> late = r->OnWeightEvent(Weight(3000, 4000, 1062));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(r->AdvanceTo(Ms(4999)).ok());
  EXPECT_TRUE(r->Items().empty());
  // In order again: the scan is still there.
  const ReasonerOutput out = Ok(r->OnWeightEvent(Weight(5500, 6000, 1062)));
  ASSERT_EQ(out.actions.size(), 1u);
  EXPECT_EQ(out.actions[0].product_id, kMilk);
}

TEST(ReasonerTest, CreateValidates) {
  ReasonerParams bad;
  bad.add_probability_min = 1.5;
  EXPECT_FALSE(Reasoner::Create(&TheCatalogue(), bad, {}).ok());
  EXPECT_FALSE(Reasoner::Create(nullptr, {}, {}).ok());
  EXPECT_FALSE(Reasoner::Create(&TheCatalogue(), {},
                                Modalities{.weight = false, .vision = false, .scan = false})
                   .ok());
}

TEST(ReasonerTest, ParamsFromConfig) {
  Config config = Config::Parse(
                      "vision_wait_ms: 1200\n"
                      "produce_bag_tare_g: 4.5\n"
                      "add_probability_min_ratio: 0.95\n"
                      "view_exponent_ratio: 0.5\n"
                      "vision_class_error_probability_ratio: 0.2\n"
                      "vision_not_in_catalogue_weight_ratio: 0.3\n"
                      "ticket_switch_review_probability_min_ratio: 0.25\n"
                      "prompt_candidates: 3\n"
                      "late_scan_hold_ms: 1800\n")
                      .value();
  const Result<ReasonerParams> params = ReasonerParams::FromConfig(config);
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->vision_wait_ms, 1200);
  EXPECT_DOUBLE_EQ(params->produce_bag_tare_g, 4.5);
  EXPECT_DOUBLE_EQ(params->add_probability_min, 0.95);
  EXPECT_DOUBLE_EQ(params->views.view_exponent, 0.5);
  EXPECT_EQ(params->prompt_candidates, 3);
  EXPECT_EQ(params->late_scan_hold_ms, 1800);
  EXPECT_DOUBLE_EQ(params->vision_class_error_probability, 0.2);
  EXPECT_DOUBLE_EQ(params->vision_not_in_catalogue_weight, 0.3);
  EXPECT_DOUBLE_EQ(params->ticket_switch_review_probability_min, 0.25);
  EXPECT_EQ(params->scan_to_place_timeout_ms, ReasonerParams{}.scan_to_place_timeout_ms);

  Config typo = Config::Parse("vision_wait: 1200\n").value();
  EXPECT_FALSE(ReasonerParams::FromConfig(typo).ok());
  Config out_of_range = Config::Parse("add_probability_min_ratio: 2\n").value();
  EXPECT_FALSE(ReasonerParams::FromConfig(out_of_range).ok());
  // A held scan must settle its placement before the scan itself times out.
  Config hold = Config::Parse("late_scan_hold_ms: 12000\n").value();
  EXPECT_FALSE(ReasonerParams::FromConfig(hold).ok());
  // The two label-noise shares of the vision likelihood cannot exceed 1 together.
  Config noise = Config::Parse(
                     "vision_error_probability_ratio: 0.6\n"
                     "vision_class_error_probability_ratio: 0.5\n")
                     .value();
  EXPECT_FALSE(ReasonerParams::FromConfig(noise).ok());
}

TEST(ReasonerTest, ModalitiesParse) {
  EXPECT_EQ(Modalities::Parse("weight,scan").value().ToString(), "weight,scan");
  EXPECT_EQ(Modalities::Parse("all").value().ToString(), "weight,vision,scan");
  EXPECT_EQ(Modalities::Parse("vision").value().ToString(), "vision");
  EXPECT_FALSE(Modalities::Parse("weight,smell").ok());
  EXPECT_FALSE(Modalities::Parse("").ok());
}

}  // namespace
}  // namespace cartsense::fusion
