//! Layers' file lists set aside on disk while they wait for their turn to be stacked: an
//! archive gives its layers in an order of its own (Docker's: by digest), and a layer that comes
//! before the layers below it would otherwise hold its whole list in memory until they come.
//! Written to an unnamed temporary file (gone when it closes) with postcard (serde's compact
//! binary form: numbers as varints, strings as their length and bytes).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::filesystem::LayerMeta;
use super::layers::LayerFiles;

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
        // encoded whole, then written: postcard writing to the file through a buffer makes a
        // call for each byte of a number, more than twice the time
        let bytes = postcard::to_stdvec(&(files, meta))
            .map_err(|e| io::Error::other(format!("cannot set a layer aside: {e}")))?;
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(tempfile::tempfile()?),
        };
        file.seek(SeekFrom::Start(self.end))?;
        file.write_all(&bytes)?;
        let spilled = Spilled {
            at: self.end,
            len: bytes.len() as u64,
        };
        self.end += spilled.len;
        Ok(spilled)
    }

    /// Reads back a layer set aside.
    pub fn take(&mut self, spilled: Spilled) -> io::Result<(LayerFiles, LayerMeta)> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("no layer was set aside"))?;
        file.seek(SeekFrom::Start(spilled.at))?;
        let mut bytes = Vec::new();
        file.take(spilled.len).read_to_end(&mut bytes)?;
        postcard::from_bytes(&bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a layer set aside on disk reads back changed",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::filesystem::{Kind, Meta};
    use crate::docker::layers::Change;

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
        // a record cut short reads as changed, not as a shorter list
        let cut = Spilled {
            at: first.at,
            len: first.len - 1,
        };
        let err = spill.take(cut).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }
}
