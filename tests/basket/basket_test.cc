#include "basket/basket.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cartsense::basket {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMilkPrice = 1590;   // per unit
constexpr int64_t kApplePrice = 2990;  // per kg

BasketAction Unit(BasketActionKind kind, const std::string& product, int64_t quantity,
                  int64_t price = kMilkPrice) {
  BasketAction action;
  action.kind = kind;
  action.product_id = product;
  action.priced_by = PricedBy::kUnit;
  action.quantity = quantity;
  action.unit_price_minor = price;
  return action;
}

BasketAction Weighed(BasketActionKind kind, const std::string& product, int64_t pieces,
                     double grams, int64_t price_per_kg = kApplePrice, double sigma_g = 0) {
  BasketAction action;
  action.kind = kind;
  action.product_id = product;
  action.priced_by = PricedBy::kWeight;
  action.quantity = pieces;
  action.net_weight_g = grams;
  action.net_weight_sigma_g = sigma_g;
  action.unit_price_minor = price_per_kg;
  return action;
}

constexpr auto kAdd = BasketActionKind::kAdd;
constexpr auto kRemove = BasketActionKind::kRemove;
constexpr auto kChange = BasketActionKind::kChangeQuantity;
constexpr auto kSetWeight = BasketActionKind::kSetWeight;

struct ExpectedLine {
  std::string product_id;
  PricedBy priced_by;
  int64_t quantity;
  double net_weight_g;
  int64_t total_minor;
};

struct FoldCase {
  std::string name;
  std::vector<BasketAction> actions;
  std::vector<ExpectedLine> lines;
  int64_t total_minor;
};

std::vector<FoldCase> FoldCases() {
  const auto unit = PricedBy::kUnit;
  const auto weight = PricedBy::kWeight;
  return {
      {"one unit", {Unit(kAdd, "milk", 1)}, {{"milk", unit, 1, 0, 1590}}, 1590},
      {"adds merge into one line",
       {Unit(kAdd, "milk", 2), Unit(kAdd, "milk", 1)},
       {{"milk", unit, 3, 0, 4770}},
       4770},
      {"partial remove",
       {Unit(kAdd, "milk", 3), Unit(kRemove, "milk", 2)},
       {{"milk", unit, 1, 0, 1590}},
       1590},
      {"removing all drops the line", {Unit(kAdd, "milk", 2), Unit(kRemove, "milk", 2)}, {}, 0},
      {"change quantity",
       {Unit(kAdd, "milk", 1), Unit(kChange, "milk", 4)},
       {{"milk", unit, 4, 0, 6360}},
       6360},
      {"change quantity to zero drops the line",
       {Unit(kAdd, "milk", 3), Unit(kChange, "milk", 0)},
       {},
       0},
      {"produce by weight: 29.90/kg x 1234 g = 36.8966 -> 36.90",
       {Weighed(kAdd, "apple", 1, 1234.0)},
       {{"apple", weight, 1, 1234.0, 3690}},
       3690},
      {"produce priced on the line's total weight, not per add",
       {Weighed(kAdd, "apple", 1, 500.4, 1000), Weighed(kAdd, "apple", 1, 500.4, 1000)},
       {{"apple", weight, 2, 1000.8, 1001}},
       1001},
      {"set weight replaces the net weight",
       {Weighed(kAdd, "apple", 1, 1000.0), Weighed(kSetWeight, "apple", 0, 800.0)},
       {{"apple", weight, 1, 800.0, 2392}},
       2392},
      {"partial produce remove",
       {Weighed(kAdd, "apple", 2, 900.0), Weighed(kRemove, "apple", 1, 400.0)},
       {{"apple", weight, 1, 500.0, 1495}},
       1495},
      {"removing the last piece drops the line whatever weight remains",
       {Weighed(kAdd, "apple", 1, 500.0), Weighed(kRemove, "apple", 1, 497.0)},
       {},
       0},
      {"change quantity of produce keeps its weight and price",
       {Weighed(kAdd, "apple", 1, 1000.0), Weighed(kChange, "apple", 3, 0.0)},
       {{"apple", weight, 3, 1000.0, 2990}},
       2990},
      {"same product by unit and by weight are two lines",
       {Weighed(kAdd, "banana", 1, 150.0, 2490), Unit(kAdd, "banana", 1, 374)},
       {{"banana", weight, 1, 150.0, 374}, {"banana", unit, 1, 0, 374}},
       748},
      {"lines keep the order of their first add; a re-add goes last",
       {Unit(kAdd, "a", 1, 100), Unit(kAdd, "b", 1, 200), Unit(kRemove, "a", 1, 100),
        Unit(kAdd, "a", 2, 100)},
       {{"b", unit, 1, 0, 200}, {"a", unit, 2, 0, 200}},
       400},
  };
}

TEST(BasketFoldTest, TableOfCases) {
  for (const FoldCase& fold_case : FoldCases()) {
    SCOPED_TRACE(fold_case.name);
    Basket basket;
    for (const BasketAction& action : fold_case.actions) {
      ASSERT_TRUE(basket.Apply(action).ok()) << basket.Apply(action).ToString();
    }
    ASSERT_EQ(basket.lines().size(), fold_case.lines.size());
    for (std::size_t i = 0; i < fold_case.lines.size(); ++i) {
      const BasketLine& line = basket.lines()[i];
      const ExpectedLine& expected = fold_case.lines[i];
      EXPECT_EQ(line.product_id, expected.product_id) << i;
      EXPECT_EQ(line.priced_by, expected.priced_by) << i;
      EXPECT_EQ(line.quantity, expected.quantity) << i;
      EXPECT_DOUBLE_EQ(line.net_weight_g, expected.net_weight_g) << i;
      EXPECT_EQ(line.total_minor, expected.total_minor) << i;
    }
    EXPECT_EQ(basket.total_minor(), fold_case.total_minor);
  }
}

TEST(BasketFoldTest, SigmaOfIndependentWeighingsAddsInQuadrature) {
  Basket basket;
  ASSERT_TRUE(basket.Apply(Weighed(kAdd, "apple", 1, 300.0, kApplePrice, 3.0)).ok());
  ASSERT_TRUE(basket.Apply(Weighed(kAdd, "apple", 1, 300.0, kApplePrice, 4.0)).ok());
  EXPECT_DOUBLE_EQ(basket.lines()[0].net_weight_sigma_g, 5.0);
  ASSERT_TRUE(basket.Apply(Weighed(kSetWeight, "apple", 0, 590.0, kApplePrice, 2.0)).ok());
  EXPECT_DOUBLE_EQ(basket.lines()[0].net_weight_sigma_g, 2.0);
}

TEST(BasketFoldTest, ItemCountSumsUnitsAndPieces) {
  Basket basket;
  ASSERT_TRUE(basket.Apply(Unit(kAdd, "milk", 3)).ok());
  ASSERT_TRUE(basket.Apply(Weighed(kAdd, "apple", 2, 400.0)).ok());
  EXPECT_EQ(basket.item_count(), 5);
  EXPECT_NE(basket.FindLine("apple", PricedBy::kWeight), nullptr);
  EXPECT_EQ(basket.FindLine("apple", PricedBy::kUnit), nullptr);
}

TEST(RoundingTest, BillableGramsRoundHalfUp) {
  EXPECT_EQ(BillableGrams(1234.49), 1234);
  EXPECT_EQ(BillableGrams(1234.5), 1235);
  EXPECT_EQ(BillableGrams(0.5), 1);
  EXPECT_EQ(BillableGrams(99.4999), 99);
}

TEST(RoundingTest, WeighedPriceRoundsToNearestMinorUnitHalfUp) {
  struct Case {
    int64_t price_per_kg;
    double grams;
    int64_t expected;
  };
  const Case cases[] = {
      {2990, 1234.0, 3690},                         // 3689.66
      {1999, 250.0, 500},                           // 499.75
      {1, 500.0, 1},                                // 0.5 exactly: half up
      {1, 499.0, 0},                                // 0.499
      {1000, 0.4, 0},                               // 0 billable grams
      {4490, 180.0, 808},                           // 808.2
      {3490, 1234.5, 4310},                         // 1235 billable g: 4310.15
      {1'000'000'000, 500'000.0, 500'000'000'000},  // the bounds: no overflow
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.price_per_kg) + "/kg x " + std::to_string(c.grams) + " g");
    const int64_t grams = BillableGrams(c.grams);
    // The rule written out: round(price x grams / 1000), halves up, on the billable grams.
    const int64_t reference = static_cast<int64_t>(
        std::floor(static_cast<long double>(c.price_per_kg) * grams / 1000.0L + 0.5L));
    EXPECT_EQ(WeighedPriceMinor(c.price_per_kg, c.grams), reference);
    EXPECT_EQ(WeighedPriceMinor(c.price_per_kg, c.grams), c.expected);
  }
}

// Every impossible or malformed action is refused with a message naming the product, and the
// basket is left as it was.
TEST(BasketRejectTest, ImpossibleActionsChangeNothing) {
  Basket basket;
  ASSERT_TRUE(basket.Apply(Unit(kAdd, "milk", 2)).ok());
  ASSERT_TRUE(basket.Apply(Weighed(kAdd, "apple", 2, 600.0)).ok());
  const Basket before = basket;

  struct Case {
    std::string name;
    BasketAction action;
    StatusCode code;
    std::string message;
  };
  BasketAction nan_weight = Weighed(kAdd, "apple", 1, std::numeric_limits<double>::quiet_NaN());
  BasketAction bad_probability = Unit(kAdd, "milk", 1);
  bad_probability.probability = 1.5;
  BasketAction unit_with_weight = Unit(kAdd, "milk", 1);
  unit_with_weight.net_weight_g = 1000;
  BasketAction empty_product = Unit(kAdd, "", 1);
  const std::vector<Case> cases = {
      {"remove of a product not in the basket", Unit(kRemove, "oat-milk", 1),
       StatusCode::kFailedPrecondition, "'oat-milk' (by unit): the product is not in the basket"},
      {"remove more than held", Unit(kRemove, "milk", 3), StatusCode::kFailedPrecondition,
       "removes 3 but the basket holds 2"},
      {"remove by weight of a line held by unit", Weighed(kRemove, "milk", 1, 100.0, kMilkPrice),
       StatusCode::kFailedPrecondition, "not in the basket"},
      {"price differs from the line's", Unit(kAdd, "milk", 1, 1690),
       StatusCode::kFailedPrecondition, "unit_price_minor 1690 differs from the line's 1590"},
      {"partial produce remove heavier than the line", Weighed(kRemove, "apple", 1, 700.0),
       StatusCode::kFailedPrecondition, "removes 700.0 g of the line's 600.0 g"},
      {"set weight of a product not in the basket", Weighed(kSetWeight, "pear", 0, 100.0),
       StatusCode::kFailedPrecondition, "'pear' (by weight): the product is not in the basket"},
      {"set weight on a unit line", Unit(kSetWeight, "milk", 0), StatusCode::kInvalidArgument,
       "set_weight needs a line priced by weight"},
      {"change quantity of a product not in the basket", Unit(kChange, "bread", 2),
       StatusCode::kFailedPrecondition, "not in the basket"},
      {"negative quantity", Unit(kAdd, "milk", -1), StatusCode::kInvalidArgument, "quantity is -1"},
      {"add of zero", Unit(kAdd, "milk", 0), StatusCode::kInvalidArgument,
       "quantity must be at least 1"},
      {"quantity beyond the bound", Unit(kAdd, "milk", kMaxQuantity), StatusCode::kOutOfRange,
       "the line would exceed"},
      {"NaN weight", nan_weight, StatusCode::kInvalidArgument, "net_weight_g is nan"},
      {"produce add without weight", Weighed(kAdd, "apple", 1, 0.0), StatusCode::kInvalidArgument,
       "net_weight_g must be above 0"},
      {"probability above 1", bad_probability, StatusCode::kInvalidArgument, "probability is 1.5"},
      {"unit line with a weight", unit_with_weight, StatusCode::kInvalidArgument,
       "carries no weight"},
      {"negative price", Unit(kAdd, "milk", 1, -5), StatusCode::kInvalidArgument,
       "unit_price_minor is -5"},
      {"empty product id", empty_product, StatusCode::kInvalidArgument, "product_id is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Status checked = basket.Check(c.action);
    const Status applied = basket.Apply(c.action);
    EXPECT_EQ(checked, applied);
    EXPECT_EQ(applied.code(), c.code) << applied.ToString();
    EXPECT_THAT(applied.message(), HasSubstr(c.message));
    EXPECT_EQ(basket, before);
  }
}

constexpr const char* kCatalogueText =
    "product_id,name,fine_id,coarse_id,coarse_name,gtin,plu,sold_by,price_minor,currency,"
    "unit_mass_g,unit_mass_sigma_g,mass_source,iconic_image\n"
    "granny-smith,Apple Granny Smith,1,0,Apple,,4017,kg,3490,SEK,180,27,label,\n"
    "arla-standard-milk,Arla Standard Milk 3% 1 l,41,20,Milk,2000100000410,,unit,1590,SEK,1062,8,"
    "estimated,\n";

TEST(CataloguePriceTest, PricesComeFromTheCatalogue) {
  auto catalogue = catalog::Catalogue::Parse(kCatalogueText, "t.csv");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status().ToString();
  const catalog::Product* apple = catalogue->FindById("granny-smith");
  const catalog::Product* milk = catalogue->FindById("arla-standard-milk");
  ASSERT_NE(apple, nullptr);
  ASSERT_NE(milk, nullptr);
  EXPECT_EQ(CataloguePriceMinor(*milk, PricedBy::kUnit).value_or(-1), 1590);
  EXPECT_EQ(CataloguePriceMinor(*apple, PricedBy::kWeight).value_or(-1), 3490);
  // One typical piece (180 g) at 34.90/kg = 6.282 -> 6.28.
  EXPECT_EQ(CataloguePriceMinor(*apple, PricedBy::kUnit).value_or(-1), 628);
  EXPECT_EQ(CataloguePriceMinor(*milk, PricedBy::kWeight).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_TRUE(CheckAgainstCatalogue(Unit(kAdd, "arla-standard-milk", 1, 1590), *catalogue).ok());
  EXPECT_TRUE(
      CheckAgainstCatalogue(Weighed(kAdd, "granny-smith", 1, 200.0, 3490), *catalogue).ok());
  const Status unknown = CheckAgainstCatalogue(Unit(kAdd, "caviar", 1, 100), *catalogue);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("'caviar'"));
  const Status wrong_price =
      CheckAgainstCatalogue(Unit(kAdd, "arla-standard-milk", 1, 990), *catalogue);
  EXPECT_EQ(wrong_price.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_price.message(), HasSubstr("is 990, the catalogue's is 1590"));
}

}  // namespace
}  // namespace cartsense::basket
