//! AWS Signature Version 4 for the one request we send (Polly `SynthesizeSpeech`).
//!
//! Hand-written over `hmac` + `sha2` (already dependencies) instead of `aws-sigv4`, which pulls
//! in the smithy runtime crates. We sign a fixed-shape request: no query string, a path without
//! characters that need encoding, a few headers; the general canonicalisation rules for
//! arbitrary URIs and queries are deliberately not implemented. Checked against AWS's published
//! example in the tests.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Credentials and scope for signing.
#[derive(Debug, Clone)]
pub struct SigningParams<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, also sent as `x-amz-date`.
    pub amz_date: &'a str,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail; the fallback is unreachable.
    match HmacSha256::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The canonical request. `headers` are (lowercase name, trimmed value) and must include
/// `host` and `x-amz-date`; they are sorted here.
pub fn canonical_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> (String, String) {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    hs.sort();
    let canonical_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = hs
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let req = format!("{method}\n{path}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    (req, signed_headers)
}

pub fn string_to_sign(p: &SigningParams<'_>, canonical_request: &str) -> String {
    let date = p.amz_date.get(..8).unwrap_or(p.amz_date);
    format!(
        "AWS4-HMAC-SHA256\n{}\n{date}/{}/{}/aws4_request\n{}",
        p.amz_date,
        p.region,
        p.service,
        sha256_hex(canonical_request.as_bytes())
    )
}

pub fn signature(p: &SigningParams<'_>, string_to_sign: &str) -> String {
    let date = p.amz_date.get(..8).unwrap_or(p.amz_date);
    let k_date = hmac(
        format!("AWS4{}", p.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, p.region.as_bytes());
    let k_service = hmac(&k_region, p.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// The `Authorization` header value for a request.
pub fn authorization(
    p: &SigningParams<'_>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> String {
    let (creq, signed_headers) = canonical_request(method, path, headers, &sha256_hex(payload));
    let sts = string_to_sign(p, &creq);
    let date = p.amz_date.get(..8).unwrap_or(p.amz_date);
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{date}/{}/{}/aws4_request, SignedHeaders={signed_headers}, Signature={}",
        p.access_key_id,
        p.region,
        p.service,
        signature(p, &sts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example "GET Object" from "Authenticating Requests: Using the
    /// Authorization Header (AWS Signature Version 4)" in the S3 API reference
    /// (sig-v4-header-based-auth.html): every intermediate value is published.
    #[test]
    fn matches_aws_published_example() {
        let empty = sha256_hex(b"");
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let p = SigningParams {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
            amz_date: "20130524T000000Z",
        };
        let headers = [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", empty.as_str()),
            ("x-amz-date", "20130524T000000Z"),
        ];
        let (creq, signed) = canonical_request("GET", "/test.txt", &headers, &empty);
        assert_eq!(signed, "host;range;x-amz-content-sha256;x-amz-date");
        let sts = string_to_sign(&p, &creq);
        assert_eq!(
            sts,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
             7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
        );
        assert_eq!(
            signature(&p, &sts),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        let auth = authorization(&p, "GET", "/test.txt", &headers, b"");
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }
}
