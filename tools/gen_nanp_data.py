#!/usr/bin/env python3
"""Generate crates/outdial-core/src/nanp/generated.rs from the PyPI `phonenumbers` package.

`phonenumbers` is the Python port of Google's libphonenumber (Apache-2.0). It ships
libphonenumber's prefix → time-zone map (`phonenumbers.tzdata`, from
`resources/timezones/map_data.txt`) and its English geocoding data (`phonenumbers.geodata`,
from `resources/geocoding/en/1.txt` for +1). This script keeps only North American
Numbering Plan (+1) entries and writes two sorted Rust tables for longest-prefix lookup:

* `TZ_PREFIXES`: E.164 digit prefix → candidate IANA zones, copied verbatim except the
  bare country-level `"1"` entry (every NANP zone, Guam to Newfoundland), which is left
  out so that an unknown +1 prefix gives no candidate instead of 42 of them.
* `STATE_PREFIXES`: E.164 digit prefix → two-letter USPS / Canada Post code, derived from
  the geocoder descriptions (`"New Jersey"` → `NJ`, `"Jersey City, NJ"` → `NJ`), plus the US
  territories' area codes from libphonenumber's region metadata (787/939 → PR, …).
  Descriptions that name several regions (`"Nova Scotia/Prince Edward Island"`) or a place
  outside the US and Canada (`"New Providence"`, Bahamas) give no entry. Entries that repeat
  the code of their nearest shorter prefix are pruned; lookups are unchanged by this
  (checked below).

Usage:
    pip install phonenumbers==9.0.43
    python3 tools/gen_nanp_data.py            # writes the Rust file
    python3 tools/gen_nanp_data.py --check    # exit 1 if the file is not up to date

The output is deterministic: same package version, same bytes.
"""

import argparse
import hashlib
import json
import os
import re
import sys

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.timezone import time_zones_for_geographical_number
from phonenumbers.tzdata import TIMEZONE_DATA

PINNED_VERSION = "9.0.43"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "crates", "outdial-core", "src", "nanp", "generated.rs")

# Two-letter codes: USPS for the states, DC and the inhabited territories; Canada Post for
# the provinces and territories.
US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR",
    "California": "CA", "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "District of Columbia": "DC",
}
US_TERRITORIES = {"PR", "VI", "GU", "AS", "MP"}  # ISO 3166-1 == USPS for these five
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK",
    "Northwest Territories": "NT", "Nunavut": "NU", "Yukon": "YT",
}
# Spellings in the geocoder data that are not the plain name, and the few descriptions that
# name a place rather than a region.
ALIASES = {
    "British Colombia": "BC",  # sic, libphonenumber en/1.txt
    "Washington State": "WA",
    "Washington D.C.": "DC",
    "Watson Lake": "YT",  # 1867536, Watson Lake, Yukon
    "Tamuning": "GU",  # 1671646, Tamuning, Guam
}
NAME_TO_CODE = {**US_STATES, **CA_PROVINCES, **ALIASES}
VALID_CODES = set(US_STATES.values()) | US_TERRITORIES | set(CA_PROVINCES.values())
CITY_ST = re.compile(r"^.+, ([A-Z]{2})$")


def region_code(description):
    """Two-letter code for a geocoder description, or None when it names no single
    US state/territory or Canadian province/territory."""
    m = CITY_ST.match(description)
    if m:
        code = m.group(1)
        if code not in VALID_CODES:
            raise SystemExit(f"unknown region code in description {description!r}")
        return code
    return NAME_TO_CODE.get(description)


def longest_prefix(table, digits, max_len):
    """The value of the longest key of `table` that prefixes `digits`, else None."""
    for n in range(min(max_len, len(digits)), 0, -1):
        if digits[:n] in table:
            return table[digits[:n]]
    return None


def build_tz():
    tz = {k: tuple(v) for k, v in TIMEZONE_DATA.items() if k.startswith("1") and k != "1"}
    return dict(sorted(tz.items()))


def build_regions():
    """Returns (pruned table, unpruned table incl. None entries, notes)."""
    raw = {}
    unmapped = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1"):
            continue
        desc = names.get("en")
        if desc is None:
            continue
        code = region_code(desc)
        raw[prefix] = code
        if code is None:
            unmapped[desc] = unmapped.get(desc, 0) + 1
    # US territories: their area codes from libphonenumber's region metadata.
    for region in sorted(US_TERRITORIES):
        meta = PhoneMetadata.metadata_for_region(region)
        assert meta.country_code == 1, region
        for npa in meta.leading_digits.split("|"):
            assert re.fullmatch(r"[2-9]\d\d", npa), (region, npa)
            key = "1" + npa
            if raw.get(key) not in (None, region):
                raise SystemExit(f"{key}: geocoder says {raw[key]}, metadata says {region}")
            raw[key] = region
    raw = dict(sorted(raw.items()))

    # An unmapped (None) entry must not shadow a mapped shorter prefix, or dropping it would
    # change the answer for its numbers.
    mapped = {k: v for k, v in raw.items() if v is not None}
    max_len = max(len(k) for k in raw)
    for k, v in raw.items():
        if v is None and longest_prefix(mapped, k, max_len) is not None:
            raise SystemExit(f"unmapped {k} ({GEOCODE_DATA[k]['en']!r}) shadows a mapped prefix")

    # Prune entries whose code equals the code their nearest shorter prefix already gives.
    pruned = {}
    for k in sorted(mapped, key=lambda p: (len(p), p)):
        if longest_prefix(pruned, k[:-1], max_len) != mapped[k]:
            pruned[k] = mapped[k]
    pruned = dict(sorted(pruned.items()))
    return pruned, raw, unmapped


def self_check(tz, regions, raw_regions):
    """Compare the tables with phonenumbers' own lookups on sample numbers."""
    keys = sorted(set(tz) | set(raw_regions))
    samples = set()
    for k in keys:
        for fill in "0259":
            samples.add((k + fill * 11)[:11])
    tz_max = max(len(k) for k in tz)
    raw_max = max(len(k) for k in raw_regions)
    checked = 0
    for digits in sorted(samples):
        ours = longest_prefix(tz, digits, tz_max) or ()
        num = phonenumbers.PhoneNumber(country_code=1, national_number=int(digits[1:]))
        theirs = tuple(time_zones_for_geographical_number(num))
        if theirs == tuple(TIMEZONE_DATA["1"]) or theirs == ("Etc/Unknown",):
            theirs = ()
        if ours != theirs:
            raise SystemExit(f"tz mismatch for +{digits}: {ours} vs phonenumbers {theirs}")
        unpruned = longest_prefix(raw_regions, digits, raw_max)
        if longest_prefix(regions, digits, raw_max) != unpruned:
            raise SystemExit(f"pruning changed the region of +{digits}")
        checked += 1
    return checked


def zone_ident(zone):
    # "America/North_Dakota/Center" -> "NORTH_DAKOTA_CENTER"; "Pacific/Honolulu" -> "HONOLULU"
    return "_".join(zone.split("/")[1:]).upper()


def zone_variant(zone):
    # chrono-tz names variants by replacing "/" with "__": Tz::America__North_Dakota__Center
    return "Tz::" + zone.replace("/", "__").replace("-", "_")


def render(tz, regions, checked, unmapped):
    zone_sets = sorted(set(tz.values()))
    idents = [zone_ident(z) for z in sorted({z for s in zone_sets for z in s})]
    assert len(idents) == len(set(idents)), "zone identifier clash"
    set_name = {s: "_AND_".join(zone_ident(z) for z in s) for s in zone_sets}
    assert len(set(set_name.values())) == len(zone_sets)
    max_len = max(len(k) for k in list(tz) + list(regions))
    digest = hashlib.sha256(
        json.dumps(
            {
                "tz": {k: list(v) for k, v in TIMEZONE_DATA.items() if k.startswith("1")},
                "geo": {k: v.get("en") for k, v in GEOCODE_DATA.items() if k.startswith("1")},
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()

    out = []
    w = out.append
    w("// @generated by tools/gen_nanp_data.py — do not edit; re-run the generator instead.")
    w("//")
    w(f"// Source: PyPI `phonenumbers` {phonenumbers.__version__} (Python port of Google's")
    w(f"// libphonenumber v{phonenumbers.__version__}), https://github.com/daviddrysdale/python-phonenumbers")
    w("//   time zones: phonenumbers.tzdata (libphonenumber resources/timezones/map_data.txt)")
    w("//   regions:    phonenumbers.geodata, English (libphonenumber resources/geocoding/en/1.txt),")
    w("//               and US territory area codes from phonenumbers' region metadata")
    w("// Copyright (C) 2011-2026 The Libphonenumber Authors.")
    w("// License: Apache-2.0 (http://www.apache.org/licenses/LICENSE-2.0);")
    w("// see crates/outdial-core/NOTICE-libphonenumber.md.")
    w(f"// SHA-256 of the +1 input entries (tz + en geocoding, JSON, sorted keys): {digest}")
    w(f"// {len(tz)} time-zone prefixes in {len(zone_sets)} zone sets; {len(regions)} region prefixes;")
    w(f"// {checked} sample numbers cross-checked against phonenumbers' own lookup.")
    if unmapped:
        w("// Geocoder descriptions with no single US/Canadian region (no entry):")
        for desc, n in sorted(unmapped.items()):
            w(f"//   {desc} ({n})")
    w("")
    w("use chrono_tz::Tz;")
    w("")
    w("/// Version of the PyPI `phonenumbers` package (= libphonenumber release) the tables come from.")
    w(f'pub const SOURCE_VERSION: &str = "{phonenumbers.__version__}";')
    w("")
    w("/// Length of the longest prefix in either table, in digits after `+`.")
    w(f"pub const MAX_PREFIX_LEN: usize = {max_len};")
    w("")
    for s in zone_sets:
        zones = ", ".join(zone_variant(z) for z in s)
        line = f"const {set_name[s]}: &[Tz] = &[{zones}];"
        if len(line) <= 100:  # rustfmt's max_width; wrap as rustfmt would
            w(line)
        elif len(f"    &[{zones}];") <= 100:
            w(f"const {set_name[s]}: &[Tz] =\n    &[{zones}];")
        else:
            w(f"const {set_name[s]}: &[Tz] = &[")
            for z in s:
                w(f"    {zone_variant(z)},")
            w("];")
    w("")
    w("/// E.164 digit prefix (after `+`) → candidate IANA zones, sorted by prefix.")
    w("/// From libphonenumber's time-zone map, +1 only, without the country-level `1` entry.")
    w("pub static TZ_PREFIXES: &[(&str, &[Tz])] = &[")
    for k, v in tz.items():
        w(f'    ("{k}", {set_name[v]}),')
    w("];")
    w("")
    w("/// E.164 digit prefix (after `+`) → two-letter USPS / Canada Post code, sorted by prefix.")
    w("/// From libphonenumber's English geocoding data, pruned of prefixes that repeat the code")
    w("/// of their nearest shorter prefix.")
    w("pub static STATE_PREFIXES: &[(&str, &str)] = &[")
    for k, v in regions.items():
        w(f'    ("{k}", "{v}"),')
    w("];")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output path (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    args = ap.parse_args()

    if phonenumbers.__version__ != PINNED_VERSION:
        raise SystemExit(
            f"phonenumbers {phonenumbers.__version__} installed, {PINNED_VERSION} pinned: "
            f"`pip install phonenumbers=={PINNED_VERSION}` or update PINNED_VERSION and tools/README.md"
        )
    tz = build_tz()
    regions, raw_regions, unmapped = build_regions()
    checked = self_check(tz, regions, raw_regions)
    text = render(tz, regions, checked, unmapped)

    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{args.out} is out of date; run tools/gen_nanp_data.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(
        f"wrote {args.out}: {len(tz)} tz prefixes, {len(regions)} region prefixes, "
        f"{len(text.encode())} bytes; {checked} samples cross-checked",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
