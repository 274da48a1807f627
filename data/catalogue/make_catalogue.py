#!/usr/bin/python3
"""Writes data/catalogue/grocery-store-81.csv, the store catalogue for the 81 products of the
Grocery Store dataset (format: docs/catalogue.md).

    /usr/bin/python3 data/catalogue/make_catalogue.py [--dataset DIR] [--out FILE] [--check]

What comes from the dataset: names of classes, fine and coarse ids, iconic image paths (all from
classes.csv), the typical mass of one piece of produce and the net contents of packs (from each
product's *_Information.txt), and whether the store sells a product by piece or by weight (the
product URL in the information text ends in _ST, "styck", or _KG).

What is decided here, in DECISIONS below: display names, PLUs, prices, masses where the text
gives none, spreads, pack densities and packaging masses. GTINs follow GTIN_PREFIX (below).

Standard library only, deterministic: the same dataset gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from pathlib import Path

DEFAULT_DATASET = Path("/work/shared/data/grocery-store")
DEFAULT_OUT = Path(__file__).resolve().parent / "grocery-store-81.csv"

COLUMNS = [
    "product_id",
    "name",
    "fine_id",
    "coarse_id",
    "coarse_name",
    "gtin",
    "plu",
    "sold_by",
    "price_minor",
    "currency",
    "unit_mass_g",
    "unit_mass_sigma_g",
    "mass_source",
    "iconic_image",
]
CURRENCY = "SEK"

# GTINs. We hold no real GTINs for these products, so packaged goods get GTIN-13 numbers from
# the GS1 restricted-circulation range (prefixes 200-299, "in-store numbers"), which GS1 never
# allocates to a company: they cannot collide with a real product's barcode. The rule:
#     "200" + "01" + fine_id as 7 digits + GS1 check digit
# e.g. fine id 28 -> 200010000028 + check digit 1 -> 2000100000281. No price or weight is
# embedded. A store whose own in-store codes use prefix 20001 must move this block.
GTIN_PREFIX = "20001"

# Pack densities (g/ml) and packaging masses (g, carton or pot with cap or lid) used to estimate
# the gross mass of a pack from its label volume or net mass.
DENSITY_G_PER_ML = {
    "juice": 1.04,  # fruit juices, 8-12 % sugar
    "milk": 1.032,  # cow's milk 0.5-3 % fat
    "plant_drink": 1.03,  # oat and soy drinks
    "yoghurt": 1.04,  # stirred yoghurt
    "sour_cream": 1.01,  # gräddfil 12 %
}
PACKAGING_G = {
    "carton_2l": 55.0,  # 2 l gable-top carton with screw cap
    "carton_1l": 30.0,  # 1 l Tetra Pak / gable top with cap
    "carton_1kg": 30.0,  # 1 kg yoghurt / filmjölk carton
    "carton_3dl": 14.0,  # 3 dl gräddfil carton
    "pot_750g": 28.0,  # 750 g plastic pot with lid
}


def d(
    name, price, *, plu="", mass=None, sigma, sold_by=None, density=None, packaging=None, note=""
):
    """One product's decisions. mass: grams of one piece when the information text gives none
    (always 'estimated'). sigma: spread of one piece or pack in grams (always our estimate).
    sold_by: only to override what the product URL says. density/packaging: packs only."""
    return dict(
        name=name,
        price=price,
        plu=plu,
        mass=mass,
        sigma=sigma,
        sold_by=sold_by,
        density=density,
        packaging=packaging,
        note=note,
    )


# Prices: öre (SEK minor units), plausible Swedish supermarket shelf prices in 2024, per kg when
# the product is sold by weight. Not any store's actual price list.
# PLUs: IFPS codes (4 digits; organic = 9 + the 4-digit code). Empty where no code fits or where
# we are not sure of it; see docs/catalogue.md for the list.
DECISIONS = {
    # --- fruit ---------------------------------------------------------------------------
    "Golden-Delicious": d(
        "Apple Golden Delicious",
        2990,
        plu="4021",
        sigma=27,
        note="4021 small / 4020 large; ca 180 g sits at the size boundary",
    ),
    "Granny-Smith": d("Apple Granny Smith", 3490, plu="4017", sigma=27),
    "Pink-Lady": d("Apple Pink Lady", 4490, plu="4130", sigma=27),
    "Red-Delicious": d(
        "Apple Red Delicious",
        3290,
        plu="4015",
        sigma=24,
        note="4015 small / 4016 large; ca 160 g is the small size",
    ),
    "Royal-Gala": d("Apple Royal Gala", 3290, plu="4173", sigma=27),
    "Avocado": d("Avocado", 1490, plu="4046", mass=200, sigma=35, note="Hass, per piece"),
    "Banana": d(
        "Banana Organic",
        2990,
        plu="94011",
        sigma=25,
        note="the information text sells organic bananas: 9 + 4011",
    ),
    "Kiwi": d("Kiwi", 500, plu="4030", mass=90, sigma=14),
    "Lemon": d("Lemon", 700, plu="4053", mass=130, sigma=22),
    "Lime": d("Lime", 600, plu="4048", mass=70, sigma=12),
    "Mango": d("Mango", 2490, plu="4051", mass=400, sigma=80),
    "Cantaloupe": d("Melon Cantaloupe", 3490, plu="4050", sigma=180),
    "Galia-Melon": d("Melon Galia", 2990, sigma=170),
    "Honeydew-Melon": d("Melon Honeydew", 2490, plu="4034", sigma=220),
    "Watermelon": d("Watermelon", 1990, plu="4031", sigma=700),
    "Nectarine": d("Nectarine", 4490, sigma=30),
    "Orange": d("Orange", 2990, plu="4012", sigma=45, note="navel oranges assumed"),
    "Papaya": d("Papaya", 3490, plu="4052", mass=600, sigma=150),
    "Passion-Fruit": d("Passion Fruit", 800, mass=45, sigma=9),
    "Peach": d("Peach", 4490, plu="4044", sigma=30),
    "Anjou": d("Pear Anjou", 3990, plu="4025", sigma=30),
    "Conference": d("Pear Conference", 3490, sigma=35),
    "Kaiser": d("Pear Kaiser (Bosc)", 3990, plu="4026", sigma=28),
    "Pineapple": d("Pineapple", 3490, plu="4430", mass=1400, sigma=250),
    "Plum": d("Plum Red", 4990, plu="4042", sigma=14),
    "Pomegranate": d("Pomegranate", 4990, sigma=80),
    "Red-Grapefruit": d("Grapefruit Red", 1290, mass=400, sigma=60),
    "Satsumas": d("Satsumas", 3490, sigma=20),
    # --- packs: juice ----------------------------------------------------------------------
    "Bravo-Apple-Juice": d(
        "Bravo Apple Juice 2 l", 3990, sigma=12, density="juice", packaging="carton_2l"
    ),
    "Bravo-Orange-Juice": d(
        "Bravo Orange Juice 2 l", 3990, sigma=12, density="juice", packaging="carton_2l"
    ),
    "God-Morgon-Apple-Juice": d(
        "God Morgon Apple Juice 1 l", 2990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "God-Morgon-Orange-Juice": d(
        "God Morgon Orange Juice 1 l", 2990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "God-Morgon-Orange-Red-Grapefruit-Juice": d(
        "God Morgon Orange & Red Grapefruit Juice 1 l",
        2990,
        sigma=8,
        density="juice",
        packaging="carton_1l",
    ),
    "God-Morgon-Red-Grapefruit-Juice": d(
        "God Morgon Red Grapefruit Juice 1 l", 2990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "Tropicana-Apple-Juice": d(
        "Tropicana Apple Juice 1 l", 3990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "Tropicana-Golden-Grapefruit": d(
        "Tropicana Golden Grapefruit 1 l", 3990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "Tropicana-Juice-Smooth": d(
        "Tropicana Smooth Orange Juice 1 l", 3990, sigma=8, density="juice", packaging="carton_1l"
    ),
    "Tropicana-Mandarin-Morning": d(
        "Tropicana Mandarin Morning 1 l", 3990, sigma=8, density="juice", packaging="carton_1l"
    ),
    # --- packs: milk and plant drinks ------------------------------------------------------
    "Arla-Ecological-Medium-Fat-Milk": d(
        "Arla Organic Medium Fat Milk 1.5% 1 l",
        1790,
        sigma=8,
        density="milk",
        packaging="carton_1l",
    ),
    "Arla-Lactose-Medium-Fat-Milk": d(
        "Arla Lactose Free Medium Fat Milk 1.5% 1 l",
        2190,
        sigma=8,
        density="milk",
        packaging="carton_1l",
    ),
    "Arla-Medium-Fat-Milk": d(
        "Arla Medium Fat Milk 1.5% 1 l", 1490, sigma=8, density="milk", packaging="carton_1l"
    ),
    "Arla-Standard-Milk": d(
        "Arla Standard Milk 3% 1 l", 1590, sigma=8, density="milk", packaging="carton_1l"
    ),
    "Garant-Ecological-Medium-Fat-Milk": d(
        "Garant Organic Medium Fat Milk 1.5% 1 l",
        1690,
        sigma=8,
        density="milk",
        packaging="carton_1l",
    ),
    "Garant-Ecological-Standard-Milk": d(
        "Garant Organic Standard Milk 3% 1 l", 1790, sigma=8, density="milk", packaging="carton_1l"
    ),
    "Oatly-Natural-Oatghurt": d(
        "Oatly Natural Oatgurt 1 kg", 3290, sigma=8, packaging="carton_1kg"
    ),
    "Oatly-Oat-Milk": d(
        "Oatly Oat Drink 1 l", 2290, sigma=8, density="plant_drink", packaging="carton_1l"
    ),
    "Arla-Ecological-Sour-Cream": d(
        "Arla Organic Sour Cream 12% 3 dl",
        2290,
        sigma=5,
        density="sour_cream",
        packaging="carton_3dl",
    ),
    "Arla-Sour-Cream": d(
        "Arla Sour Cream 12% 3 dl", 1890, sigma=5, density="sour_cream", packaging="carton_3dl"
    ),
    "Arla-Sour-Milk": d("Arla Sour Milk 3% 1 kg", 1890, sigma=8, packaging="carton_1kg"),
    "Alpro-Blueberry-Soyghurt": d(
        "Alpro Blueberry Soyghurt 750 g", 3290, sigma=7, packaging="pot_750g"
    ),
    "Alpro-Vanilla-Soyghurt": d(
        "Alpro Vanilla Soyghurt 750 g", 3290, sigma=7, packaging="pot_750g"
    ),
    "Alpro-Fresh-Soy-Milk": d(
        "Alpro Fresh Soy Drink 1 l", 2490, sigma=8, density="plant_drink", packaging="carton_1l"
    ),
    "Alpro-Shelf-Soy-Milk": d(
        "Alpro Soy Drink 1 l", 2290, sigma=8, density="plant_drink", packaging="carton_1l"
    ),
    "Arla-Mild-Vanilla-Yoghurt": d(
        "Arla Mild Vanilla Yoghurt 1 l", 2790, sigma=8, density="yoghurt", packaging="carton_1l"
    ),
    "Arla-Natural-Mild-Low-Fat-Yoghurt": d(
        "Arla Mild Low Fat Natural Yoghurt 0.5% 1 l",
        2290,
        sigma=8,
        density="yoghurt",
        packaging="carton_1l",
    ),
    "Arla-Natural-Yoghurt": d(
        "Arla Natural Yoghurt 1 l", 2190, sigma=8, density="yoghurt", packaging="carton_1l"
    ),
    "Valio-Vanilla-Yoghurt": d(
        "Valio Vanilla Yoghurt 2% 1 kg", 3290, sigma=8, packaging="carton_1kg"
    ),
    "Yoggi-Strawberry-Yoghurt": d(
        "Yoggi Strawberry Yoghurt 2% 1 kg", 3190, sigma=8, packaging="carton_1kg"
    ),
    "Yoggi-Vanilla-Yoghurt": d(
        "Yoggi Vanilla Yoghurt 2% 1 l", 3190, sigma=8, density="yoghurt", packaging="carton_1l"
    ),
    # --- vegetables ------------------------------------------------------------------------
    "Asparagus": d(
        "Asparagus Green 250 g bundle", 3990, plu="4080", sigma=12, note="sold per 250 g bundle"
    ),
    "Aubergine": d("Aubergine", 1590, plu="4081", mass=300, sigma=60),
    "Cabbage": d("Cabbage White", 1490, plu="4069", sigma=500),
    "Carrots": d("Carrot", 1490, plu="4562", sigma=40, note="4562 loose; 4094 is bunched"),
    "Cucumber": d(
        "Cucumber",
        1490,
        plu="4593",
        mass=350,
        sigma=50,
        note="Swedish long greenhouse cucumber: 4593 (English/hothouse)",
    ),
    "Garlic": d("Garlic", 8990, plu="4608", sigma=10),
    "Ginger": d("Ginger", 5990, plu="4612", sigma=50),
    "Leek": d("Leek", 3490, plu="4629", sigma=70),
    "Brown-Cap-Mushroom": d(
        "Mushroom Brown Cap", 7990, mass=20, sigma=6, note="sold loose by kg; mass is one mushroom"
    ),
    "Yellow-Onion": d("Onion Yellow", 1490, plu="4093", sigma=35),
    "Green-Bell-Pepper": d("Bell Pepper Green", 4990, plu="4065", sigma=35),
    "Orange-Bell-Pepper": d("Bell Pepper Orange", 5990, plu="3121", sigma=35),
    "Red-Bell-Pepper": d("Bell Pepper Red", 5990, plu="4088", sigma=35),
    "Yellow-Bell-Pepper": d("Bell Pepper Yellow", 5990, plu="4689", sigma=35),
    "Floury-Potato": d("Potato Floury", 1290, mass=120, sigma=40),
    "Solid-Potato": d("Potato Firm", 1290, mass=90, sigma=30),
    "Sweet-Potato": d("Sweet Potato", 2990, plu="4816", sigma=90),
    "Red-Beet": d("Beetroot", 1990, plu="4539", sigma=25),
    "Beef-Tomato": d("Tomato Beef", 4990, plu="4799", sigma=40),
    "Regular-Tomato": d("Tomato", 3990, sigma=15),
    "Vine-Tomato": d("Tomato on the Vine", 4990, plu="4664", sigma=25),
    "Zucchini": d("Zucchini", 1290, plu="4067", mass=300, sigma=70),
}

# Label rule. The information text's "... and volume:" line ends with a quantity:
#   produce: "Country and volume: Italy, ca 180g"     -> the typical mass of one piece
#   packs:   "Manufacturer and volume: ARLA KO , 1l"  -> net contents (a volume or a mass)
# QUANTITY takes the last "<number><unit>" on that line (optional "ca", decimal point or comma,
# units g, kg, ml, cl, dl, l). A produce mass read this way is mass_source 'label'. A pack's
# gross mass is its net mass (net volume x density) plus packaging: always 'estimated'.
VOLUME_LINE = re.compile(r"^\s*[A-Za-z ]*\band volume:\s*(.*)$", re.MULTILINE)
QUANTITY = re.compile(r"(?:ca\s*)?(\d+(?:[.,]\d+)?)\s*(kg|g|ml|cl|dl|l)\b", re.IGNORECASE)
URL_LINE = re.compile(r"^\s*URL:\s*(\S+)", re.MULTILINE)
UNIT_TO_G = {"g": 1.0, "kg": 1000.0}
UNIT_TO_ML = {"ml": 1.0, "cl": 10.0, "dl": 100.0, "l": 1000.0}


def read_label(info_path: Path):
    """(quantity, unit, url_sold_by) from one information text; quantity None if absent."""
    text = info_path.read_text(encoding="utf-8-sig")
    quantity = unit = None
    line = VOLUME_LINE.search(text)
    if line:
        found = QUANTITY.findall(line.group(1))
        if found:
            number, unit = found[-1]
            quantity, unit = float(number.replace(",", ".")), unit.lower()
    url = URL_LINE.search(text)
    if not url:
        raise SystemExit(f"{info_path}: no URL line")
    suffix = url.group(1).rsplit("_", 1)[-1].upper()
    if suffix not in ("KG", "ST"):
        raise SystemExit(f"{info_path}: URL ends in _{suffix}, expected _KG or _ST")
    return quantity, unit, "kg" if suffix == "KG" else "unit"


def information_path(dataset: Path, description: str) -> Path:
    # classes.csv names the description; the information text sits beside it. One product
    # (Cabbage) spells it "Cabbage-Information.txt".
    desc = dataset / description.lstrip("/")
    stem = desc.name[: -len("_Description.txt")]
    for name in (f"{stem}_Information.txt", f"{stem}-Information.txt"):
        if (desc.parent / name).is_file():
            return desc.parent / name
    raise SystemExit(f"{desc.parent}: no information text for {stem}")


def gtin13(fine_id: int) -> str:
    body = f"{GTIN_PREFIX}{fine_id:07d}"
    assert len(body) == 12
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def fmt_g(grams: float) -> str:
    text = f"{grams:.1f}"
    return text[:-2] if text.endswith(".0") else text


def build_rows(dataset: Path):
    with open(dataset / "classes.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)  # header
        classes = [r for r in reader if r]
    if len(classes) != 81 or set(DECISIONS) != {r[0] for r in classes}:
        raise SystemExit("classes.csv and DECISIONS do not name the same 81 products")
    rows = []
    for name, fine, coarse_name, coarse, iconic, description in sorted(
        classes, key=lambda r: int(r[1])
    ):
        dec = DECISIONS[name]
        packaged = iconic.startswith("/iconic-images-and-descriptions/Packages/")
        quantity, unit, url_sold_by = read_label(information_path(dataset, description))
        sold_by = dec["sold_by"] or url_sold_by
        if packaged:
            if quantity is None:
                raise SystemExit(f"{name}: a pack without net contents on its label")
            net_g = (
                quantity * UNIT_TO_G[unit]
                if unit in UNIT_TO_G
                else quantity * UNIT_TO_ML[unit] * DENSITY_G_PER_ML[dec["density"]]
            )
            mass, source = round(net_g + PACKAGING_G[dec["packaging"]]), "estimated"
            gtin = gtin13(int(fine))
            if dec["plu"] or dec["mass"] is not None or sold_by != "unit":
                raise SystemExit(f"{name}: a pack takes no PLU, no piece mass and sells by unit")
        else:
            gtin = ""
            if quantity is not None and unit in UNIT_TO_G:
                mass, source = quantity * UNIT_TO_G[unit], "label"
                if dec["mass"] is not None:
                    raise SystemExit(f"{name}: the label gives a mass; drop the estimate")
            elif dec["mass"] is not None:
                mass, source = float(dec["mass"]), "estimated"
            else:
                raise SystemExit(f"{name}: no label mass and no estimate")
        row = {
            "product_id": name.lower(),
            "name": dec["name"],
            "fine_id": fine,
            "coarse_id": coarse,
            "coarse_name": coarse_name,
            "gtin": gtin,
            "plu": dec["plu"],
            "sold_by": sold_by,
            "price_minor": str(dec["price"]),
            "currency": CURRENCY,
            "unit_mass_g": fmt_g(mass),
            "unit_mass_sigma_g": fmt_g(dec["sigma"]),
            "mass_source": source,
            "iconic_image": iconic.lstrip("/"),
        }
        check_row(row)
        rows.append(row)
    return rows


def check_row(row):
    assert re.fullmatch(r"[a-z0-9-]+", row["product_id"]), row
    for value in row.values():
        assert "," not in value and '"' not in value, row
    assert row["plu"] == "" or re.fullmatch(r"\d{4,5}", row["plu"]), row
    assert row["sold_by"] == "unit" or row["gtin"] == "", row
    assert math.isfinite(float(row["unit_mass_g"])) and float(row["unit_mass_g"]) > 0, row


def render(rows) -> str:
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for row in rows:
        out.write(",".join(row[c] for c in COLUMNS) + "\n")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if --out differs from what would be written"
    )
    args = parser.parse_args()
    rows = build_rows(args.dataset)
    text = render(rows)
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    labels = sum(r["mass_source"] == "label" for r in rows)
    plus = sum(r["plu"] != "" for r in rows)
    gtins = sum(r["gtin"] != "" for r in rows)
    print(
        f"{args.out}: {len(rows)} products, {labels} label masses, "
        f"{len(rows) - labels} estimated, {plus} PLUs, {gtins} GTINs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
