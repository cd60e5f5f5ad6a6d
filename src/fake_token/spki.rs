//! The public half of a signing key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), the form Vault's
//! `jwt_validation_pubkeys` takes.
//!
//! Built from the JWK's components with a few lines of DER, rather than another crypto crate: the two key
//! shapes we sign with (RSA, P-256) each have one fixed SPKI layout.

use anyhow::{Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

/// `SEQUENCE { OID rsaEncryption, NULL }`.
const RSA_ALGORITHM: &[u8] =
    &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
/// `SEQUENCE { OID id-ecPublicKey, OID prime256v1 }`.
const P256_ALGORITHM: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07,
];

/// `-----BEGIN PUBLIC KEY-----` … for the key `jwk` describes.
pub fn public_key_pem(jwk: &Jwk) -> Result<String> {
    let key = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = integer(&URL_SAFE_NO_PAD.decode(&rsa.n)?);
            let exponent = integer(&URL_SAFE_NO_PAD.decode(&rsa.e)?);
            spki(RSA_ALGORITHM, &tlv(0x30, &[modulus, exponent].concat()))
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            let point = [&[0x04][..], &URL_SAFE_NO_PAD.decode(&ec.x)?, &URL_SAFE_NO_PAD.decode(&ec.y)?].concat();
            spki(P256_ALGORITHM, &point)
        }
        _ => bail!("only RSA and P-256 keys can be exported as PEM"),
    };
    let body = STANDARD.encode(key);
    let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    Ok(format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
}

/// `SEQUENCE { algorithm, BIT STRING { key } }`.
fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let bits = tlv(0x03, &[&[0x00][..], key].concat());
    tlv(0x30, &[algorithm, &bits].concat())
}

/// A DER INTEGER of an unsigned big-endian number: no leading zeros, but a zero before a high bit.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed = match bytes.iter().position(|&b| b != 0) {
        Some(start) => &bytes[start..],
        None => &[0][..],
    };
    let mut value = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        value.push(0);
    }
    value.extend_from_slice(trimmed);
    tlv(0x02, &value)
}

/// Tag, DER length, value.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let len = value.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_and_integers() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(&[0, 0, 1, 0, 1]), [0x02, 3, 1, 0, 1]);
        assert_eq!(integer(&[0x80]), [0x02, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0]), [0x02, 1, 0]);
    }
}
