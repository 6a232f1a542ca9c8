//! The findings of one lint while its rules run. The model of the file (every RUN's parsed
//! script) is alive until the last rule is done, so a finding is kept small until then: the
//! rule an index, its spans `u32`s, its texts indices into one table of the lint's distinct
//! texts, and the fix most rules make (one edit of the Dockerfile) inline. After the model is
//! dropped they are filtered, sorted and deduplicated as records ([`Findings::finish`]); a
//! report expands them one at a time ([`Reported`]), `lint()` all at once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::diagnostic::{Diagnostic, Severity, Text};
use crate::fix::{Edit, Fix, Safety};
use crate::source::Span;

/// Where the rules put what they find. In the pass after the rules (`Pass::AfterRules`) it
/// holds every finding of the other rules, read through [`Findings::iter`].
#[derive(Debug, Default)]
pub struct Findings {
    found: Vec<Compact>,
    /// The rules that found something, in the order they first did.
    rules: Vec<&'static str>,
    /// Every distinct text of the findings, and where each is in that list by its address
    /// (equal texts of a lint are one allocation, [`Text::sharing`]).
    texts: Vec<Text>,
    known: HashMap<usize, u32, BuildHasherDefault<AddressHasher>>,
}

/// A finding as the rules leave it. A finding with labels, a hadolint check, a fix of other than
/// one edit, or a place past 4 GiB is kept whole, boxed: few are.
#[derive(Debug)]
struct Compact {
    start: u32,
    end: u32,
    message: u32,
    /// [`NONE`] when there is no help.
    help: u32,
    fix_title: u32,
    edit_start: u32,
    edit_end: u32,
    edit_text: u32,
    rule: u8,
    severity: Severity,
    /// The safety of the fix of one edit; `None` without a fix.
    fix: Option<Safety>,
    /// The finding itself when it is not one of the common shape (then the rest is unused).
    whole: Option<Box<Diagnostic>>,
}

const NONE: u32 = u32::MAX;

impl Findings {
    pub fn new() -> Self {
        Findings::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        let record = self.compact(&d).unwrap_or_else(|| Compact {
            start: 0,
            end: 0,
            message: NONE,
            help: NONE,
            fix_title: NONE,
            edit_start: 0,
            edit_end: 0,
            edit_text: NONE,
            rule: 0,
            severity: d.severity,
            fix: None,
            whole: Some(Box::new(d)),
        });
        self.found.push(record);
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The findings so far, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = Found<'_>> {
        self.found.iter().map(|record| Found {
            findings: self,
            record,
        })
    }

    /// The findings as [`Diagnostic`]s, in the order they were pushed, those `keep` refuses
    /// left out. The records are freed together after the last is expanded.
    pub fn into_diagnostics(
        mut self,
        mut keep: impl FnMut(&Diagnostic) -> bool,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::with_capacity(self.found.len());
        for record in std::mem::take(&mut self.found) {
            let d = match record.whole {
                Some(whole) => *whole,
                None => self.expand(&record),
            };
            if keep(&d) {
                out.push(d);
            }
        }
        out.shrink_to_fit();
        out
    }

    /// The findings as a lint reports them: those `keep` refuses left out (each expanded
    /// alone to ask), each severity as `severity` gives it from the rule and the rule's own,
    /// sorted by position, then rule, keeping the rules' order among equals, and a finding equal
    /// to the one before it in rule, place and message dropped. They stay compact.
    pub fn finish(
        mut self,
        mut keep: impl FnMut(&Diagnostic) -> bool,
        severity: impl Fn(&'static str, Severity) -> Severity,
    ) -> Findings {
        let mut found = std::mem::take(&mut self.found);
        found.retain(|record| match &record.whole {
            Some(whole) => keep(whole),
            None => keep(&self.expand(record)),
        });
        for record in &mut found {
            match &mut record.whole {
                Some(whole) => whole.severity = severity(whole.rule, whole.severity),
                None => {
                    record.severity = severity(self.rules[record.rule as usize], record.severity)
                }
            }
        }
        let rule = |record: &Compact| match &record.whole {
            Some(whole) => whole.rule,
            None => self.rules[record.rule as usize],
        };
        let span = |record: &Compact| match &record.whole {
            Some(whole) => whole.span,
            None => Span::new(record.start as usize, record.end as usize),
        };
        let texts = &self.texts;
        let message = |record: &Compact| match &record.whole {
            Some(whole) => whole.message.clone(),
            None => texts[record.message as usize].clone(),
        };
        sort_by_place(&mut found, |r| {
            let span = span(r);
            (span.start, span.end, rule(r))
        });
        found.dedup_by(|a, b| rule(a) == rule(b) && span(a) == span(b) && message(a) == message(b));
        found.shrink_to_fit();
        self.found = found;
        // Nothing is added from here: the addresses of the texts are not looked up again.
        self.known = HashMap::default();
        self
    }

    /// Takes every fix away (a file that does not parse is never rewritten).
    pub fn drop_fixes(&mut self) {
        for record in &mut self.found {
            record.fix = None;
            if let Some(whole) = &mut record.whole {
                whole.fix = None;
            }
        }
    }

    /// The compact record of a finding, or `None` when it must be kept whole.
    fn compact(&mut self, d: &Diagnostic) -> Option<Compact> {
        if !d.is_plain() {
            return None;
        }
        let (fix_title, edit, edit_text, fix) = match d.fix.as_deref() {
            None => (NONE, Span::empty(0), NONE, None),
            Some(Fix {
                title,
                safety,
                edits,
                files,
            }) if edits.len() == 1 && files.is_empty() => (
                self.text(title)?,
                edits[0].span,
                self.text(&edits[0].text)?,
                Some(*safety),
            ),
            Some(_) => return None,
        };
        let help = match &d.help {
            Some(help) => self.text(help)?,
            None => NONE,
        };
        Some(Compact {
            start: u32::try_from(d.span.start).ok()?,
            end: u32::try_from(d.span.end).ok()?,
            message: self.text(&d.message)?,
            help,
            fix_title,
            edit_start: u32::try_from(edit.start).ok()?,
            edit_end: u32::try_from(edit.end).ok()?,
            edit_text,
            rule: self.rule(d.rule)?,
            severity: d.severity,
            fix,
            whole: None,
        })
    }

    fn rule(&mut self, rule: &'static str) -> Option<u8> {
        let at = match self.rules.iter().position(|&r| r == rule) {
            Some(at) => at,
            None => {
                self.rules.push(rule);
                self.rules.len() - 1
            }
        };
        u8::try_from(at).ok()
    }

    /// The index of a text in the table, added if it is new; `None` past `u32`'s indices.
    fn text(&mut self, text: &Text) -> Option<u32> {
        let address = text.as_ptr() as usize;
        if let Some(&at) = self.known.get(&address) {
            return Some(at);
        }
        let at = u32::try_from(self.texts.len())
            .ok()
            .filter(|&at| at != NONE)?;
        // The table holds the text, so its address is not another's while the table lives.
        self.texts.push(text.clone());
        self.known.insert(address, at);
        Some(at)
    }

    fn expand(&self, record: &Compact) -> Diagnostic {
        if let Some(whole) = &record.whole {
            return Diagnostic::clone(whole);
        }
        let text = |at: u32| self.texts[at as usize].clone();
        let fix = record.fix.map(|safety| {
            Box::new(Fix {
                title: text(record.fix_title),
                safety,
                edits: Box::new([Edit {
                    span: Span::new(record.edit_start as usize, record.edit_end as usize),
                    text: text(record.edit_text),
                }]),
                files: Box::default(),
            })
        });
        let mut d = Diagnostic::new(
            self.rules[record.rule as usize],
            Span::new(record.start as usize, record.end as usize),
            text(record.message),
        );
        d.severity = record.severity;
        d.help = (record.help != NONE).then(|| text(record.help));
        d.fix = fix;
        d
    }
}

/// Sorts findings by place, then rule, keeping the rules' order among equals. A stable sort
/// of the findings themselves would take a scratch copy of half of them; their indices are
/// sorted instead, and the findings moved into place along the permutation's cycles.
pub(crate) fn sort_by_place<T, K: Ord>(out: &mut [T], key: impl Fn(&T) -> K) {
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| key(&out[a]).cmp(&key(&out[b])));
    // `order[i]` is the finding that goes to `i`; a slot is marked done with usize::MAX.
    for start in 0..out.len() {
        let mut at = start;
        while order[at] != usize::MAX {
            let from = std::mem::replace(&mut order[at], usize::MAX);
            if from == start {
                break;
            }
            out.swap(at, from);
            at = from;
        }
    }
}

/// A file's findings as the reports read them: sorted and final, and expanded into a
/// [`Diagnostic`] one at a time as they are walked, so a report never holds them all expanded.
/// A file with ONBUILD triggers has them expanded already (its findings are placed in their
/// triggers from the model, which is gone by the time a report is written).
#[derive(Debug)]
pub enum Reported {
    Compact(Findings),
    Whole(Vec<Diagnostic>),
}

impl Default for Reported {
    fn default() -> Self {
        Reported::Whole(Vec::new())
    }
}

impl From<Vec<Diagnostic>> for Reported {
    fn from(found: Vec<Diagnostic>) -> Self {
        Reported::Whole(found)
    }
}

impl Reported {
    pub fn len(&self) -> usize {
        match self {
            Reported::Compact(found) => found.len(),
            Reported::Whole(found) => found.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The findings in order, each expanded as it is reached.
    pub fn iter(&self) -> ReportedIter<'_> {
        match self {
            Reported::Compact(found) => ReportedIter(Walk::Compact(found, found.found.iter())),
            Reported::Whole(found) => ReportedIter(Walk::Whole(found.iter())),
        }
    }

    /// Every finding expanded at once.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        match self {
            Reported::Compact(found) => found.into_diagnostics(|_| true),
            Reported::Whole(found) => found,
        }
    }

    /// Takes every fix away (a file that does not parse is never rewritten).
    pub fn drop_fixes(&mut self) {
        match self {
            Reported::Compact(found) => found.drop_fixes(),
            Reported::Whole(found) => found.iter_mut().for_each(|d| d.fix = None),
        }
    }
}

impl<'a> IntoIterator for &'a Reported {
    type Item = Cow<'a, Diagnostic>;
    type IntoIter = ReportedIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The iterator of [`Reported::iter`].
#[derive(Clone)]
pub struct ReportedIter<'a>(Walk<'a>);

#[derive(Clone)]
enum Walk<'a> {
    Compact(&'a Findings, std::slice::Iter<'a, Compact>),
    Whole(std::slice::Iter<'a, Diagnostic>),
}

impl<'a> Iterator for ReportedIter<'a> {
    type Item = Cow<'a, Diagnostic>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Walk::Compact(found, records) => {
                let record = records.next()?;
                Some(match &record.whole {
                    Some(whole) => Cow::Borrowed(&**whole),
                    None => Cow::Owned(found.expand(record)),
                })
            }
            Walk::Whole(found) => found.next().map(Cow::Borrowed),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Walk::Compact(_, records) => records.size_hint(),
            Walk::Whole(found) => found.size_hint(),
        }
    }
}

/// Hashes a text's address with a multiplication: a lint looks up four addresses a finding, and
/// SipHash's defence against chosen keys, which addresses are not, cost 2% of the lint.
#[derive(Debug, Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    /// The table picks a slot by the low bits and checks the top ones: both from the product's
    /// high half, as an address's low bits are zeros of its alignment.
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

impl Extend<Diagnostic> for Findings {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, found: I) {
        for d in found {
            self.push(d);
        }
    }
}

/// One finding of [`Findings::iter`]: its rule and place without expanding it.
#[derive(Clone, Copy)]
pub struct Found<'a> {
    findings: &'a Findings,
    record: &'a Compact,
}

impl Found<'_> {
    pub fn rule(&self) -> &'static str {
        match &self.record.whole {
            Some(whole) => whole.rule,
            None => self.findings.rules[self.record.rule as usize],
        }
    }

    pub fn span(&self) -> Span {
        match &self.record.whole {
            Some(whole) => whole.span,
            None => Span::new(self.record.start as usize, self.record.end as usize),
        }
    }

    pub fn diagnostic(&self) -> Diagnostic {
        self.findings.expand(self.record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::FileChange;

    #[test]
    fn a_common_finding_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Compact>(), 48);
    }

    #[test]
    fn findings_come_back_as_they_were_pushed() {
        let fix = |edits| Some(Fix::new("title", Safety::Unsafe, edits));
        let found = vec![
            Diagnostic::new("LW102", Span::new(3, 9), "lists").with_help("remove them"),
            Diagnostic::new("LW104", Span::new(3, 9), "lists")
                .with_fix(fix(vec![Edit::insert(9, " --no")])),
            // Kept whole: a label, a hadolint check, two edits, a file, a place past 4 GiB.
            Diagnostic::new("LW101", Span::new(0, 2), "runs").with_label(Span::new(1, 2), "here"),
            Diagnostic::new("LW103", Span::new(0, 2), "pip").with_hadolint(Some("DL3042")),
            Diagnostic::new("LW101", Span::new(0, 9), "runs").with_fix(fix(vec![
                Edit::delete(Span::new(0, 1)),
                Edit::insert(5, "x"),
            ])),
            Diagnostic::new("LW401", Span::new(0, 4), "context").with_fix(
                fix(vec![Edit::insert(0, "")]).map(|f| {
                    f.with_file(FileChange::Create {
                        path: ".dockerignore".into(),
                        text: ".git\n".into(),
                    })
                }),
            ),
            Diagnostic::new("LW105", Span::new(1 << 33, (1 << 33) + 1), "far"),
            Diagnostic::new("LW104", Span::new(0, 1), "no fix").with_fix(fix(vec![])),
        ];
        let mut findings = Findings::new();
        findings.extend(found.iter().cloned());
        let seen: Vec<(&str, Span)> = findings.iter().map(|f| (f.rule(), f.span())).collect();
        let pushed: Vec<(&str, Span)> = found.iter().map(|d| (d.rule, d.span)).collect();
        assert_eq!(seen, pushed);
        assert_eq!(
            findings.iter().nth(1).map(|f| f.diagnostic()).as_ref(),
            found.get(1)
        );
        assert_eq!(findings.into_diagnostics(|_| true), found);
    }

    #[test]
    fn refused_findings_are_left_out() {
        let mut findings = Findings::new();
        for rule in ["LW101", "LW102", "LW101"] {
            findings.push(Diagnostic::new(rule, Span::new(0, 1), rule));
        }
        let kept = findings.into_diagnostics(|d| d.rule == "LW101");
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.capacity(), 2);
    }
}
