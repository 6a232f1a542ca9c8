//! Layers' file lists set aside on disk while they wait for their turn to be stacked: an
//! archive gives its layers in an order of its own (Docker's: by digest), and a layer that comes
//! before the layers below it would otherwise hold its whole list in memory until they come.
//! Written to an unnamed temporary file (gone when it closes) in a compact form of our own:
//! lengths and numbers little-endian, strings as their length and bytes.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::filesystem::{Kind, LayerMeta, Meta};
use super::layers::{Change, LayerFiles};

/// Where one layer was set aside.
#[derive(Clone, Copy, Debug)]
pub struct Spilled {
    at: u64,
    len: u64,
}

/// The temporary file of the layers set aside, made when the first is.
#[derive(Default)]
pub struct Spill {
    file: Option<File>,
    end: u64,
}

impl Spill {
    /// Writes a layer's list and metadata at the end of the file.
    pub fn put(&mut self, files: &LayerFiles, meta: &LayerMeta) -> io::Result<Spilled> {
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(tempfile::tempfile()?),
        };
        file.seek(SeekFrom::Start(self.end))?;
        let mut out = Counting {
            inner: BufWriter::with_capacity(1 << 16, &*file),
            written: 0,
        };
        encode(files, meta, &mut out)?;
        let len = out.written;
        out.inner.flush()?;
        let spilled = Spilled { at: self.end, len };
        self.end += len;
        Ok(spilled)
    }

    /// Reads back a layer set aside.
    pub fn take(&mut self, spilled: Spilled) -> io::Result<(LayerFiles, LayerMeta)> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("no layer was set aside"))?;
        file.seek(SeekFrom::Start(spilled.at))?;
        let mut input = BufReader::with_capacity(1 << 16, (&*file).take(spilled.len));
        decode(&mut input)
    }
}

struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn encode(files: &LayerFiles, meta: &LayerMeta, out: &mut impl Write) -> io::Result<()> {
    number(out, files.changes.len() as u64)?;
    for (path, change) in &files.changes {
        bytes(out, path.as_bytes())?;
        let (tag, size) = match change {
            Change::File(size) => (0, *size),
            Change::Dir => (1, 0),
            Change::Other => (2, 0),
            Change::Whiteout => (3, 0),
            Change::Opaque => (4, 0),
        };
        out.write_all(&[tag])?;
        number(out, size)?;
    }
    number(out, meta.entries.len() as u64)?;
    for m in &meta.entries {
        let kind = match m.kind {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
            Kind::Char => 3,
            Kind::Block => 4,
            Kind::Fifo => 5,
            Kind::Marker => 6,
        };
        out.write_all(&[kind, m.link.is_some() as u8, m.digest.is_some() as u8])?;
        number(out, m.size)?;
        number(out, m.mode as u64)?;
        number(out, m.uid)?;
        number(out, m.gid)?;
        if let Some(link) = &m.link {
            bytes(out, link.as_bytes())?;
        }
        if let Some(digest) = &m.digest {
            out.write_all(digest)?;
        }
    }
    number(out, meta.kept.len() as u64)?;
    for (path, content) in &meta.kept {
        bytes(out, path.as_bytes())?;
        bytes(out, content)?;
    }
    Ok(())
}

fn decode(input: &mut impl Read) -> io::Result<(LayerFiles, LayerMeta)> {
    let count = read_number(input)?;
    let mut changes = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let path = read_string(input)?;
        let tag = read_byte(input)?;
        let size = read_number(input)?;
        let change = match tag {
            0 => Change::File(size),
            1 => Change::Dir,
            2 => Change::Other,
            3 => Change::Whiteout,
            4 => Change::Opaque,
            _ => return Err(corrupt()),
        };
        changes.push((path, change));
    }
    let count = read_number(input)?;
    let mut entries = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let mut head = [0u8; 3];
        input.read_exact(&mut head)?;
        let kind = match head[0] {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            3 => Kind::Char,
            4 => Kind::Block,
            5 => Kind::Fifo,
            6 => Kind::Marker,
            _ => return Err(corrupt()),
        };
        let size = read_number(input)?;
        let mode = u32::try_from(read_number(input)?).map_err(|_| corrupt())?;
        let uid = read_number(input)?;
        let gid = read_number(input)?;
        let link = match head[1] {
            0 => None,
            _ => Some(read_string(input)?.into_boxed_str()),
        };
        let digest = match head[2] {
            0 => None,
            _ => {
                let mut digest = [0u8; 32];
                input.read_exact(&mut digest)?;
                Some(digest)
            }
        };
        entries.push(Meta {
            kind,
            size,
            mode,
            uid,
            gid,
            link,
            digest,
        });
    }
    let count = read_number(input)?;
    let mut kept = Vec::new();
    for _ in 0..count {
        let path = read_string(input)?;
        let content = read_bytes(input)?;
        kept.push((path, content));
    }
    Ok((LayerFiles { changes }, LayerMeta { entries, kept }))
}

fn corrupt() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a layer set aside on disk reads back changed",
    )
}

fn number(out: &mut impl Write, n: u64) -> io::Result<()> {
    out.write_all(&n.to_le_bytes())
}

fn bytes(out: &mut impl Write, b: &[u8]) -> io::Result<()> {
    number(out, b.len() as u64)?;
    out.write_all(b)
}

fn read_byte(input: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_number(input: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_bytes(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = read_number(input)?;
    let mut out = Vec::with_capacity(len.min(1 << 20) as usize);
    input.take(len).read_to_end(&mut out)?;
    if out.len() as u64 != len {
        return Err(corrupt());
    }
    Ok(out)
}

fn read_string(input: &mut impl Read) -> io::Result<String> {
    String::from_utf8(read_bytes(input)?).map_err(|_| corrupt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_set_aside_reads_back_the_same() {
        let files = LayerFiles {
            changes: vec![
                ("bin".into(), Change::Dir),
                ("bin/sh".into(), Change::File(900)),
                ("bin/ash".into(), Change::Other),
                ("etc/gone".into(), Change::Whiteout),
                ("var/cache".into(), Change::Opaque),
            ],
        };
        let meta = |kind, link: Option<&str>, digest: Option<[u8; 32]>| Meta {
            kind,
            size: 900,
            mode: 0o4755,
            uid: 1000,
            gid: 7,
            link: link.map(Into::into),
            digest,
        };
        let layer = LayerMeta {
            entries: vec![
                meta(Kind::Dir, None, None),
                meta(Kind::File, None, Some([9; 32])),
                meta(Kind::Symlink, Some("busybox"), None),
                meta(Kind::Marker, None, None),
                meta(Kind::Marker, None, None),
            ],
            kept: vec![("var/lib/dpkg/status".into(), b"Package: x\n".to_vec())],
        };
        let other = LayerFiles {
            changes: vec![("é/ü".into(), Change::File(0))],
        };
        let other_meta = LayerMeta {
            entries: vec![meta(Kind::File, None, None)],
            kept: Vec::new(),
        };
        let mut spill = Spill::default();
        let first = spill.put(&files, &layer).unwrap();
        let second = spill.put(&other, &other_meta).unwrap();
        // read back in any order
        let (f, m) = spill.take(second).unwrap();
        assert_eq!(
            (f, m.entries, m.kept),
            (other, other_meta.entries, other_meta.kept)
        );
        let (f, m) = spill.take(first).unwrap();
        assert_eq!(f, files);
        assert_eq!(m.entries, layer.entries);
        assert_eq!(m.kept, layer.kept);
    }
}
