#include "catalog/catalogue.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/checksum.h"

namespace cartsense::catalog {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHeader =
    "product_id,name,fine_id,coarse_id,coarse_name,gtin,plu,sold_by,price_minor,currency,"
    "unit_mass_g,unit_mass_sigma_g,mass_source,iconic_image\n";
constexpr const char* kApple =
    "granny-smith,Apple Granny Smith,1,0,Apple,,4017,kg,3490,SEK,180,27,label,"
    "iconic-images-and-descriptions/Fruit/Apple/Granny-Smith/Granny-Smith_Iconic.jpg\n";
constexpr const char* kMilk =
    "arla-standard-milk,Arla Standard Milk 3% 1 l,41,20,Milk,2000100000410,,unit,1590,SEK,1062,8,"
    "estimated,\n";

std::string ShippedPath() {
  return std::string(CARTSENSE_SOURCE_DIR) + "/data/catalogue/grocery-store-81.csv";
}

// The error for a catalogue of the two good rows plus `row` (line 4).
std::string ErrorFor(const std::string& row) {
  auto parsed = Catalogue::Parse(std::string(kHeader) + kApple + kMilk + row, "t.csv");
  EXPECT_FALSE(parsed.ok()) << row;
  return parsed.ok() ? "" : parsed.status().message();
}

// A copy of the milk row with field `index` replaced.
std::string MilkWith(std::size_t index, const std::string& value) {
  std::vector<std::string> fields;
  std::string row = kMilk;
  row.pop_back();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = row.find(',', start);
    fields.push_back(row.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // Fresh identifiers, so the copy does not trip the duplicate checks.
  fields[0] = "other-milk";
  fields[2] = "42";
  fields[5] = "2000100000427";
  fields.at(index) = value;
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i == 0 ? "" : ",") + fields[i];
  return out + "\n";
}

TEST(GtinTest, CheckDigitOfKnownCodes) {
  EXPECT_EQ(GtinCheckDigit("400638133393"), 1);   // EAN-13 4006381333931
  EXPECT_EQ(GtinCheckDigit("501234567890"), 0);   // GS1 example 5012345678900
  EXPECT_EQ(GtinCheckDigit("03600029145"), 2);    // UPC-A 036000291452
  EXPECT_EQ(GtinCheckDigit("9638507"), 4);        // EAN-8 96385074
  EXPECT_EQ(GtinCheckDigit("1001234567890"), 2);  // GTIN-14 10012345678902 (case)
  EXPECT_EQ(GtinCheckDigit("12a"), -1);
  EXPECT_EQ(GtinCheckDigit(""), -1);

  EXPECT_TRUE(HasValidGtinCheckDigit("4006381333931"));
  EXPECT_TRUE(HasValidGtinCheckDigit("5012345678900"));
  EXPECT_TRUE(HasValidGtinCheckDigit("036000291452"));
  EXPECT_TRUE(HasValidGtinCheckDigit("96385074"));
  EXPECT_TRUE(HasValidGtinCheckDigit("10012345678902"));
  EXPECT_FALSE(HasValidGtinCheckDigit("4006381333932"));
  EXPECT_FALSE(HasValidGtinCheckDigit("036000291453"));
  EXPECT_FALSE(HasValidGtinCheckDigit("400638133393"));    // 12 digits, wrong check
  EXPECT_FALSE(HasValidGtinCheckDigit("40063813339311"));  // 14 digits, wrong check
  EXPECT_FALSE(HasValidGtinCheckDigit("0000000000"));      // 10 digits: no such GTIN
  EXPECT_FALSE(HasValidGtinCheckDigit("400638133393x"));
  EXPECT_FALSE(HasValidGtinCheckDigit(""));
}

TEST(GtinTest, NormalizeUpcAAndEan) {
  EXPECT_EQ(NormalizeGtin("036000291452").value_or(""), "0036000291452");
  EXPECT_EQ(NormalizeGtin("4006381333931").value_or(""), "4006381333931");
  EXPECT_EQ(NormalizeGtin("96385074").value_or(""), "96385074");             // EAN-8 as is
  EXPECT_EQ(NormalizeGtin("00036000291452").value_or(""), "0036000291452");  // GTIN-14, item
  EXPECT_FALSE(NormalizeGtin("10012345678902").ok());  // indicator 1: a case of items
  EXPECT_FALSE(NormalizeGtin("036000291453").ok());
  EXPECT_FALSE(NormalizeGtin("4006381333932").ok());
  EXPECT_FALSE(NormalizeGtin("4006381333").ok());
  EXPECT_FALSE(NormalizeGtin("").ok());
  EXPECT_FALSE(NormalizeGtin(" 4006381333931").ok());
  const auto bad = NormalizeGtin("4006381333932");
  EXPECT_THAT(bad.status().message(), HasSubstr("check digit is 2, expected 1"));
}

// UPC-E zero suppression (GS1 General Specifications): the sixth data digit says where the
// manufacturer number's zeros were removed.
TEST(GtinTest, ExpandsUpcE) {
  // Last digit 0-2: manufacturer d1 d2 d6 0 0, item 0 0 d3 d4 d5.
  EXPECT_EQ(NormalizeGtin("04252614").value_or(""), "0042100005264");
  EXPECT_EQ(NormalizeGtin("01234505").value_or(""), "0012000003455");
  // Last digit 3: manufacturer d1 d2 d3 0 0, item 0 0 0 d4 d5.
  EXPECT_EQ(NormalizeGtin("01234531").value_or(""), "0012300000451");
  // Last digit 4: manufacturer d1 d2 d3 d4 0, item 0 0 0 0 d5.
  EXPECT_EQ(NormalizeGtin("01234543").value_or(""), "0012340000053");
  // Last digit 5-9: manufacturer d1..d5, item 0 0 0 0 d6.
  EXPECT_EQ(NormalizeGtin("01234565").value_or(""), "0012345000065");
  // Number system 1.
  EXPECT_EQ(NormalizeGtin("12345670").value_or(""), "0123456000070");
  // Each expansion is a valid UPC-A.
  for (const char* upc_e : {"04252614", "01234505", "01234531", "01234543", "01234565"}) {
    const auto gtin = NormalizeGtin(upc_e);
    ASSERT_TRUE(gtin.ok()) << upc_e;
    EXPECT_TRUE(HasValidGtinCheckDigit(*gtin)) << upc_e;
  }
  // Wrong check digit for UPC-E, and not a valid EAN-8 either.
  EXPECT_FALSE(NormalizeGtin("04252615").ok());
}

TEST(CatalogueTest, ParsesAGoodFile) {
  const std::string text = std::string(kHeader) + kApple + kMilk;
  auto parsed = Catalogue::Parse(text, "t.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Catalogue& catalogue = *parsed;
  EXPECT_EQ(catalogue.version(), Sha256Hex(text));
  EXPECT_EQ(catalogue.currency(), "SEK");
  ASSERT_EQ(catalogue.products().size(), 2U);
  const Product* apple = catalogue.FindById("granny-smith");
  ASSERT_NE(apple, nullptr);
  EXPECT_EQ(apple->name, "Apple Granny Smith");
  EXPECT_EQ(apple->fine_id, 1);
  EXPECT_EQ(apple->coarse_id, 0);
  EXPECT_EQ(apple->coarse_name, "Apple");
  EXPECT_EQ(apple->gtin, "");
  EXPECT_EQ(apple->plu, "4017");
  EXPECT_EQ(apple->sold_by, SoldBy::kWeight);
  EXPECT_EQ(apple->price_minor, 3490);
  EXPECT_DOUBLE_EQ(apple->unit_mass_g, 180);
  EXPECT_DOUBLE_EQ(apple->unit_mass_sigma_g, 27);
  EXPECT_EQ(apple->mass_source, MassSource::kLabel);
  EXPECT_EQ(apple->iconic_image,
            "iconic-images-and-descriptions/Fruit/Apple/Granny-Smith/Granny-Smith_Iconic.jpg");
  const Product* milk = catalogue.FindByGtin("2000100000410");
  ASSERT_NE(milk, nullptr);
  EXPECT_EQ(milk->id, "arla-standard-milk");
  EXPECT_EQ(milk->sold_by, SoldBy::kUnit);
  EXPECT_EQ(milk->mass_source, MassSource::kEstimated);
  EXPECT_EQ(catalogue.FindByFineId(41), milk);
  EXPECT_EQ(catalogue.FindByPlu("4017"), apple);
  EXPECT_EQ(catalogue.FindById("nope"), nullptr);
  EXPECT_EQ(catalogue.FindByGtin("4006381333931"), nullptr);
  EXPECT_EQ(catalogue.FindByGtin("garbage"), nullptr);
  EXPECT_EQ(catalogue.FindByFineId(7), nullptr);
  EXPECT_EQ(catalogue.FindByPlu("4011"), nullptr);
}

TEST(CatalogueTest, AcceptsCrlfBomAndMissingFinalNewline) {
  std::string text = std::string("\xEF\xBB\xBF") + kHeader + kApple + kMilk;
  text.pop_back();
  EXPECT_TRUE(Catalogue::Parse(text, "t.csv").ok());
  std::string crlf;
  for (const char c : std::string(kHeader) + kApple + kMilk + "\n") {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto parsed = Catalogue::Parse(crlf, "t.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->products().back().iconic_image, "");
}

TEST(CatalogueTest, FindByGtinTakesUpcA) {
  const std::string row = "cola,Cola,3,1,Soda,0036000291452,,unit,1500,SEK,350,3,estimated,\n";
  auto parsed = Catalogue::Parse(std::string(kHeader) + kApple + row, "t.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_NE(parsed->FindByGtin("036000291452"), nullptr);
  EXPECT_EQ(parsed->FindByGtin("036000291452")->id, "cola");
}

TEST(CatalogueTest, HeaderErrors) {
  auto empty = Catalogue::Parse("", "t.csv");
  EXPECT_THAT(empty.status().message(), HasSubstr("t.csv:1: header"));
  auto only_header = Catalogue::Parse(kHeader, "t.csv");
  EXPECT_THAT(only_header.status().message(), HasSubstr("no products"));
  auto renamed = Catalogue::Parse(
      "id,name,fine_id,coarse_id,coarse_name,gtin,plu,sold_by,price_minor,currency,unit_mass_g,"
      "unit_mass_sigma_g,mass_source,iconic_image\n" +
          std::string(kApple),
      "t.csv");
  EXPECT_THAT(renamed.status().message(), HasSubstr("t.csv:1: header: expected 'product_id,"));
  std::string short_header = kHeader;
  short_header.erase(short_header.rfind(','));
  auto missing = Catalogue::Parse(short_header + "\n" + kApple, "t.csv");
  EXPECT_THAT(missing.status().message(), HasSubstr("t.csv:1: header"));
}

TEST(CatalogueTest, RowErrorsNameLineAndField) {
  struct Case {
    std::string row;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // Column count.
      {"a,b,c\n", "t.csv:4: expected 14 fields, found 3"},
      {MilkWith(13, "x,y"), "t.csv:4: expected 14 fields, found 15"},
      // Ids.
      {MilkWith(0, "Other-Milk"), "t.csv:4: product_id: 'Other-Milk' may hold only"},
      {MilkWith(0, "milk 2"), "t.csv:4: product_id:"},
      {MilkWith(0, ""), "t.csv:4: product_id: is empty"},
      {MilkWith(0, "granny-smith"),
       "t.csv:4: product_id: 'granny-smith' is already used on line 2"},
      {MilkWith(1, ""), "t.csv:4: name: is empty"},
      {MilkWith(1, "say \"milk\""), "t.csv:4: name:"},
      {MilkWith(2, "1"), "t.csv:4: fine_id: 1 is already used on line 2"},
      {MilkWith(2, "-1"), "t.csv:4: fine_id: expected a non-negative integer, found '-1'"},
      {MilkWith(2, "4.5"), "t.csv:4: fine_id:"},
      {MilkWith(2, "99999999999999999999999"), "t.csv:4: fine_id:"},
      {MilkWith(3, "x"), "t.csv:4: coarse_id:"},
      {MilkWith(4, ""), "t.csv:4: coarse_name: is empty"},
      // GTIN.
      {MilkWith(5, "2000100000411"), "t.csv:4: gtin: check digit is 1, expected 0"},
      {MilkWith(5, "036000291452"), "t.csv:4: gtin: expected 13 digits, found 12"},
      {MilkWith(5, "20001000004100"), "t.csv:4: gtin: expected 13 digits, found 14"},
      {MilkWith(5, "96385074"), "t.csv:4: gtin: expected 13 digits, found 8"},
      {MilkWith(5, "200010000041O"), "t.csv:4: gtin: expected 13 digits, found '200010000041O'"},
      {MilkWith(5, "2000100000410"), "t.csv:4: gtin: 2000100000410 is already used on line 3"},
      // PLU.
      {MilkWith(6, "401"), "t.csv:4: plu: expected 4 or 5 digits, found '401'"},
      {MilkWith(6, "940111"), "t.csv:4: plu: expected 4 or 5 digits"},
      {MilkWith(6, "40a1"), "t.csv:4: plu:"},
      {MilkWith(6, "4017"), "t.csv:4: plu: 4017 is already used on line 2"},
      // Sold by.
      {MilkWith(7, "piece"), "t.csv:4: sold_by: expected 'unit' or 'kg', found 'piece'"},
      {MilkWith(7, "kg"), "t.csv:4: gtin: a product sold by kg has no GTIN of its own"},
      // Price.
      {MilkWith(8, "-100"), "t.csv:4: price_minor: expected a non-negative integer"},
      {MilkWith(8, "15.90"), "t.csv:4: price_minor: expected a non-negative integer"},
      {MilkWith(8, ""), "t.csv:4: price_minor:"},
      {MilkWith(8, "99999999999999999999"), "t.csv:4: price_minor: '99999999999999999999' is out"},
      // Currency.
      {MilkWith(9, "EUR"), "t.csv:4: currency: 'EUR' differs from 'SEK' on line 2"},
      {MilkWith(9, "sek"), "t.csv:4: currency: expected an ISO 4217 code"},
      {MilkWith(9, ""), "t.csv:4: currency:"},
      // Masses.
      {MilkWith(10, "0"), "t.csv:4: unit_mass_g: must be positive"},
      {MilkWith(10, "-5"), "t.csv:4: unit_mass_g: must be positive"},
      {MilkWith(10, "nan"), "t.csv:4: unit_mass_g: expected a decimal number"},
      {MilkWith(10, "inf"), "t.csv:4: unit_mass_g: expected a decimal number"},
      {MilkWith(10, "1e400"), "t.csv:4: unit_mass_g: expected a decimal number"},
      {MilkWith(10, std::string(400, '9')), "t.csv:4: unit_mass_g: expected a decimal number"},
      {MilkWith(10, "1.2.3"), "t.csv:4: unit_mass_g:"},
      {MilkWith(10, " 100"), "t.csv:4: unit_mass_g:"},
      {MilkWith(10, ""), "t.csv:4: unit_mass_g:"},
      {MilkWith(11, "-1"), "t.csv:4: unit_mass_sigma_g: must not be negative"},
      {MilkWith(11, "x"), "t.csv:4: unit_mass_sigma_g: expected a decimal number"},
      // Mass source.
      {MilkWith(12, "guess"), "t.csv:4: mass_source: expected 'label' or 'estimated'"},
      {MilkWith(12, "Label"), "t.csv:4: mass_source:"},
      // Iconic image.
      {MilkWith(13, "/abs/path.jpg"), "t.csv:4: iconic_image: '/abs/path.jpg' must be relative"},
      {MilkWith(13, "a/../../etc/passwd"), "t.csv:4: iconic_image:"},
      // Blank line inside.
      {"\n" + MilkWith(0, "x"), "t.csv:4: blank line inside the catalogue"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ErrorFor(c.row), HasSubstr(c.expected)) << c.row;
  }
  // The same rows that fail above are fine with the copy's own values.
  auto good =
      Catalogue::Parse(std::string(kHeader) + kApple + kMilk + MilkWith(0, "ok-milk"), "t.csv");
  EXPECT_TRUE(good.ok()) << good.status().ToString();
}

TEST(CatalogueTest, ErrorQuotesAreBoundedAndEscaped) {
  const std::string message = ErrorFor(MilkWith(7, std::string(500, 'x') + "\x01"));
  EXPECT_LT(message.size(), 200U);
  EXPECT_THAT(ErrorFor(MilkWith(7, "a\x01")), HasSubstr("'a\\x01'"));
}

TEST(CatalogueTest, ToCsvParsesBackToTheSameProducts) {
  auto parsed = Catalogue::Parse(std::string(kHeader) + kApple + kMilk, "t.csv");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ToCsv(), std::string(kHeader) + kApple + kMilk);

  // Extreme masses print without an exponent (the parser takes none) and read back exactly.
  const std::string extreme = std::string(kHeader) + "x,X,0,0,X,,,unit,0,SEK,1" +
                              std::string(300, '0') + ",0." + std::string(300, '0') +
                              "1,estimated,\n";
  auto big = Catalogue::Parse(extreme, "t.csv");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  auto again = Catalogue::Parse(big->ToCsv(), "again.csv");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->products()[0].unit_mass_g, big->products()[0].unit_mass_g);
  EXPECT_EQ(again->products()[0].unit_mass_sigma_g, big->products()[0].unit_mass_sigma_g);
  EXPECT_EQ(again->ToCsv(), big->ToCsv());
}

TEST(CatalogueTest, LoadNamesMissingFile) {
  auto missing = Catalogue::Load("/nonexistent/catalogue.csv");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/catalogue.csv"));
}

TEST(ShippedCatalogueTest, LoadsAllEightyOneProducts) {
  auto loaded = Catalogue::Load(ShippedPath());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Catalogue& catalogue = *loaded;
  ASSERT_EQ(catalogue.products().size(), 81U);
  EXPECT_EQ(catalogue.currency(), "SEK");

  std::ifstream in(ShippedPath(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(catalogue.version(), Sha256Hex(bytes));
  // The file is written in the loader's own format.
  EXPECT_EQ(catalogue.ToCsv(), bytes);

  std::set<int> fine_ids;
  int packaged = 0;
  for (std::size_t i = 0; i < catalogue.products().size(); ++i) {
    const Product& p = catalogue.products()[i];
    SCOPED_TRACE(p.id);
    EXPECT_EQ(p.fine_id, static_cast<int>(i));  // rows in fine id order
    EXPECT_TRUE(fine_ids.insert(p.fine_id).second);
    EXPECT_EQ(catalogue.FindByFineId(p.fine_id), &p);
    EXPECT_EQ(catalogue.FindById(p.id), &p);
    EXPECT_GE(p.coarse_id, 0);
    EXPECT_LE(p.coarse_id, 42);
    EXPECT_GT(p.price_minor, 0);
    EXPECT_GT(p.unit_mass_g, 0);
    EXPECT_GT(p.unit_mass_sigma_g, 0);
    EXPECT_LT(p.unit_mass_sigma_g, p.unit_mass_g);
    EXPECT_FALSE(p.iconic_image.empty());
    const bool is_pack = p.iconic_image.rfind("iconic-images-and-descriptions/Packages/", 0) == 0;
    if (is_pack) {
      ++packaged;
      EXPECT_EQ(p.gtin.size(), 13U);
      EXPECT_TRUE(HasValidGtinCheckDigit(p.gtin));
      // GS1 restricted circulation: prefixes 200-299 are never real products.
      EXPECT_EQ(p.gtin[0], '2');
      EXPECT_EQ(catalogue.FindByGtin(p.gtin), &p);
      EXPECT_EQ(p.sold_by, SoldBy::kUnit);
      EXPECT_TRUE(p.plu.empty());
      // Every pack mass is volume or net mass plus packaging: an estimate.
      EXPECT_EQ(p.mass_source, MassSource::kEstimated);
    } else {
      EXPECT_TRUE(p.gtin.empty());
      if (!p.plu.empty()) {
        EXPECT_EQ(catalogue.FindByPlu(p.plu), &p);
      }
    }
  }
  EXPECT_EQ(fine_ids.size(), 81U);
  EXPECT_EQ(*fine_ids.begin(), 0);
  EXPECT_EQ(*fine_ids.rbegin(), 80);
  EXPECT_EQ(packaged, 31);

  // Spot checks against the dataset's information texts and the brief's figures.
  const Product* banana = catalogue.FindById("banana");
  ASSERT_NE(banana, nullptr);
  EXPECT_EQ(banana->plu, "94011");  // organic bananas
  EXPECT_EQ(banana->sold_by, SoldBy::kWeight);
  const Product* juice = catalogue.FindById("tropicana-apple-juice");
  ASSERT_NE(juice, nullptr);
  EXPECT_GE(juice->unit_mass_g, 1040);
  EXPECT_LE(juice->unit_mass_g, 1070);
  EXPECT_EQ(catalogue.FindByPlu("4011"), nullptr);
  EXPECT_EQ(catalogue.FindByPlu("4017")->id, "granny-smith");
}

}  // namespace
}  // namespace cartsense::catalog
