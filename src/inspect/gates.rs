//! `inspect`'s CI gates checked against an image: each limit set (see [`crate::limits`]) gives
//! a passed or crossed gate, which the report lists and `inspect` exits 1 on.

use std::fmt;

use serde::Serialize;

use super::{Inspection, bytes};
use crate::limits::{Gates, Percent, Ratio, Size};

/// Each limit set in `gates`, checked against the image.
pub fn check(gates: &Gates, image: &Inspection) -> Vec<Gate> {
    let mut out = Vec::new();
    if let Some(Size(limit)) = gates.max_wasted_bytes {
        out.push(Gate::new(
            "max-wasted-bytes",
            limit as f64,
            image.wasted_bytes as f64,
            image.wasted_bytes <= limit,
        ));
    }
    if let Some(Percent(limit)) = gates.max_wasted_percent {
        out.push(Gate::new(
            "max-wasted-percent",
            limit,
            image.wasted_percent,
            image.wasted_percent <= limit,
        ));
    }
    if let Some(Ratio(limit)) = gates.min_efficiency {
        out.push(Gate::new(
            "min-efficiency",
            limit,
            image.efficiency,
            image.efficiency >= limit,
        ));
    }
    if let Some(Size(limit)) = gates.max_cache_bytes {
        out.push(Gate::new(
            "max-cache-bytes",
            limit as f64,
            image.cache_bytes as f64,
            image.cache_bytes <= limit,
        ));
    }
    out
}

/// One limit checked: bytes for the byte limits, percent, or a ratio for the efficiency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gate {
    pub gate: &'static str,
    pub limit: f64,
    pub value: f64,
    pub passed: bool,
}

impl Gate {
    fn new(gate: &'static str, limit: f64, value: f64, passed: bool) -> Gate {
        Gate {
            gate,
            limit,
            value,
            passed,
        }
    }
}

impl fmt::Display for Gate {
    /// `max-wasted-bytes: 2.00 MiB wasted, the limit is 1.00 MiB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, limit) = match self.gate {
            "max-wasted-bytes" | "max-cache-bytes" => (
                format!("{} ({} bytes)", bytes(self.value as u64), self.value),
                format!("{} ({} bytes)", bytes(self.limit as u64), self.limit),
            ),
            "min-efficiency" => (
                format!("{:.1}%", self.value * 100.0),
                format!("{:.1}%", self.limit * 100.0),
            ),
            _ => (format!("{:.2}%", self.value), format!("{}%", self.limit)),
        };
        let what = match self.gate {
            "max-wasted-bytes" => "wasted",
            "max-wasted-percent" => "of the image wasted",
            "min-efficiency" => "efficiency",
            _ => "of caches left",
        };
        let bound = if self.gate.starts_with("min") {
            "at least"
        } else {
            "at most"
        };
        write!(f, "{}: {value} {what}, {bound} {limit} allowed", self.gate)
    }
}
