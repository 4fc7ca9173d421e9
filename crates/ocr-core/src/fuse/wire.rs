//! The protobuf wire format, just enough to edit an ONNX model without losing anything: a
//! message is read as its fields in order, each kept as the bytes it was written with, so
//! fields this crate does not know are written back unchanged.

use super::FuseError;

/// One field's value as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A field number and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field<'a> {
    pub num: u32,
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn varint(&self) -> Option<u64> {
        match self.value {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    /// A string field; `None` where it is not valid UTF-8.
    pub fn string(&self) -> Option<&'a str> {
        self.bytes().and_then(|b| std::str::from_utf8(b).ok())
    }
}

fn truncated() -> FuseError {
    FuseError::Malformed("truncated protobuf message".into())
}

/// Reads a base-128 varint at `*pos`.
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, FuseError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(truncated)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(FuseError::Malformed("varint longer than ten bytes".into()))
}

/// Splits a message into its fields, in the order they were written.
pub fn parse(buf: &[u8]) -> Result<Vec<Field<'_>>, FuseError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let num = u32::try_from(key >> 3)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| FuseError::Malformed(format!("bad field key {key}")))?;
        let take = |pos: &mut usize, n: usize| -> Result<&[u8], FuseError> {
            let end = pos.checked_add(n).filter(|&e| e <= buf.len());
            let end = end.ok_or_else(truncated)?;
            let s = &buf[*pos..end];
            *pos = end;
            Ok(s)
        };
        let value = match key & 7 {
            0 => Value::Varint(read_varint(buf, &mut pos)?),
            1 => {
                let b = take(&mut pos, 8)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().map_err(|_| truncated())?))
            }
            2 => {
                let n = usize::try_from(read_varint(buf, &mut pos)?).map_err(|_| truncated())?;
                Value::Bytes(take(&mut pos, n)?)
            }
            5 => {
                let b = take(&mut pos, 4)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().map_err(|_| truncated())?))
            }
            w => {
                return Err(FuseError::Malformed(format!(
                    "wire type {w} (field {num}) is not used by ONNX"
                )));
            }
        };
        out.push(Field { num, value });
    }
    Ok(out)
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, num: u32, wire: u64) {
    put_varint(out, (u64::from(num) << 3) | wire);
}

/// Writes one field as it was read.
pub fn put_field(out: &mut Vec<u8>, f: &Field<'_>) {
    match f.value {
        Value::Varint(v) => {
            put_key(out, f.num, 0);
            put_varint(out, v);
        }
        Value::Fixed64(v) => {
            put_key(out, f.num, 1);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Value::Bytes(b) => put_bytes(out, f.num, b),
        Value::Fixed32(v) => {
            put_key(out, f.num, 5);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

pub fn put_bytes(out: &mut Vec<u8>, num: u32, b: &[u8]) {
    put_key(out, num, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

pub fn put_str(out: &mut Vec<u8>, num: u32, s: &str) {
    put_bytes(out, num, s.as_bytes());
}

pub fn put_uint(out: &mut Vec<u8>, num: u32, v: u64) {
    put_key(out, num, 0);
    put_varint(out, v);
}

pub fn put_f32(out: &mut Vec<u8>, num: u32, v: f32) {
    put_key(out, num, 5);
    out.extend_from_slice(&v.to_le_bytes());
}

/// The values of a repeated varint field, packed or not (parsers must accept both).
pub fn varints(fields: &[Field<'_>], num: u32) -> Result<Vec<u64>, FuseError> {
    let mut out = Vec::new();
    for f in fields.iter().filter(|f| f.num == num) {
        match f.value {
            Value::Varint(v) => out.push(v),
            Value::Bytes(b) => {
                let mut pos = 0;
                while pos < b.len() {
                    out.push(read_varint(b, &mut pos)?);
                }
            }
            _ => return Err(FuseError::Malformed(format!("field {num} is not a varint"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_byte_for_byte() {
        let mut msg = Vec::new();
        put_uint(&mut msg, 1, 300);
        put_str(&mut msg, 2, "conv");
        put_f32(&mut msg, 3, 0.5);
        put_field(
            &mut msg,
            &Field {
                num: 4,
                value: Value::Fixed64(7),
            },
        );
        put_uint(&mut msg, 20_000, u64::MAX);
        let fields = parse(&msg).expect("parse");
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[0].varint(), Some(300));
        assert_eq!(fields[1].string(), Some("conv"));
        assert_eq!(fields[2].value, Value::Fixed32(0.5f32.to_bits()));
        assert_eq!(fields[4].num, 20_000);
        assert_eq!(fields[4].varint(), Some(u64::MAX));
        let mut again = Vec::new();
        for f in &fields {
            put_field(&mut again, f);
        }
        assert_eq!(again, msg);
    }

    #[test]
    fn packed_and_unpacked_varints_read_alike() {
        let mut unpacked = Vec::new();
        for v in [1u64, 2, 300] {
            put_uint(&mut unpacked, 8, v);
        }
        let mut body = Vec::new();
        for v in [1u64, 2, 300] {
            put_varint(&mut body, v);
        }
        let mut packed = Vec::new();
        put_bytes(&mut packed, 8, &body);
        for msg in [unpacked, packed] {
            let fields = parse(&msg).expect("parse");
            assert_eq!(varints(&fields, 8).expect("varints"), vec![1, 2, 300]);
        }
    }

    #[test]
    fn bad_messages_are_errors_not_panics() {
        // A length running past the end, a truncated varint, a group wire type, field 0.
        for bad in [
            &[0x0a, 0x05, 0x01][..],
            &[0x08, 0x80],
            &[0x0b],
            &[0x00, 0x01],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
