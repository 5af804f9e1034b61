//! CAR v1 (content-addressed archives): how repos, diffs and proofs travel.
//!
//! A CAR is a varint-prefixed DAG-CBOR header `{roots, version: 1}` followed by sections, each a
//! varint length, a binary CID and the block's bytes. The reader treats input as hostile: every
//! length is bounded before anything is allocated, every block is hashed and checked against its
//! CID, and the totals (bytes, blocks) are capped by [`CarLimits`].

use std::io::{self, Read, Write};

use data::cbor;
use data::{Cid, Value};

/// Caps on what a CAR reader accepts.
#[derive(Clone, Copy, Debug)]
pub struct CarLimits {
    /// Largest header (roots and version), in bytes.
    pub max_header_bytes: usize,
    /// Largest single block, in bytes. Records are capped at 1 MiB by the data model guide;
    /// the default leaves room for oversized-but-legal blocks from other implementations.
    pub max_block_bytes: usize,
    /// Most blocks in one archive.
    pub max_blocks: usize,
    /// Most bytes in the whole archive (header and sections).
    pub max_total_bytes: u64,
}

impl Default for CarLimits {
    fn default() -> Self {
        CarLimits {
            max_header_bytes: 64 * 1024,
            max_block_bytes: 2 * 1024 * 1024,
            max_blocks: 10_000_000,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CarError {
    #[error("CAR is truncated")]
    Truncated,
    #[error("bad varint in CAR")]
    Varint,
    #[error("CAR header: {0}")]
    Header(String),
    #[error("CAR block {index}: {reason}")]
    Block { index: usize, reason: String },
    #[error("CAR block {cid} does not hash to its CID")]
    HashMismatch { cid: Cid },
    #[error("CAR exceeds a limit: {0}")]
    Limit(String),
    #[error("I/O error reading CAR: {0}")]
    Io(#[from] io::Error),
}

/// A whole archive read into memory.
#[derive(Debug, Clone)]
pub struct Car {
    pub roots: Vec<Cid>,
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Reads a whole CAR from bytes, checking every block's hash.
pub fn read_car(bytes: &[u8], limits: CarLimits) -> Result<Car, CarError> {
    let mut reader = CarReader::new(bytes, limits)?;
    let roots = reader.roots().to_vec();
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_block()? {
        blocks.push(block);
    }
    Ok(Car { roots, blocks })
}

/// Streams the blocks of a CAR from any reader.
pub struct CarReader<R: Read> {
    inner: R,
    roots: Vec<Cid>,
    limits: CarLimits,
    blocks_read: usize,
    bytes_read: u64,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(inner: R, limits: CarLimits) -> Result<Self, CarError> {
        let mut reader = CarReader {
            inner,
            roots: Vec::new(),
            limits,
            blocks_read: 0,
            bytes_read: 0,
        };
        let len = reader
            .varint()?
            .ok_or_else(|| CarError::Header("empty input".into()))?;
        if len == 0 || len > limits.max_header_bytes as u64 {
            return Err(CarError::Header(format!(
                "header length {len} out of range"
            )));
        }
        let header = reader.exact(len as usize)?;
        reader.roots = parse_header(&header)?;
        Ok(reader)
    }

    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, or `None` at a clean end of input.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        let Some(len) = self.varint()? else {
            return Ok(None);
        };
        let index = self.blocks_read;
        if self.blocks_read >= self.limits.max_blocks {
            return Err(CarError::Limit(format!(
                "more than {} blocks",
                self.limits.max_blocks
            )));
        }
        // A section is a 36-byte CID plus the block.
        let max_section = self.limits.max_block_bytes as u64 + data::cid::CID_LEN as u64;
        if len > max_section {
            return Err(CarError::Limit(format!(
                "block {index} is {len} bytes (limit {max_section})"
            )));
        }
        let section = self.exact(len as usize)?;
        let (cid, used) = Cid::read_prefix(&section).map_err(|e| CarError::Block {
            index,
            reason: e.to_string(),
        })?;
        let block = section[used..].to_vec();
        let digest: [u8; 32] = sha2_digest(&block);
        if &digest != cid.digest() {
            return Err(CarError::HashMismatch { cid });
        }
        self.blocks_read += 1;
        Ok(Some((cid, block)))
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, CarError> {
        self.count(n as u64)?;
        let mut buf = vec![0u8; n];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => CarError::Truncated,
                _ => CarError::Io(e),
            })?;
        Ok(buf)
    }

    fn count(&mut self, n: u64) -> Result<(), CarError> {
        self.bytes_read += n;
        if self.bytes_read > self.limits.max_total_bytes {
            return Err(CarError::Limit(format!(
                "archive larger than {} bytes",
                self.limits.max_total_bytes
            )));
        }
        Ok(())
    }

    /// Unsigned LEB128, at most 9 bytes (63 bits), in its shortest form. `None` at clean EOF.
    fn varint(&mut self) -> Result<Option<u64>, CarError> {
        let mut value: u64 = 0;
        for i in 0..9 {
            let mut byte = [0u8; 1];
            loop {
                match self.inner.read(&mut byte) {
                    Ok(0) if i == 0 => return Ok(None),
                    Ok(0) => return Err(CarError::Truncated),
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(CarError::Io(e)),
                }
            }
            self.count(1)?;
            let b = byte[0];
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(CarError::Varint);
                }
                return Ok(Some(value));
            }
        }
        Err(CarError::Varint)
    }
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    *Cid::for_raw(bytes).digest()
}

fn parse_header(bytes: &[u8]) -> Result<Vec<Cid>, CarError> {
    let value = cbor::decode(bytes).map_err(|e| CarError::Header(e.to_string()))?;
    let map = value
        .as_map()
        .ok_or_else(|| CarError::Header("not a map".into()))?;
    if map.get("version") != Some(&Value::Int(1)) {
        return Err(CarError::Header("version must be 1".into()));
    }
    let roots = map
        .get("roots")
        .and_then(Value::as_array)
        .ok_or_else(|| CarError::Header("roots must be an array".into()))?;
    roots
        .iter()
        .map(|r| {
            r.as_link()
                .copied()
                .ok_or_else(|| CarError::Header("roots must be CID links".into()))
        })
        .collect()
}

/// Writes a CAR to any writer, block by block.
pub struct CarWriter<W: Write> {
    inner: W,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header naming `roots`.
    pub fn new(mut inner: W, roots: &[Cid]) -> io::Result<Self> {
        let mut header = Vec::with_capacity(16 + roots.len() * 41);
        cbor::write_header(&mut header, 5, 2);
        cbor::write_text(&mut header, "roots");
        cbor::write_header(&mut header, 4, roots.len() as u64);
        for root in roots {
            cbor::write_link(&mut header, root);
        }
        cbor::write_text(&mut header, "version");
        cbor::write_int(&mut header, 1);
        write_varint(&mut inner, header.len() as u64)?;
        inner.write_all(&header)?;
        Ok(CarWriter { inner })
    }

    pub fn write_block(&mut self, cid: &Cid, block: &[u8]) -> io::Result<()> {
        let cid_bytes = cid.to_bytes();
        write_varint(&mut self.inner, (cid_bytes.len() + block.len()) as u64)?;
        self.inner.write_all(&cid_bytes)?;
        self.inner.write_all(block)
    }

    pub fn finish(self) -> W {
        self.inner
    }
}

/// Writes a whole CAR into memory.
pub fn write_car<B: AsRef<[u8]>>(
    roots: &[Cid],
    blocks: impl IntoIterator<Item = (Cid, B)>,
) -> Vec<u8> {
    let mut writer = CarWriter::new(Vec::new(), roots).expect("writing to a Vec cannot fail");
    for (cid, block) in blocks {
        writer
            .write_block(&cid, block.as_ref())
            .expect("writing to a Vec cannot fail");
    }
    writer.finish()
}

fn write_varint<W: Write>(w: &mut W, mut value: u64) -> io::Result<()> {
    let mut buf = [0u8; 10];
    let mut i = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buf[i] = byte;
            i += 1;
            break;
        }
        buf[i] = byte | 0x80;
        i += 1;
    }
    w.write_all(&buf[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<Cid>, Vec<(Cid, Vec<u8>)>) {
        let blocks: Vec<(Cid, Vec<u8>)> = (0..5)
            .map(|i| {
                let bytes = cbor::encode(&Value::Int(i));
                (Cid::for_dag_cbor(&bytes), bytes)
            })
            .collect();
        (vec![blocks[0].0], blocks)
    }

    #[test]
    fn round_trip() {
        let (roots, blocks) = sample();
        let bytes = write_car(&roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())));
        let car = read_car(&bytes, CarLimits::default()).unwrap();
        assert_eq!(car.roots, roots);
        assert_eq!(car.blocks, blocks);
    }

    #[test]
    fn rejects_tampered_block() {
        let (roots, blocks) = sample();
        let mut bytes = write_car(&roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())));
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(
            read_car(&bytes, CarLimits::default()),
            Err(CarError::HashMismatch { .. })
        ));
    }

    #[test]
    fn rejects_truncation_and_oversize() {
        let (roots, blocks) = sample();
        let bytes = write_car(&roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())));
        for cut in 1..bytes.len() {
            // every strict prefix either fails or ends exactly at a section boundary
            if let Ok(car) = read_car(&bytes[..cut], CarLimits::default()) {
                assert!(car.blocks.len() < blocks.len());
            }
        }
        let tight = CarLimits {
            max_blocks: 2,
            ..CarLimits::default()
        };
        assert!(matches!(read_car(&bytes, tight), Err(CarError::Limit(_))));
        // a header claiming a huge length allocates nothing and fails
        assert!(read_car(&[0xff, 0xff, 0xff, 0xff, 0x0f], CarLimits::default()).is_err());
    }
}
