//! Pretty JSON as serde_json's `PrettyFormatter` writes it (two spaces a level), but each line
//! break and its indent in one write: serde_json's writes the indent a level at a time, a dozen
//! small writes per line in SARIF's deep objects.

use std::io::{self, Write};

use serde_json::ser::Formatter;

/// A line break and the indent of up to 32 levels.
const BREAK: &[u8] = b"\n                                                                ";

#[derive(Default)]
pub struct Pretty {
    level: usize,
    has_value: bool,
}

/// A line break and the indent of `level`.
fn new_line<W: ?Sized + Write>(writer: &mut W, level: usize) -> io::Result<()> {
    let width = 2 * level;
    if width < BREAK.len() {
        return writer.write_all(&BREAK[..1 + width]);
    }
    writer.write_all(BREAK)?;
    for _ in BREAK.len() - 1..width {
        writer.write_all(b" ")?;
    }
    Ok(())
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            new_line(writer, self.level)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        new_line(writer, self.level)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            new_line(writer, self.level)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        new_line(writer, self.level)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same text as serde_json's own pretty printer, deep nesting included.
    #[test]
    fn writes_what_serde_json_writes() {
        let mut deep = serde_json::json!("leaf");
        for i in 0..40 {
            deep = serde_json::json!({"level": i, "empty": [], "none": {}, "list": [1, deep, "x"]});
        }
        for value in [
            serde_json::json!([]),
            serde_json::json!({"a": [{}], "b": null}),
            deep,
        ] {
            let mut ours = Vec::new();
            let mut serializer =
                serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
            serde::Serialize::serialize(&value, &mut serializer).unwrap();
            let theirs = serde_json::to_vec_pretty(&value).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }
}
