//! North American Numbering Plan (+1) numbers → candidate time zones and state/province.
//!
//! Source: Google's libphonenumber data (Apache-2.0) as shipped in the PyPI `phonenumbers`
//! package, version [`SOURCE_VERSION`]: the time-zone map (`resources/timezones/map_data.txt`)
//! and the English geocoding data for +1 (`resources/geocoding/en/1.txt`). The tables live in
//! `generated.rs`, written by `tools/gen_nanp_data.py`; see `tools/README.md` to regenerate
//! and `NOTICE-libphonenumber.md` for attribution.
//!
//! Both lookups take the longest prefix of the E.164 digits (after `+`) found in the table,
//! as libphonenumber does: an area-code entry (`1850`) applies unless a finer NPA-NXX entry
//! (`1850215`) exists. The answer is what the numbering data says about where a number was
//! *assigned*; a ported or mobile number may be used elsewhere, which is why the compliance
//! rules allow a call only when every candidate zone allows it.
//!
//! The data is coarse in places, and is used as is: Indiana's 317 gives `America/New_York`
//! (not `America/Indiana/Indianapolis`), and some area codes are known only by exchange (208
//! has no area-code-level zone entry, so an exchange missing from the data gives no zone).

#[rustfmt::skip]
mod generated;

use crate::phone::E164;
use chrono_tz::Tz;
use generated::{MAX_PREFIX_LEN, STATE_PREFIXES, TZ_PREFIXES};

/// The PyPI `phonenumbers` version (which is also the libphonenumber release, e.g. `9.0.43`)
/// the tables of this module were generated from by `tools/gen_nanp_data.py`.
pub use generated::SOURCE_VERSION;

/// Candidate IANA time zones for a +1 number, from libphonenumber's time-zone map
/// (`phonenumbers` [`SOURCE_VERSION`]), by the longest matching prefix of its digits.
///
/// Several zones mean the number's area code or exchange spans them (for example
/// `[America/Denver, America/Phoenix]` for some Navajo Nation exchanges of 928). The result is
/// empty when the number is not +1, or when no prefix of it is in the data (toll-free and
/// other non-geographic codes, unassigned area codes, an unlisted exchange of an area code
/// known only by exchange). libphonenumber's country-level fallback for +1, which lists every
/// NANP zone from Guam to Newfoundland, is deliberately left out.
pub fn time_zones(number: &E164) -> &'static [Tz] {
    longest_prefix(TZ_PREFIXES, number).unwrap_or(&[])
}

/// The two-letter code (USPS for US states, DC and territories; Canada Post for provinces and
/// territories) of the region a +1 number's area code or exchange is assigned to, from
/// libphonenumber's English geocoding data (`phonenumbers` [`SOURCE_VERSION`]), by the longest
/// matching prefix of its digits. US territories (PR, VI, GU, AS, MP) come from
/// libphonenumber's region metadata.
///
/// `None` when the number is not +1, is a non-geographic or unknown code, belongs to a NANP
/// country other than the US and Canada, or its area code spans several regions (902/782:
/// Nova Scotia and Prince Edward Island; 867: the three northern territories) and the data
/// has no entry for its exchange.
pub fn region(number: &E164) -> Option<&'static str> {
    longest_prefix(STATE_PREFIXES, number)
}

/// The value of the longest entry of `table` (sorted by prefix) that prefixes the number's
/// digits, for +1 numbers only.
fn longest_prefix<T: Copy>(table: &'static [(&'static str, T)], number: &E164) -> Option<T> {
    let digits = number.as_str().strip_prefix('+')?;
    if !digits.starts_with('1') {
        return None;
    }
    (1..=digits.len().min(MAX_PREFIX_LEN))
        .rev()
        .find_map(|len| {
            let prefix = digits.get(..len)?;
            table
                .binary_search_by(|(p, _)| (*p).cmp(prefix))
                .ok()
                .map(|i| table[i].1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{
        Adak, Anchorage, Boise, Chicago, Denver, Edmonton, Halifax, Los_Angeles, Nassau, New_York,
        Phoenix, Puerto_Rico, Toronto, Vancouver,
    };
    use chrono_tz::Pacific::{Guam, Honolulu};

    fn num(s: &str) -> E164 {
        E164::from_stored(s).unwrap()
    }

    /// Every row is what libphonenumber 9.0.43 says, looked up with the `phonenumbers` Python
    /// package (`phonenumbers.timezone`, `phonenumbers.geocoder`), not what one might expect;
    /// the region is the geocoder's description mapped to its two-letter code.
    #[test]
    fn zones_and_regions_follow_the_data() {
        #[rustfmt::skip]
        let cases: &[(&str, &[Tz], Option<&str>, &str)] = &[
            // 850, Florida panhandle: area code says Eastern; the data lists Central exchanges.
            ("+18502220000", &[New_York], Some("FL"), "850-222 Tallahassee: area-code entry"),
            ("+18502150000", &[Chicago], Some("FL"), "850-215 Panama City: NXX entry"),
            ("+18504320000", &[Chicago], Some("FL"), "850-432 Pensacola: NXX entry"),
            // 208, Idaho: no area-code zone entry; 5-, 6- and 7-digit entries only.
            ("+12083010000", &[Boise, Los_Angeles], Some("ID"), "208-30x: both Idaho zones"),
            ("+12083210000", &[Denver], Some("ID"), "208-321 Boise: NXX entry says Denver"),
            ("+12082550000", &[Los_Angeles], Some("ID"), "208-255 Sandpoint (panhandle)"),
            ("+12082270000", &[Denver], Some("ID"), "208-227 Idaho Falls"),
            ("+12081234567", &[], Some("ID"), "208-1xx: in no zone entry; region by area code"),
            // 605, South Dakota: area code says Denver + North_Dakota/Center; NXX entries split.
            ("+16059990000", &[Denver, chrono_tz::America::North_Dakota::Center], Some("SD"), "605 area code"),
            ("+16052240000", &[Chicago], Some("SD"), "605-224 Pierre"),
            ("+16053410000", &[Denver], Some("SD"), "605-341 Rapid City"),
            // 915, El Paso: Mountain time in Texas.
            ("+19155550100", &[Denver], Some("TX"), "915 El Paso"),
            // Arizona: no DST, except the Navajo Nation exchanges of 928.
            ("+16025550100", &[Phoenix], Some("AZ"), "602 Phoenix"),
            ("+19287740000", &[Phoenix], Some("AZ"), "928-774 Flagstaff"),
            ("+19286740000", &[Denver, Phoenix], Some("AZ"), "928-674 Chinle (Navajo Nation)"),
            ("+18085550100", &[Honolulu], Some("HI"), "808 Hawaii"),
            ("+19075550100", &[Adak, Anchorage], Some("AK"), "907 Alaska area code"),
            ("+13175550100", &[New_York], Some("IN"), "317 Indianapolis: libphonenumber says New_York"),
            ("+12125550100", &[New_York], Some("NY"), "212 Manhattan ('New York, NY')"),
            ("+12015550100", &[New_York], Some("NJ"), "201 New Jersey"),
            ("+12016310000", &[New_York], Some("NY"), "201-631: geocoder says 'New York, NY'"),
            ("+14165550100", &[Toronto], Some("ON"), "416 Toronto"),
            // Area codes spanning regions: the region comes from the exchange, if listed.
            ("+19024250000", &[Halifax], Some("NS"), "902-425 Halifax"),
            ("+19025660000", &[Halifax], Some("PE"), "902-566 Charlottetown"),
            ("+19021110000", &[Halifax], None, "902 unlisted exchange: NS or PE"),
            ("+18673930000", &[Vancouver], Some("YT"), "867-393 Whitehorse"),
            ("+18675360000", &[Vancouver], Some("YT"), "867-536 'Watson Lake'"),
            ("+18678730000", &[Edmonton], Some("NT"), "867-873 Yellowknife"),
            // US territories and other NANP countries.
            ("+17875550100", &[Puerto_Rico], Some("PR"), "787 Puerto Rico (region metadata)"),
            ("+16715550100", &[Guam], Some("GU"), "671 Guam"),
            ("+12423020000", &[Nassau], None, "242 Bahamas: not a US/Canadian region"),
            // Unknown or non-geographic +1 codes, and other countries.
            ("+18005551234", &[], None, "800 toll-free"),
            ("+15551234567", &[], None, "555: not an area code"),
            ("+442079460958", &[], None, "+44 United Kingdom"),
            ("+33123456789", &[], None, "+33 France"),
        ];
        for &(raw, zones, state, what) in cases {
            let n = num(raw);
            assert_eq!(time_zones(&n), zones, "time_zones({raw}): {what}");
            assert_eq!(region(&n), state, "region({raw}): {what}");
        }
    }

    #[test]
    fn tables_are_sorted_and_well_formed() {
        fn check<T>(name: &str, table: &[(&str, T)]) {
            assert!(!table.is_empty(), "{name} is empty");
            for pair in table.windows(2) {
                assert!(
                    pair[0].0 < pair[1].0,
                    "{name}: {} !< {}",
                    pair[0].0,
                    pair[1].0
                );
            }
            for (p, _) in table {
                assert!(p.starts_with('1'), "{name}: {p} is not +1");
                assert!(
                    (4..=MAX_PREFIX_LEN).contains(&p.len()),
                    "{name}: {p} length"
                );
                assert!(
                    p.bytes().all(|b| b.is_ascii_digit()),
                    "{name}: {p} not digits"
                );
            }
        }
        check("TZ_PREFIXES", TZ_PREFIXES);
        check("STATE_PREFIXES", STATE_PREFIXES);
        assert!(TZ_PREFIXES.iter().all(|(_, zones)| !zones.is_empty()));
        assert!(STATE_PREFIXES
            .iter()
            .all(|(_, st)| st.len() == 2 && st.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn source_version_is_recorded() {
        assert_eq!(SOURCE_VERSION, "9.0.43");
    }
}
