//! Numbers as people write them on the command line and in `.layerwise.yaml`: sizes (`20MB`,
//! `1.5GiB`, bytes), percentages and ratios; and `inspect`'s CI gates made of them (the command
//! line wins over the config, limit by limit). `inspect` checks them against the image.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A byte count written as `20MB`, `1.5GiB` or plain bytes (`KB`, `MB`, `GB` are powers of
/// 1000; `KiB`, `MiB`, `GiB` powers of 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        parse_size::parse_size(s.trim()).map(Size).map_err(|e| {
            format!("`{s}` is not a size ({e}); write bytes, or a number with KB, MB, GB, KiB, MiB or GiB")
        })
    }
}

/// A share of the image in percent, 0 to 100 (`10` or `10%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percent(pub f64);

impl FromStr for Percent {
    type Err = String;

    fn from_str(s: &str) -> Result<Percent, String> {
        let number = s.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(Percent(p)),
            _ => Err(format!("`{s}` is not a percentage from 0 to 100")),
        }
    }
}

/// An efficiency, 0 to 1 (`0.9` or `90%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio(pub f64);

impl FromStr for Ratio {
    type Err = String;

    fn from_str(s: &str) -> Result<Ratio, String> {
        let s = s.trim();
        let ratio = match s.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
            None => s.parse::<f64>(),
        };
        match ratio {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(Ratio(r)),
            _ => Err(format!(
                "`{s}` is not an efficiency: write a ratio from 0 to 1 (0.9) or a percentage (90%)"
            )),
        }
    }
}

/// A YAML value that is a number or a string, read as the command line reads it.
fn parsed<'de, D: Deserializer<'de>, T: FromStr<Err = String>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Int(u64),
        Float(f64),
        Text(String),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Int(n) => n.to_string(),
        Written::Float(f) => f.to_string(),
        Written::Text(s) => s,
    };
    T::from_str(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// The limits; each is off when `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Gates {
    #[serde(default, deserialize_with = "parsed")]
    pub max_wasted_bytes: Option<Size>,
    #[serde(default, deserialize_with = "parsed")]
    pub max_wasted_percent: Option<Percent>,
    #[serde(default, deserialize_with = "parsed")]
    pub min_efficiency: Option<Ratio>,
    #[serde(default, deserialize_with = "parsed")]
    pub max_cache_bytes: Option<Size>,
}

impl Gates {
    /// These limits, each missing one taken from `config`.
    pub fn or(self, config: &Gates) -> Gates {
        Gates {
            max_wasted_bytes: self.max_wasted_bytes.or(config.max_wasted_bytes),
            max_wasted_percent: self.max_wasted_percent.or(config.max_wasted_percent),
            min_efficiency: self.min_efficiency.or(config.min_efficiency),
            max_cache_bytes: self.max_cache_bytes.or(config.max_cache_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_decimal_and_binary_units_and_bytes() {
        assert_eq!("20MB".parse(), Ok(Size(20_000_000)));
        assert_eq!("1.5GiB".parse(), Ok(Size(1_610_612_736)));
        assert_eq!("4096".parse(), Ok(Size(4096)));
        assert_eq!("512 KiB".parse(), Ok(Size(524_288)));
        assert!("lots".parse::<Size>().is_err());
        assert!("-3MB".parse::<Size>().is_err());
    }

    #[test]
    fn percentages_and_efficiencies_have_bounds() {
        assert_eq!("10".parse(), Ok(Percent(10.0)));
        assert_eq!("12.5%".parse(), Ok(Percent(12.5)));
        assert!("150".parse::<Percent>().is_err());
        assert_eq!("0.9".parse(), Ok(Ratio(0.9)));
        assert_eq!("90%".parse(), Ok(Ratio(0.9)));
        // 90 without % is most likely a percentage: refused rather than guessed
        assert!("90".parse::<Ratio>().unwrap_err().contains("90%"));
    }

    #[test]
    fn the_config_section_takes_numbers_and_strings() {
        let gates: Gates = serde_yaml_ng::from_str(
            "max-wasted-bytes: 20MB\nmax-wasted-percent: 5\nmin-efficiency: 95%\nmax-cache-bytes: 0\n",
        )
        .unwrap();
        assert_eq!(
            gates,
            Gates {
                max_wasted_bytes: Some(Size(20_000_000)),
                max_wasted_percent: Some(Percent(5.0)),
                min_efficiency: Some(Ratio(0.95)),
                max_cache_bytes: Some(Size(0)),
            }
        );
        let error = serde_yaml_ng::from_str::<Gates>("max-wasted-byte: 1").unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
        let error = serde_yaml_ng::from_str::<Gates>("min-efficiency: 2").unwrap_err();
        assert!(error.to_string().contains("not an efficiency"), "{error}");
    }

    #[test]
    fn the_command_line_wins_limit_by_limit() {
        let cli = Gates {
            max_wasted_bytes: Some(Size(1)),
            ..Gates::default()
        };
        let config = Gates {
            max_wasted_bytes: Some(Size(2)),
            max_cache_bytes: Some(Size(3)),
            ..Gates::default()
        };
        let merged = cli.or(&config);
        assert_eq!(merged.max_wasted_bytes, Some(Size(1)));
        assert_eq!(merged.max_cache_bytes, Some(Size(3)));
    }
}
